// Timer cost at 1M open threads: the engine's TimerQueue (a binary heap with
// lazy deletion), as the supervisor uses it. Each figure is the median of
// several runs; see timer-cost.sh and ../README.md.
import Foundation

func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

func rssBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
          let pages = Int(text.split(separator: " ")[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

let n = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 1_000_000
let runs = 5
let now = Date(timeIntervalSince1970: 1_800_000_000)
let keys = (0..<n).map { _ in TimerKey.sla(ThreadID()) }
// Moments spread over the next 8 hours, as a working day's deadlines are.
var rng = SystemRandomNumberGenerator()
let moments = (0..<n).map { _ in now.addingTimeInterval(Double.random(in: 1...28_800, using: &rng)) }
let items = Array(zip(keys, moments))

var loads: [Double] = [], idles: [Double] = [], moves: [Double] = [], pops: [Double] = []
var bytesPerTimer = 0
for run in 0..<runs {
    var q = TimerQueue()
    let before = rssBytes()
    loads.append(seconds { q.load(items) })
    if run == 0 { bytesPerTimer = (rssBytes() - before) / n }

    // A tick with nothing due: what the engine pays every second.
    let ticks = 1_000_000
    var found = 0
    idles.append(seconds { for _ in 0..<ticks { found += q.popDue(at: now, limit: 2_000).count } } / Double(ticks))
    precondition(found == 0)

    // A customer message or an answer moves one thread's timer (100k of them, amortised compaction included).
    let m = 100_000
    moves.append(seconds {
        for i in 0..<m { q.schedule(keys[(i &* 7919) % n], at: moments[i % n].addingTimeInterval(60)) }
    } / Double(m))

    // A restore after a long stop: every timer due at once, taken 2,000 a turn as runTimers does.
    var popped = 0
    pops.append(seconds {
        while true {
            let due = q.popDue(at: now.addingTimeInterval(86_400), limit: 2_000)
            if due.isEmpty { break }
            popped += due.count
        }
    } / Double(n))
    precondition(popped == n, "every timer once: \(popped)")
}
print("timers: \(n), runs: \(runs) (medians)")
print(String(format: "load (restore rebuild, O(n) heapify): %.1f ms", median(loads) * 1e3))
print(String(format: "idle tick (nothing due):              %.0f ns", median(idles) * 1e9))
print(String(format: "reschedule one timer:                 %.0f ns", median(moves) * 1e9))
print(String(format: "pop a due timer (turns of 2,000):     %.0f ns", median(pops) * 1e9))
print("memory per timer (RSS growth of the first load): \(bytesPerTimer) bytes")
