import Foundation

/// Dense integer handles for threads, shared by the per-thread projections
/// of the engine's state. The assignment board hands them out (a thread's id
/// is hashed once, where it enters the board); the analytics book keeps its
/// facts at the board's handles, so a rebalance finds a moved thread's facts
/// from the planner's hint without hashing its id. Handles start at 0, are
/// dense and are never reused.
public protocol ThreadHandles {
    /// The handle of `thread`, made when it has none yet.
    mutating func threadHandle(creating thread: ThreadID) -> UInt32
    /// The handle of a known thread, or nil; `hint` is taken when it is the
    /// handle of this very thread (a planner's hint, see `ThreadMove.BoardHint`).
    func threadHandle(of thread: ThreadID, hint: UInt32?) -> UInt32?
}

/// Handles of a book used on its own (tests, tools, a book just decoded
/// from a snapshot until the engine gives it the board's handles).
struct LocalThreadHandles: ThreadHandles, Sendable {
    private(set) var handleOf: [ThreadID: UInt32] = [:]
    private(set) var ids: [ThreadID] = []

    var isEmpty: Bool { ids.isEmpty }

    mutating func threadHandle(creating thread: ThreadID) -> UInt32 {
        if let h = handleOf[thread] { return h }
        let h = UInt32(ids.count)
        handleOf[thread] = h
        ids.append(thread)
        return h
    }

    func threadHandle(of thread: ThreadID, hint: UInt32?) -> UInt32? {
        if let hint, Int(hint) < ids.count, ids[Int(hint)] == thread { return hint }
        return handleOf[thread]
    }
}

extension AnalyticsBook {
    /// What the book remembers of a thread while it is open or may reopen.
    ///
    /// Packed (issue 17, memory per open thread): one value was 272 bytes in
    /// a dictionary of twice as many buckets as threads, the largest part of
    /// the engine's memory per thread; now 144. The identifiers (alignment 1)
    /// come first, with what an assignment reads and writes (id, slice, auto
    /// agent) at the front; three moments are stored as bit patterns of
    /// seconds (`Moment`); the two counters are 32-bit, with the six flags in
    /// the replies' top bits; and the fields set only once a thread is
    /// answered or closed (FCR place, last reply and its slice, closing time,
    /// ≈ 110 bytes) are in one shared box that open, unanswered threads do
    /// not have. The properties and the JSON coding are those of the old value,
    /// so the book's logic reads the same and older snapshots decode.
    public struct ThreadFacts: Codable, Sendable, Equatable {
        /// The thread (the key of the snapshot's `threads` table; not coded in the value).
        var id: ThreadID
        var slice: AnalyticsSlice
        var autoAgent: ContactID?
        var customer: CustomerID?
        /// The inbound message that started the current wait (a CSAT answer takes it back).
        var waitingMessage: MessageID?
        private var episodeStartBits: Moment
        private var waitingSinceBits: Moment
        private var dueAtBits: Moment
        /// The six flags in the top bits, the episode's replies below (`replyMask`).
        private var replyWord: UInt32 = 0
        private var episodeMessageCount: Int32 = 0
        private var answered: Answered?

        init(id: ThreadID, slice: AnalyticsSlice, open: Bool = true, customer: CustomerID? = nil, episodeStart: Date) {
            self.id = id
            self.slice = slice
            self.customer = customer
            replyWord = open ? Flag.open : 0
            episodeStartBits = Moment(episodeStart)
            waitingSinceBits = .none; dueAtBits = .none
        }

        // MARK: Flags

        private enum Flag {
            static let open: UInt32 = 1 << 26, autoCounted: UInt32 = 1 << 27, reassignedCounted: UInt32 = 1 << 28
            static let waitFirst: UInt32 = 1 << 29, everReplied: UInt32 = 1 << 30, reopened: UInt32 = 1 << 31
        }
        /// Replies in an episode saturate at 2^26 − 1 (67 million, which no thread reaches).
        private static let replyMask: UInt32 = (1 << 26) - 1

        @inline(__always) private func flag(_ f: UInt32) -> Bool { replyWord & f != 0 }
        @inline(__always) private mutating func set(_ f: UInt32, _ on: Bool) { replyWord = on ? replyWord | f : replyWord & ~f }

