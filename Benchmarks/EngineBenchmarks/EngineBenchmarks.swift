import Benchmark
import BenchFixtures
import CommHubDomain
import CommHubEngine
import Foundation

// Engine benchmarks: pure board/read-model/matcher functions at the sizes of
// the targets in issues #2 and #5, and the same operations through the
// supervisor actor. Every fixture is built in `setup` (outside measurement);
// operations that mutate are undone after `stopMeasurement()` so each
// iteration measures the same situation.

let drain = Holder<DrainFixture>()
let evenOut = Holder<EvenOutFixture>()
let inbox = Holder<(InboxIndex, [ContactID])>()
let matching = Holder<MatchFixture>()
let choice = Holder<DrainFixture>()
let engineFixture = Holder<EngineFixture>()
let drainSource = Holder<(EngineFixture, ContactID)>()
let counter = Holder<Int>()
let busFixture = Holder<BusFixture>()

let threadsMoved = BenchmarkMetric.custom("threads_moved", polarity: .prefersLarger, useScalingFactor: false)
let engineInternal = BenchmarkMetric.custom("engine_internal_us", useScalingFactor: false)
let rssPerThread = BenchmarkMetric.custom("rss_per_thread_bytes", useScalingFactor: false)
let rssDelta = BenchmarkMetric.custom("rss_delta_mib", useScalingFactor: false)
let standardMetrics: [BenchmarkMetric] = [.wallClock, .instructions, .mallocCountTotal, .throughput]

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: standardMetrics,
        timeUnits: .microseconds,
        warmupIterations: 3,
        maxDuration: .seconds(3),
        maxIterations: 10_000
    )

    // MARK: Rebalance

    // Drain a 500-thread agent: planDrain + apply of the resulting
    // .threadsRebalanced event, on a board of one team (the agent + 20
    // colleagues with room). Target (issue #2): < 100 µs.
    Benchmark("Rebalance.drain500.board", closure: { benchmark in
        benchmark.startMeasurement()
        let moves = drain.value!.board.planDrain(agent: drain.value!.source, queueLeftovers: false)
        drain.value!.board.apply(.threadsRebalanced(moves: moves, reason: "rebalance agent"))
        benchmark.stopMeasurement()
        precondition(moves.count == 500, "drained \(moves.count)")
        drain.value!.board.apply(inverse(moves))
    }, setup: {
        drain.value = makeDrainBoard()
    })

    // Even out a 10k-agent team holding 1M open threads (9,000 people with
    // 111 threads, 1,000 who just came online with 1): planEvenOut + apply;
    // about 99k threads move. Target (issue #2): < 100 ms.
    Benchmark("Rebalance.evenOut10kAgents1MThreads.board",
              configuration: .init(metrics: standardMetrics + [threadsMoved], warmupIterations: 1,
                                   maxDuration: .seconds(20), maxIterations: 15),
              closure: { benchmark in
        benchmark.startMeasurement()
        let moves = evenOut.value!.board.planEvenOut(team: evenOut.value!.team)
        evenOut.value!.board.apply(.threadsRebalanced(moves: moves, reason: "rebalance team"))
        benchmark.stopMeasurement()
        benchmark.measurement(threadsMoved, moves.count)
        evenOut.value!.board.apply(inverse(moves))
    }, setup: {
        evenOut.value = makeEvenOutBoard()
    })

    // The same 500-thread drain through the supervisor actor of an in-memory
    // engine: one await from a task, planning, journaling (in-memory journal,
    // whose commit hook updates the inbox read model and the event bus) and
    // notifying the 21 agent actors. Threads are handed back between
    // iterations (outside measurement).
    Benchmark("Rebalance.drain500.supervisor",
              configuration: .init(metrics: standardMetrics + [engineInternal], maxDuration: .seconds(5), maxIterations: 300),
              closure: { benchmark in
        let (f, source) = drainSource.get
        benchmark.startMeasurement()
        let report = try await f.engine.supervisor.rebalance(agent: source)
        benchmark.stopMeasurement()
        precondition(report.moves.count == 500, "drained \(report.moves.count)")
        benchmark.measurement(engineInternal, Int(report.nanoseconds / 1000))
        for m in report.moves {
            _ = try await f.engine.supervisor.updateThread(m.thread, change: ThreadChange(), assignTo: .some(source), team: nil)
        }
    }, setup: {
        drainSource.value = try await makeDrainEngine()
    })

    // MARK: Inbox

    // Pages of the inbox read model at 1M threads (82% open). Target
    // (issue #2): a filtered page < 1 ms.
    func inboxBenchmark(_ name: String, _ body: @escaping @Sendable (InboxIndex, [ContactID]) -> InboxPage) {
        Benchmark("Inbox.\(name)", configuration: .init(maxIterations: 2_000), closure: { benchmark in
            let (index, people) = inbox.get
            benchmark.startMeasurement()
            let page = body(index, people)
            benchmark.stopMeasurement()
            blackHole(page)
        }, setup: {
            inbox.value = makeInbox()
            let (index, people) = inbox.get
            let page = body(index, people)
            FileHandle.standardError.write(Data("Inbox.\(name): \(page.threadIDs.count) rows, next cursor \(page.nextCursor != nil)\n".utf8))
        })
    }

    // status open + priority high + channel WhatsApp, 50 per page.
    inboxBenchmark("1M.filteredPage") { index, _ in index.page(highWhatsApp(), limit: 50, cursor: nil) }
    // Page 2 of the same filter, via the cursor of page 1 (cursor taken in the body; page 1 costs as above).
    inboxBenchmark("1M.filteredPage2ViaCursor") { index, _ in
        let first = index.page(highWhatsApp(), limit: 50, cursor: nil)
        return index.page(highWhatsApp(), limit: 50, cursor: first.nextCursor)
    }
    // One person's open threads (about 400 of them), 50 per page.
    inboxBenchmark("1M.assigneePage") { index, people in
        var f = InboxFilter()
        f.assignee = people[17]
        return index.page(f, limit: 50, cursor: nil)
    }
    // Open threads whose response is overdue now, most urgent first.
    inboxBenchmark("1M.overduePage") { index, _ in
        var f = InboxFilter()
        f.overdueAt = benchEpoch
        return index.page(f, limit: 50, cursor: nil)
    }
    // Overdue, low priority, by SMS: the rows it wants sit at the end of the urgency order.
    inboxBenchmark("1M.overdueLowSmsPage") { index, _ in
        var f = InboxFilter()
        f.overdueAt = benchEpoch
        f.priorities = [.low]
        f.channelTypes = [.sms]
        return index.page(f, limit: 50, cursor: nil)
    }
    // Free-text search in open subjects (no text index: a scan).
    inboxBenchmark("1M.textSearchPage") { index, _ in
        var f = InboxFilter()
        f.text = "foutcode"
        return index.page(f, limit: 50, cursor: nil)
    }

    // MARK: Thread matching

    // ThreadMatcher.match against a MatchIndex of 100k customers, 100k orders
    // and 100k threads with WhatsApp references, one benchmark per rule.
    for rule in [MatchRule.externalReference, .orderNumber, .customerOpenThread, .reopened, .newThread] {
        Benchmark("Match.100k.\(rule.rawValue)",
                  configuration: .init(scalingFactor: .kilo, maxDuration: .seconds(2)),
                  closure: { benchmark in
            let f = matching.get
            let m = f.message(for: rule)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(f.matcher.match(m, brand: .chargecars, in: f.index))
            }
            benchmark.stopMeasurement()
        }, setup: {
            matching.value = makeMatchIndex()
            let f = matching.get
            let result = f.matcher.match(f.message(for: rule), brand: .chargecars, in: f.index)
            precondition(result.rule == rule, "expected \(rule), matched \(result.rule)")
        })
    }

    // MARK: Assignment

    // AssignmentBoard.choose in a 50-member team (loads 0–24 of 25, 80% online,
    // half with skill "ev"), without and with a required skill.
    for (label, needs) in [("any", AssignmentBoard.Needs()), ("skill", AssignmentBoard.Needs(skills: ["ev"]))] {
        Benchmark("Assign.choose50.\(label)", configuration: .init(scalingFactor: .kilo, maxDuration: .seconds(2)),
                  closure: { benchmark in
            let f = choice.get
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(f.board.choose(team: f.team, needs: needs))
            }
            benchmark.stopMeasurement()
        }, setup: {
            choice.value = makeChoiceBoard()
            let f = choice.get
            precondition(f.board.choose(team: f.team, needs: needs) != nil, "nobody free")
        })
    }

    // MARK: Ingest

    // Supervisor.ingest of an inbound WhatsApp message on an in-memory engine
    // (match, routing, SLA deadline, thread actor, in-memory journal, read
    // model, bus), awaited from a task. New threads: each message comes from a
    // new customer number. Replies: messages on 1,000 existing chats, in turn.
    Benchmark("Ingest.newThread.supervisor", configuration: .init(maxDuration: .seconds(3), maxIterations: 20_000),
              closure: { benchmark in
        let f = engineFixture.get
        let n = counter.get
        counter.value = n + 1
        let m = f.whatsapp(from: n, message: 0)
        benchmark.startMeasurement()
        let r = try await f.engine.supervisor.ingest(m)
        benchmark.stopMeasurement()
        blackHole(r)
    }, setup: {
        engineFixture.value = try await makeEngine()
        counter.value = 0
    })

    Benchmark("Ingest.reply.supervisor", configuration: .init(maxDuration: .seconds(3), maxIterations: 20_000),
              closure: { benchmark in
        let f = engineFixture.get
        let n = counter.get
        counter.value = n + 1
        let m = f.whatsapp(from: n % 1_000, message: 1 + n)
        benchmark.startMeasurement()
        let r = try await f.engine.supervisor.ingest(m)
        benchmark.stopMeasurement()
        precondition(r.rule == .externalReference)
    }, setup: {
        let f = try await makeEngine()
        for n in 0..<1_000 { _ = try await f.engine.supervisor.ingest(f.whatsapp(from: n, message: 0)) }
        engineFixture.value = f
        counter.value = 0
    })

    // MARK: Templates

    // TemplateRenderer.render (swift-mustache, parse included) of a
    // realistic Dutch reply mail (about 900 characters, 9 placeholders, two
    // with fallbacks, one variable missing: the rendering is refused).
    Benchmark("Template.render.mail", configuration: .init(scalingFactor: .kilo, maxDuration: .seconds(2)),
              closure: { benchmark in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(TemplateRenderer.render(replyTemplate, variables: replyVariables))
        }
        benchmark.stopMeasurement()
    }, setup: {
        let r = TemplateRenderer.render(replyTemplate, variables: replyVariables)
        precondition(r.missing == ["monteur_telefoon"] && r.text.isEmpty, "template fixture renders wrongly")
    })

    // The same mail with every variable given: the text that is sent.
    Benchmark("Template.render.mail.complete", configuration: .init(scalingFactor: .kilo, maxDuration: .seconds(2)),
              closure: { benchmark in
        var all = replyVariables
        all["monteur_telefoon"] = "06 1234 5678"
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(TemplateRenderer.render(replyTemplate, variables: all))
        }
        benchmark.stopMeasurement()
    }, setup: {
        var all = replyVariables
        all["monteur_telefoon"] = "06 1234 5678"
        let r = TemplateRenderer.render(replyTemplate, variables: all)
        precondition(r.missing.isEmpty && r.text.contains("Jansen") && r.text.contains("06 1234 5678"), "template fixture renders wrongly")
    })

    // MARK: Event bus

    // One committed event fanned out by the EventBus to 1,000 subscribers,
    // each a task waiting in `for await`; measured until every subscriber has
    // it. The in-process part of the WebSocket fan-out (ServerBenchmarks has
    // the whole path over real sockets).
    Benchmark("EventBus.fanout1000", configuration: .init(maxDuration: .seconds(3), maxIterations: 5_000),
              closure: { benchmark in
        let f = busFixture.get
        let n = counter.get + 1
        counter.value = n
        benchmark.startMeasurement()
        f.bus.publish([SequencedEvent(seq: UInt64(n), event: .presenceChanged(contact: f.who, presence: .online))])
        await f.arrivals.wait(for: UInt64(n))
        benchmark.stopMeasurement()
    }, setup: {
        busFixture.value = await BusFixture.make(subscribers: 1_000)
        counter.value = 0
    }, teardown: {
        busFixture.value?.stop()
        busFixture.value = nil
    })

    // MARK: Memory

    // Engine memory per open thread at 1M threads (`measureEngineMemory`).
    // Target (issue #2): ≤ 1 KiB per open thread.
    Benchmark("Memory.engine1MOpenThreads",
              configuration: .init(metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident, rssPerThread, rssDelta],
                                   timeUnits: .milliseconds, warmupIterations: 0, maxDuration: .seconds(600),
                                   maxIterations: 1),
              closure: { benchmark in
        let threads = Int(ProcessInfo.processInfo.environment["COMMHUB_BENCH_MEMORY_THREADS"] ?? "") ?? 1_000_000
        let r = try await measureEngineMemory(threads: threads)
        benchmark.measurement(rssPerThread, r.bytesPerThread)
        benchmark.measurement(rssDelta, (r.residentAfter - r.residentBefore) >> 20)
        FileHandle.standardError.write(Data("""
            Memory.engine1MOpenThreads: \(r.threads) threads, RSS \(r.residentBefore >> 20) MiB -> \(r.residentAfter >> 20) MiB, \
            \(r.bytesPerThread) bytes per open thread (inbox rows \(r.inboxRows))\n
            """.utf8))
    })
}


let replyTemplate = """
    Beste {{klant_naam|klant}},

    Dank voor uw bericht over bestelling {{order_nummer}}. Wij hebben de installatie van uw \
    {{product}} ingepland op {{datum}} tussen {{tijdvak}}. Onze monteur {{monteur}} belt u een half uur \
    van tevoren; u kunt hem bereiken op {{monteur_telefoon}}.

    Zorg er alstublieft voor dat de meterkast vrij toegankelijk is en dat er een parkeerplaats \
    beschikbaar is. Heeft u vragen over de voorbereiding? Bekijk dan onze checklist op \
    {{checklist_url|https://www.chargecars.nl/checklist}} of antwoord op dit bericht.

    Met vriendelijke groet,
    {{agent_naam}}
    Klantenservice {{merk}}
    """
let replyVariables = ["klant_naam": "mevrouw Jansen", "order_nummer": "CC-2026-300123", "product": "Zaptec Go 22 kW",
                      "datum": "donderdag 3 december", "tijdvak": "08:00 en 12:00", "monteur": "Pieter",
                      "agent_naam": "Sanne de Vries", "merk": "ChargeCars"]
