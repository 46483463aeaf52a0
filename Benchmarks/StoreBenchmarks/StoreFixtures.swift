import BenchFixtures
import CommHubDomain
import CommHubEngine
import CommHubStore
import Foundation
import Logging

/// A quiet logger: the store logs opens and commits at info.
let quietLogger: Logger = {
    var l = Logger(label: "commhub.bench")
    l.logLevel = .error
    return l
}()

/// A fresh directory under /tmp for one LMDB environment.
func scratchDirectory(_ label: String) -> String {
    let path = NSTemporaryDirectory() + "commhub-bench-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func removeDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// The bytes the journal writes for `inboundMessageEvent` (record JSON without
/// the body, plus the body JSON), so the raw-LMDB baseline puts as much.
func journalRecordSize() -> Int {
    let codec = EventCodec()
    guard case .messageAdded(let h, let b?, let due) = inboundMessageEvent(0) else { return 600 }
    let record = (try? codec.encode(.messageAdded(header: h, body: nil, responseDueAt: due)))?.count ?? 500
    let body = (try? JSONEncoder().encode(b))?.count ?? 150
    return record + body + 16
}

/// Latency percentiles (nanoseconds) of a list of samples.
func percentile(_ sorted: [Int], _ p: Double) -> Int {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

func nanos(_ d: Duration) -> Int {
    let c = d.components
    return Int(c.seconds) * 1_000_000_000 + Int(c.attoseconds / 1_000_000_000)
}