        var open: Bool { get { flag(Flag.open) } set { set(Flag.open, newValue) } }
        var autoCounted: Bool { get { flag(Flag.autoCounted) } set { set(Flag.autoCounted, newValue) } }
        var reassignedCounted: Bool { get { flag(Flag.reassignedCounted) } set { set(Flag.reassignedCounted, newValue) } }
        var waitFirst: Bool { get { flag(Flag.waitFirst) } set { set(Flag.waitFirst, newValue) } }
        var everReplied: Bool { get { flag(Flag.everReplied) } set { set(Flag.everReplied, newValue) } }
        var reopened: Bool { get { flag(Flag.reopened) } set { set(Flag.reopened, newValue) } }

        // MARK: Moments and counters

        var episodeStart: Date { get { episodeStartBits.date ?? .distantPast } set { episodeStartBits = Moment(newValue) } }
        var waitingSince: Date? { get { waitingSinceBits.date } set { waitingSinceBits = Moment(newValue) } }
        var dueAt: Date? { get { dueAtBits.date } set { dueAtBits = Moment(newValue) } }
        /// Replies in the current episode.
        var replies: Int {
            get { Int(replyWord & Self.replyMask) }
            set { replyWord = replyWord & ~Self.replyMask | UInt32(clamping: max(0, min(newValue, Int(Self.replyMask)))) }
        }
        var episodeMessages: Int { get { Int(episodeMessageCount) } set { episodeMessageCount = Int32(clamping: newValue) } }

        // MARK: Set once answered or closed

        /// Where this thread's FCR was counted, to take it back on reopening.
        var fcrHour: Int32? { answered?.fcrHour }
        var fcrSlice: AnalyticsSlice? { answered?.fcrSlice }
        /// The newest reply and where it was counted (a template attached to it counts there).
        var lastReply: MessageID? { answered?.lastReply }
        var lastReplyHour: Int32? { answered?.lastReplyHour }
        var lastReplySlice: AnalyticsSlice? { answered?.lastReplySlice }
        var closedAt: Date? {
            get { answered?.closedAt }
            set {
                answered = Answered.make(fcrHour: fcrHour, fcrSlice: fcrSlice, lastReply: lastReply, lastReplyHour: lastReplyHour,
                                         lastReplySlice: lastReplySlice, closedAt: newValue)
            }
        }

        mutating func setFCR(hour: Int32?, slice: AnalyticsSlice?) {
            answered = Answered.make(fcrHour: hour, fcrSlice: slice, lastReply: lastReply, lastReplyHour: lastReplyHour,
                                     lastReplySlice: lastReplySlice, closedAt: closedAt)
        }

        mutating func dropAnswer() { answered = nil }

        mutating func setLastReply(_ id: MessageID?, hour: Int32?, slice: AnalyticsSlice?) {
            answered = Answered.make(fcrHour: fcrHour, fcrSlice: fcrSlice, lastReply: id, lastReplyHour: hour, lastReplySlice: slice,
                                     closedAt: closedAt)
        }

        /// The fields an answer (or a closing) sets, immutable and shared between copies of
        /// the book (a snapshot's copy costs a reference per thread); a change
        /// makes a new box, once per reply or resolution.
        final class Answered: Sendable, Equatable {
            let fcrHour: Int32?
            let fcrSlice: AnalyticsSlice?
            let lastReply: MessageID?
            let lastReplyHour: Int32?
            let lastReplySlice: AnalyticsSlice?
            let closedAt: Date?

            private init(fcrHour: Int32?, fcrSlice: AnalyticsSlice?, lastReply: MessageID?, lastReplyHour: Int32?,
                         lastReplySlice: AnalyticsSlice?, closedAt: Date?) {
                self.fcrHour = fcrHour; self.fcrSlice = fcrSlice; self.lastReply = lastReply
                self.lastReplyHour = lastReplyHour; self.lastReplySlice = lastReplySlice; self.closedAt = closedAt
            }

            /// A box, or nil when every field is nil.
            static func make(fcrHour: Int32?, fcrSlice: AnalyticsSlice?, lastReply: MessageID?, lastReplyHour: Int32?,
                             lastReplySlice: AnalyticsSlice?, closedAt: Date?) -> Answered? {
                if fcrHour == nil, fcrSlice == nil, lastReply == nil, lastReplyHour == nil, lastReplySlice == nil, closedAt == nil {
                    return nil
                }
                return Answered(fcrHour: fcrHour, fcrSlice: fcrSlice, lastReply: lastReply, lastReplyHour: lastReplyHour,
                                lastReplySlice: lastReplySlice, closedAt: closedAt)
            }

            static func == (a: Answered, b: Answered) -> Bool {
                a.fcrHour == b.fcrHour && a.fcrSlice == b.fcrSlice && a.lastReply == b.lastReply
                    && a.lastReplyHour == b.lastReplyHour && a.lastReplySlice == b.lastReplySlice && a.closedAt == b.closedAt
            }
        }

