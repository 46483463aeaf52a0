import BenchFixtures
import CommHubDomain
import CommHubEngine
import CommHubStore
import Crypto
import Foundation
import Logging

// Runs one benchmark operation in a loop without the benchmark harness, for
// `valgrind --tool=callgrind` (instruction counts: this VM exposes no
// hardware counters) and perf. Usage: BenchProfile SCENARIO [ITERATIONS]
//   drain500 | drain500Supervisor | evenOut | inboxFiltered | inboxText | ingestNew | ingestReply | matchOrder | memory
//   resolvedMemory THREADS MESSAGES KEEP [answers] [open] (see there)
let args = CommandLine.arguments
let scenario = args.count > 1 ? args[1] : "drain500"
let iterations = args.count > 2 ? Int(args[2]) ?? 10 : 10

func time(_ label: String, _ body: () throws -> Void) rethrows {
    let start = ContinuousClock.now
    try body()
    print(label, ContinuousClock.now - start)
}

switch scenario {
case "drain500":
    var f = makeDrainBoard()
    time("drain500 x\(iterations)") {
        for _ in 0..<iterations {
            let moves = f.board.planDrain(agent: f.source, queueLeftovers: false)
            f.board.apply(.threadsRebalanced(moves: moves, reason: "rebalance agent"))
            f.board.apply(inverse(moves))
        }
    }
case "evenOut":
    var f = makeEvenOutBoard()
    time("evenOut x\(iterations)") {
        for _ in 0..<iterations {
            let moves = f.board.planEvenOut(team: f.team)
            f.board.apply(.threadsRebalanced(moves: moves, reason: "rebalance team"))
            f.board.apply(inverse(moves))
        }
    }
case "inboxText":
    let (index, _) = makeInbox()
    var f = InboxFilter()
    f.text = "foutcode"
    time("inboxText x\(iterations)") {
        for _ in 0..<iterations { _ = index.page(f, limit: 50, cursor: nil) }
    }
case "drain500Supervisor":
    // Rebalance.drain500.supervisor outside the harness: drain, then hand the threads back.
    // Prints the total and the p50 / p99 of single drains (as the benchmark harness reports them).
    let (f, source) = try await makeDrainEngine()
    var total = Duration.zero
    var each: [Duration] = []
    // The engine's own part (plan, journal, apply, notify: `RebalanceReport.nanoseconds`),
    // without the caller's hop onto the supervisor's executor and back.
    var inside: [Duration] = []
    for _ in 0..<iterations {
        let start = ContinuousClock.now
        let report = try await f.engine.supervisor.rebalance(agent: source)
        let took = ContinuousClock.now - start
        total += took
        each.append(took)
        inside.append(.nanoseconds(report.nanoseconds))
        precondition(report.moves.count == 500, "drained \(report.moves.count)")
        for m in report.moves {
            _ = try await f.engine.supervisor.updateThread(m.thread, change: ThreadChange(), assignTo: .some(source), team: nil)
        }
    }
    each.sort()
    func micros(_ d: Duration) -> String { String(format: "%.1f", Double(d.components.attoseconds) / 1e12 + Double(d.components.seconds) * 1e6) }
    inside.sort()
    print("drain500Supervisor x\(iterations)", total, "(drains only), p50 \(micros(each[each.count / 2])) µs, p99 \(micros(each[each.count * 99 / 100])) µs;",
          "engine part p50 \(micros(inside[inside.count / 2])) µs, p99 \(micros(inside[inside.count * 99 / 100])) µs")
case "inboxFiltered":
    let (index, _) = makeInbox()
    time("inboxFiltered x\(iterations)") {
        for _ in 0..<iterations { _ = index.page(highWhatsApp(), limit: 50, cursor: nil) }
    }
case "matchOrder":
    let f = makeMatchIndex()
    let m = f.message(for: .orderNumber)
    time("matchOrder x\(iterations)") {
        for _ in 0..<iterations { _ = f.matcher.match(m, brand: .chargecars, in: f.index) }
    }
case "ingestNew", "ingestReply":
    let f = try await makeEngine()
    if scenario == "ingestReply" {
        for n in 0..<1_000 { _ = try await f.engine.supervisor.ingest(f.whatsapp(from: n, message: 0)) }
    }
    let start = ContinuousClock.now
    for i in 0..<iterations {
        let m = scenario == "ingestNew" ? f.whatsapp(from: 10_000 + i, message: 0) : f.whatsapp(from: i % 1_000, message: 1 + i)
        _ = try await f.engine.supervisor.ingest(m)
    }
    print(scenario, "x\(iterations)", ContinuousClock.now - start)
case "writeJournal":
    // BenchProfile writeJournal DIR THREADS EVENTS: the StoreBenchmarks restore fixture, kept on disk.
    try await writeSyntheticJournal(directory: args[2], threads: Int(args[3])!, events: Int(args[4])!)
case "restore":
    // BenchProfile restore DIR: DurableEngine start-up (tail check, snapshot, replay) on that directory.
    let start = ContinuousClock.now
    let d = try DurableEngine(directory: args[2], clock: SimulatedClock(start: benchEpoch), logger: Logger(label: "profile"))
    let r = d.restoreReport
    print("restore: \(r.threads) threads, \(r.replayedEvents) events replayed in", ContinuousClock.now - start)
    await d.shutdown(snapshot: false)
case "snapshot":
    // BenchProfile snapshot DIR: restore, then write a snapshot (so the next `restore` starts from it).
    let d = try DurableEngine(directory: args[2], clock: SimulatedClock(start: benchEpoch), logger: Logger(label: "profile"))
    let start = ContinuousClock.now
    try await d.snapshot()
    print("snapshot written in", ContinuousClock.now - start)
    await d.shutdown(snapshot: false)
case "layout":
    // Sizes of the per-thread values (what Memory.engine1MOpenThreads adds up).
    print("ThreadHeader", MemoryLayout<ThreadHeader>.size, "ThreadState", MemoryLayout<ThreadState>.size,
          "AgentSlot", MemoryLayout<AssignmentBoard.AgentSlot>.size,
          "AnalyticsBook.ThreadFacts", MemoryLayout<AnalyticsBook.ThreadFacts>.stride)
case "resolvedMemory":
    // BenchProfile resolvedMemory THREADS MESSAGES KEEP [answers] [open]: anonymous memory of a store-backed
    // engine holding THREADS resolved WhatsApp threads of MESSAGES customer messages each (with
    // `answers`, every other one an answer), with `recentMessagesPerResolvedThread` = KEEP (0, the
    // default: each channel's last incoming message only; a large KEEP: the open threads' window).
    let perThread = args.count > 3 ? Int(args[3]) ?? 20 : 20
    let keepResolved = args.count > 4 ? Int(args[4]) ?? 0 : 0
    // "answers": every other message an answer, left in the outbox (no gateway claims it);
    // otherwise every message is the customer's.
    let withAnswers = args.count > 5 && args[5...].contains("answers")
    // "open": the threads are left open (the per-thread cost of live work).
    let leaveOpen = args.count > 5 && args[5...].contains("open")
    let dir = NSTemporaryDirectory() + "commhub-resolved-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var configuration = EngineConfiguration()
    configuration.recentMessagesPerResolvedThread = keepResolved
    var options = JournalOptions(syncMode: .noSync)
    options.masterKeys = MasterKeys(current: SymmetricKey(size: .bits256), source: .environment)
    var quiet = Logger(label: "profile")
    quiet.logLevel = .error
    let d = try DurableEngine(directory: dir, clock: SimulatedClock(start: benchEpoch), configuration: configuration,
                              options: options, logger: quiet)
    let sup = d.engine.supervisor
    var channel = Channel(channelType: .whatsappBusiness, channelName: "wa", businessEntity: .chargecars)
    channel.isActive = true
    _ = try await sup.upsertChannel(channel)
    func rssAnon() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }
    trimHeap()
    let before = rssAnon()
    var last: UInt64 = 0
    for t in 0..<iterations {
        let wa = String(format: "3161%07d", t)
        var thread: ThreadID?
        for i in 0..<perThread {
            let at = benchEpoch.addingTimeInterval(Double(t * perThread + i))
            if !withAnswers || i % 2 == 0 || thread == nil {
                let r = try await sup.ingest(InboundMessage(channelID: channel.id, externalMessageID: "wamid.\(t).\(i)",
                                                            threadReference: ExternalReference(.whatsappChat, "1055:+\(wa)"),
                                                            senderExternal: ExternalParty(name: "Klant \(t)", waID: wa),
                                                            messageContent: "Hoe staat het met mijn laadpaal? \(i)", receivedAt: at))
                thread = r.threadID
                last = r.seq
            } else {
                let h = MessageHeader(id: MessageID(), threadID: thread!, channelID: channel.id, channelType: .whatsappBusiness,
                                      messageType: .outgoing, deliveryStatus: .pending, createdAt: at)
                last = try await sup.addMessage(h, body: MessageBody(messageContent: "We plannen de installatie in. \(i)")).last!.seq
            }
        }
        try await d.engine.durable(last)
        if !leaveOpen {
            last = try await sup.updateThread(thread!, change: ThreadChange(status: .resolved), assignTo: nil, team: nil).last!.seq
        }
    }
    try await d.engine.durable(last)
    trimHeap()
    let after = rssAnon()
    print("resolvedMemory: \(iterations) \(leaveOpen ? "open" : "resolved") threads x \(perThread) messages\(withAnswers ? " (half answers)" : ""), keep \(keepResolved):",
          "\((after - before) / max(1, iterations)) bytes per thread (RssAnon \(before >> 20) -> \(after >> 20) MiB)")
    await d.shutdown(snapshot: false)
case "memory":
    // Same as Memory.engine1MOpenThreads, without the benchmark's malloc interposer.
    let r = try await measureEngineMemory(threads: iterations)
    print("memory: \(r.threads) threads, \(r.bytesPerThread) bytes per open thread, RSS \(r.residentBefore >> 20) -> \(r.residentAfter >> 20) MiB")
default:
    print("unknown scenario \(scenario)")
}