        // MARK: Packed coding (snapshots, `AnalyticsBook.encode`)

        static let compactVersion: UInt8 = 1

        func write(_ w: inout CompactWriter) {
            w.id(id)
            Self.write(slice, &w)
            w.id(autoAgent); w.id(customer); w.id(waitingMessage)
            w.date(episodeStartBits.date); w.date(waitingSinceBits.date); w.date(dueAtBits.date)
            w.varint(UInt64(replyWord))
            w.varint(UInt64(UInt32(bitPattern: episodeMessageCount)))
            guard let a = answered else { return w.u8(0) }
            w.u8(1)
            Self.write(a.fcrHour, &w); Self.write(a.fcrSlice, &w)
            w.id(a.lastReply); Self.write(a.lastReplyHour, &w); Self.write(a.lastReplySlice, &w)
            w.date(a.closedAt)
        }

        static func read(_ r: inout CompactReader) throws -> ThreadFacts {
            var f = ThreadFacts(id: try r.id(), slice: try readSlice(&r), episodeStart: .distantPast)
            f.autoAgent = try r.optionalID(); f.customer = try r.optionalID(); f.waitingMessage = try r.optionalID()
            f.episodeStartBits = Moment(try r.optionalDate())
            f.waitingSinceBits = Moment(try r.optionalDate())
            f.dueAtBits = Moment(try r.optionalDate())
            guard let word = UInt32(exactly: try r.varint()), let count = UInt32(exactly: try r.varint()) else {
                throw CompactReader.Truncated()
            }
            f.replyWord = word
            f.episodeMessageCount = Int32(bitPattern: count)
            if try r.bool() {
                f.answered = Answered.make(fcrHour: try readInt32(&r), fcrSlice: try readOptionalSlice(&r),
                                           lastReply: try r.optionalID(), lastReplyHour: try readInt32(&r),
                                           lastReplySlice: try readOptionalSlice(&r), closedAt: try r.optionalDate())
            }
            return f
        }

        private static func write(_ s: AnalyticsSlice, _ w: inout CompactWriter) {
            w.tag(s.channel); w.id(s.team); w.id(s.agent); w.tag(s.brand); w.tag(s.threadType)
        }
        private static func write(_ s: AnalyticsSlice?, _ w: inout CompactWriter) {
            guard let s else { return w.u8(0) }
            w.u8(1); write(s, &w)
        }
        private static func write(_ v: Int32?, _ w: inout CompactWriter) {
            guard let v else { return w.u8(0) }
            w.u8(1); w.varint(UInt64(UInt32(bitPattern: v)))
        }
        private static func readSlice(_ r: inout CompactReader) throws -> AnalyticsSlice {
            AnalyticsSlice(channel: try r.tag(ChannelType.self), team: try r.optionalID(), agent: try r.optionalID(),
                           brand: try r.optionalTag(Brand.self), threadType: try r.tag(ThreadType.self))
        }
        private static func readOptionalSlice(_ r: inout CompactReader) throws -> AnalyticsSlice? {
            try r.bool() ? try readSlice(&r) : nil
        }
        private static func readInt32(_ r: inout CompactReader) throws -> Int32? {
            guard try r.bool() else { return nil }
            guard let v = UInt32(exactly: try r.varint()) else { throw CompactReader.Truncated() }
            return Int32(bitPattern: v)
        }

        // MARK: Coding (the shape of the unpacked value, field for field)

        enum CodingKeys: String, CodingKey {
            case slice, open, autoAgent, autoCounted, reassignedCounted, customer, episodeStart, waitingSince, waitFirst
            case dueAt, replies, episodeMessages, everReplied, reopened, fcrHour, fcrSlice, closedAt, waitingMessage
            case lastReply, lastReplyHour, lastReplySlice
        }

        /// Decodes a value whose thread id is its key in the table; the book sets `id`.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(id: ThreadID(UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))),
                      slice: try c.decode(AnalyticsSlice.self, forKey: .slice),
                      open: try c.decode(Bool.self, forKey: .open),
                      customer: try c.decodeIfPresent(CustomerID.self, forKey: .customer),
                      episodeStart: try c.decode(Date.self, forKey: .episodeStart))
            autoAgent = try c.decodeIfPresent(ContactID.self, forKey: .autoAgent)
            autoCounted = try c.decode(Bool.self, forKey: .autoCounted)
            reassignedCounted = try c.decode(Bool.self, forKey: .reassignedCounted)
            waitingSince = try c.decodeIfPresent(Date.self, forKey: .waitingSince)
            waitFirst = try c.decode(Bool.self, forKey: .waitFirst)
            dueAt = try c.decodeIfPresent(Date.self, forKey: .dueAt)
            replies = try c.decode(Int.self, forKey: .replies)
            episodeMessages = try c.decode(Int.self, forKey: .episodeMessages)
            everReplied = try c.decode(Bool.self, forKey: .everReplied)
            reopened = try c.decode(Bool.self, forKey: .reopened)
            waitingMessage = try c.decodeIfPresent(MessageID.self, forKey: .waitingMessage)
            answered = Answered.make(fcrHour: try c.decodeIfPresent(Int32.self, forKey: .fcrHour),
                                     fcrSlice: try c.decodeIfPresent(AnalyticsSlice.self, forKey: .fcrSlice),
                                     lastReply: try c.decodeIfPresent(MessageID.self, forKey: .lastReply),
                                     lastReplyHour: try c.decodeIfPresent(Int32.self, forKey: .lastReplyHour),
                                     lastReplySlice: try c.decodeIfPresent(AnalyticsSlice.self, forKey: .lastReplySlice),
                                     closedAt: try c.decodeIfPresent(Date.self, forKey: .closedAt))
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(slice, forKey: .slice)
            try c.encode(open, forKey: .open)
            try c.encodeIfPresent(autoAgent, forKey: .autoAgent)
            try c.encode(autoCounted, forKey: .autoCounted)
            try c.encode(reassignedCounted, forKey: .reassignedCounted)
            try c.encodeIfPresent(customer, forKey: .customer)
            try c.encode(episodeStart, forKey: .episodeStart)
            try c.encodeIfPresent(waitingSince, forKey: .waitingSince)
            try c.encode(waitFirst, forKey: .waitFirst)
            try c.encodeIfPresent(dueAt, forKey: .dueAt)
            try c.encode(replies, forKey: .replies)
            try c.encode(episodeMessages, forKey: .episodeMessages)
            try c.encode(everReplied, forKey: .everReplied)
            try c.encode(reopened, forKey: .reopened)
            try c.encodeIfPresent(fcrHour, forKey: .fcrHour)
            try c.encodeIfPresent(fcrSlice, forKey: .fcrSlice)
            try c.encodeIfPresent(closedAt, forKey: .closedAt)
            try c.encodeIfPresent(waitingMessage, forKey: .waitingMessage)
            try c.encodeIfPresent(lastReply, forKey: .lastReply)
            try c.encodeIfPresent(lastReplyHour, forKey: .lastReplyHour)
            try c.encodeIfPresent(lastReplySlice, forKey: .lastReplySlice)
        }
    }

    /// An optional moment as the bit pattern of its seconds since the
    /// reference date: 8 bytes instead of 16 for a `Date?` between other
    /// 8-byte fields, exact (a bit pattern round-trips every `Double`), and
    /// with plain integer equality. `none` is a NaN pattern no `Date` here
    /// carries (dates come from the clock and from JSON, which has no NaN).
    struct Moment: Sendable, Equatable {
        private var bits: UInt64
        static let none = Moment(bits: .max)
        private init(bits: UInt64) { self.bits = bits }
        init(_ date: Date?) { bits = date.map { $0.timeIntervalSinceReferenceDate.bitPattern } ?? Self.none.bits }
        var date: Date? { bits == Self.none.bits ? nil : Date(timeIntervalSinceReferenceDate: Double(bitPattern: bits)) }
    }

    /// The book's per-thread facts, by thread handle: `slotOf[handle]` is the
    /// facts' place in `facts` (or `noSlot`). The handle array costs 4 bytes per
    /// thread ever seen (as the board's rows do); the facts themselves are kept
    /// only while the book remembers the thread, and a forgotten thread's slot
    /// is reused, so their memory follows the live threads, not history.
    struct FactsTable: Sendable {
        static let noSlot = UInt32.max
        private(set) var slotOf: [UInt32] = []
        var facts: [ThreadFacts] = []
        private var free: [UInt32] = []
        private(set) var count = 0

        @inline(__always) func slot(_ h: UInt32) -> Int? {
            let i = Int(h)
            guard i < slotOf.count else { return nil }
            let s = slotOf[i]
            return s == Self.noSlot ? nil : Int(s)
        }

        subscript(_ h: UInt32) -> ThreadFacts? {
            get { slot(h).map { facts[$0] } }
            set {
                if let f = newValue {
                    if let s = slot(h) { facts[s] = f; return }
                    if Int(h) >= slotOf.count {
                        slotOf.append(contentsOf: repeatElement(Self.noSlot, count: Int(h) + 1 - slotOf.count))
                    }
                    if let s = free.popLast() {
                        facts[Int(s)] = f
                        slotOf[Int(h)] = s
                    } else {
                        slotOf[Int(h)] = UInt32(facts.count)
                        facts.append(f)
                    }
                    count += 1
                } else if let s = slot(h) {
                    slotOf[Int(h)] = Self.noSlot
                    facts[s].dropAnswer()  // lets go of the box until the slot is reused
                    free.append(UInt32(s))
                    count -= 1
                }
            }
        }

        /// The facts of every remembered thread.
        var all: [ThreadFacts] {
            var out: [ThreadFacts] = []
            out.reserveCapacity(count)
            for s in slotOf where s != Self.noSlot { out.append(facts[Int(s)]) }
            return out
        }

        /// The same facts at other handles (the board's, for a book decoded from a snapshot).
        mutating func rehandle(_ newHandle: (ThreadID) -> UInt32) {
            var next: [UInt32] = []
            for s in slotOf where s != Self.noSlot {
                let h = Int(newHandle(facts[Int(s)].id))
                if h >= next.count { next.append(contentsOf: repeatElement(Self.noSlot, count: h + 1 - next.count)) }
                next[h] = s
            }
            slotOf = next
        }
    }
}

// MARK: - Coding and equality of the book

/// The snapshot shape is the one of the first book (`threads` a table from
/// thread id to facts), so snapshots written before the dense table restore,
/// and the handles (which depend on the order threads entered the board)
/// never reach a snapshot. Equality compares the facts by thread id, for
/// the same reason.
extension AnalyticsBook: Codable, Equatable {
    enum CodingKeys: String, CodingKey {
        case figures, customerInbound, threads, threadsCompact, completedTasks, closings, closingsHead, now
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        figures = try c.decode(AnalyticsFigures.self, forKey: .figures)
        customerInbound = try c.decode([CustomerID: [ChannelType: Int]].self, forKey: .customerInbound)
        if let packed = try c.decodeIfPresent(Data.self, forKey: .threadsCompact) {
            var r = CompactReader([UInt8](packed))
            guard try r.u8() == ThreadFacts.compactVersion else {
                throw DecodingError.dataCorruptedError(forKey: .threadsCompact, in: c, debugDescription: "unknown version of the packed thread facts")
            }
            let n = try r.varint()
            guard n <= UInt64(packed.count) else {
                throw DecodingError.dataCorruptedError(forKey: .threadsCompact, in: c, debugDescription: "thread facts count past the data")
            }
            for _ in 0..<n {
                let f = try ThreadFacts.read(&r)
                threads[localHandles.threadHandle(creating: f.id)] = f
            }
        } else {
            // Snapshots written before the packed form: a JSON table from thread id to facts.
            for (id, var f) in try c.decode([ThreadID: ThreadFacts].self, forKey: .threads) {
                f.id = id
                threads[localHandles.threadHandle(creating: id)] = f
            }
        }
        completedTasks = try c.decode(Set<TaskID>.self, forKey: .completedTasks)
        closings = try c.decode([Closing].self, forKey: .closings)
        closingsHead = try c.decode(Int.self, forKey: .closingsHead)
        now = try c.decode(Date.self, forKey: .now)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(figures, forKey: .figures)
        try c.encode(customerInbound, forKey: .customerInbound)
        // Packed (`ThreadFacts.write`), as one base64 string: a million facts as JSON objects
        // took a quarter of a snapshot restore to decode.
        var w = CompactWriter(capacity: 16 + threads.count * 96)
        w.u8(ThreadFacts.compactVersion)
        let all = threads.all
        w.varint(UInt64(all.count))
        for f in all { f.write(&w) }
        try c.encode(Data(w.bytes), forKey: .threadsCompact)
        try c.encode(completedTasks, forKey: .completedTasks)
        try c.encode(closings, forKey: .closings)
        try c.encode(closingsHead, forKey: .closingsHead)
        try c.encode(now, forKey: .now)
    }

    /// The per-thread facts by thread id (snapshots, equality).
    var factsByThread: [ThreadID: ThreadFacts] {
        Dictionary(threads.all.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public static func == (a: AnalyticsBook, b: AnalyticsBook) -> Bool {
        a.figures == b.figures && a.customerInbound == b.customerInbound && a.completedTasks == b.completedTasks
            && a.closings == b.closings && a.closingsHead == b.closingsHead && a.now == b.now
            && a.threads.count == b.threads.count && a.factsByThread == b.factsByThread
    }
}
