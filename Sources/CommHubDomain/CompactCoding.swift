import Foundation

/// Appends the compact binary encoding used for hot journal events and
/// message bodies (see `EventCodec`): little-endian integers, LEB128
/// lengths, UUIDs as 16 raw bytes, dates as the bit pattern of the Double
/// `Date` holds, optionals behind a presence byte, enums as their case tag.
public struct CompactWriter {
    public var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }

    public mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func uuid(_ u: UUID) { withUnsafeBytes(of: u.uuid) { bytes.append(contentsOf: $0) } }
    public mutating func id<K>(_ i: EntityID<K>) { uuid(i.uuid) }
    public mutating func id<K>(_ i: EntityID<K>?) {
        if let i { u8(1); uuid(i.uuid) } else { u8(0) }
    }

    public mutating func date(_ d: Date) {
        withUnsafeBytes(of: d.timeIntervalSinceReferenceDate.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }
    public mutating func date(_ d: Date?) {
        if let d { u8(1); date(d) } else { u8(0) }
    }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }
    public mutating func string(_ s: String?) {
        if let s { u8(1); string(s) } else { u8(0) }
    }

    public mutating func tag<E: ContractEnum>(_ e: E) { u8(e.caseTag) }
    public mutating func tag<E: ContractEnum>(_ e: E?) {
        if let e { u8(e.caseTag + 1) } else { u8(0) }
    }

    /// Rarely used, open-ended values (attachments, metadata) as JSON.
    public mutating func json<T: Encodable>(_ v: T) throws {
        let data = try CompactWriter.jsonEncoder.encode(v)
        varint(UInt64(data.count))
        bytes.append(contentsOf: data)
    }

    static let jsonEncoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .deferredToDate
        e.outputFormatting = [.sortedKeys]
        return e
    }()
}

/// Reads what `CompactWriter` wrote; every read is bounds-checked.
public struct CompactReader {
    public let bytes: [UInt8]
    public var position: Int

    public struct Truncated: Error, CustomStringConvertible {
        public init() {}
        public var description: String { "compact record ends early or holds an impossible value" }
    }

    public init(_ bytes: [UInt8], from position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    public var atEnd: Bool { position == bytes.count }

    public mutating func u8() throws -> UInt8 {
        guard position < bytes.count else { throw Truncated() }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func bool() throws -> Bool { try u8() != 0 }

    public mutating func varint() throws -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try u8()
            guard shift < 64 else { throw Truncated() }
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }

    public mutating func raw(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - position else { throw Truncated() }
        defer { position += n }
        return bytes[position..<(position + n)]
    }

    public mutating func uuid() throws -> UUID {
        let b = try raw(16)
        var u: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &u) { $0.copyBytes(from: b) }
        return UUID(uuid: u)
    }
    public mutating func id<K>() throws -> EntityID<K> { EntityID(try uuid()) }
    public mutating func optionalID<K>() throws -> EntityID<K>? { try u8() == 0 ? nil : EntityID(try uuid()) }

    public mutating func date() throws -> Date {
        var bits: UInt64 = 0
        for (i, b) in try raw(8).enumerated() { bits |= UInt64(b) << (8 * UInt64(i)) }
        return Date(timeIntervalSinceReferenceDate: Double(bitPattern: bits))
    }
    public mutating func optionalDate() throws -> Date? { try u8() == 0 ? nil : try date() }

    public mutating func string() throws -> String {
        let n = try varint()
        guard n <= UInt64(bytes.count) else { throw Truncated() }
        return String(decoding: try raw(Int(n)), as: UTF8.self)
    }
    public mutating func optionalString() throws -> String? { try u8() == 0 ? nil : try string() }

    public mutating func tag<E: ContractEnum>(_: E.Type) throws -> E {
        let t = Int(try u8())
        let all = Array(E.allCases)
        guard t < all.count else { throw Truncated() }
        return all[t]
    }
    public mutating func optionalTag<E: ContractEnum>(_: E.Type) throws -> E? {
        let t = Int(try u8())
        guard t > 0 else { return nil }
        let all = Array(E.allCases)
        guard t - 1 < all.count else { throw Truncated() }
        return all[t - 1]
    }

    public mutating func json<T: Decodable>(_: T.Type) throws -> T {
        let n = try varint()
        guard n <= UInt64(bytes.count) else { throw Truncated() }
        return try CompactReader.jsonDecoder.decode(T.self, from: Data(try raw(Int(n))))
    }

    static let jsonDecoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .deferredToDate
        return d
    }()
}

/// The compact forms of the events that every message produces, and of
/// message bodies. Marker byte 0x00 (a JSON payload starts with `{`),
/// then a case byte, then the fields in declaration order.
enum CompactEvents {
    static let marker: UInt8 = 0x00

    enum Case: UInt8 {
        case messageAdded = 1
        case threadAssigned = 2
        case deliveryStatusChanged = 3
        case referenceAdded = 4
        case threadChanged = 5
        case threadOpened = 6
        /// `dataErased`: compact so that a large customer's skeleton is not bounded by the JSON event limit.
        case dataErased = 7
        case body = 100
    }

    /// nil when the event has no compact form (it is journaled as JSON).
    static func encode(_ event: EngineEvent) throws -> [UInt8]? {
        var w = CompactWriter()
        w.u8(marker)
        switch event {
        case .messageAdded(let h, let body, let due):
            w.u8(Case.messageAdded.rawValue)
            try header(h, &w)
            w.date(due)
            if let body { w.u8(1); try self.body(body, &w) } else { w.u8(0) }
        case .threadAssigned(let t, let team, let agent, let reason):
            w.u8(Case.threadAssigned.rawValue)
            w.id(t); w.id(team); w.id(agent); w.string(reason)
        case .threadOpened(let h):
            // One per thread: JSON here was a quarter of restore time.
            w.u8(Case.threadOpened.rawValue)
            CompactRecords.write(h, &w)
        case .deliveryStatusChanged(let m, let t, let s, let at):
            w.u8(Case.deliveryStatusChanged.rawValue)
            w.id(m); w.id(t); w.tag(s); w.date(at)
        case .referenceAdded(let t, let r):
            w.u8(Case.referenceAdded.rawValue)
            w.id(t); w.tag(r.kind); w.string(r.value)
        case .dataErased(let e):
            w.u8(Case.dataErased.rawValue)
            w.tag(e.reason); w.date(e.at); w.id(e.customer)
            w.varint(UInt64(e.orders.count)); for o in e.orders { w.id(o) }
            w.varint(UInt64(e.tasks.count)); for t in e.tasks { w.id(t) }
            w.varint(UInt64(e.threads.count))
            for t in e.threads {
                CompactRecords.write(t.header, &w)
                w.varint(UInt64(t.messages.count))
                for (m, seq) in zip(t.messages, t.messageSeqs) {
                    try CompactRecords.write(m, &w)
                    w.varint(seq)
                }
            }
        case .threadChanged(let t, let c, let at):
            w.u8(Case.threadChanged.rawValue)
            w.id(t); w.date(at)
            w.tag(c.status); w.tag(c.priority); w.tag(c.threadType); w.string(c.threadSubject)
            if let tags = c.tags {
                w.u8(1); w.varint(UInt64(tags.count)); for s in tags { w.string(s) }
            } else { w.u8(0) }
            w.id(c.orderID); w.id(c.customerID); w.id(c.customerOrganizationID); w.id(c.partnerOrganizationID)
            w.date(c.responseDueAt)
            w.u8(c.clearResponseDue.map { $0 ? 2 : 1 } ?? 0)
        default:
            return nil
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> EngineEvent {
        var r = CompactReader(bytes)
        guard try r.u8() == marker, let c = Case(rawValue: try r.u8()) else { throw CompactReader.Truncated() }
        let event: EngineEvent
        switch c {
        case .messageAdded:
            let h = try header(&r)
            let due = try r.optionalDate()
            let body = try r.u8() == 0 ? nil : try self.body(&r)
            event = .messageAdded(header: h, body: body, responseDueAt: due)
        case .threadAssigned:
            event = .threadAssigned(thread: try r.id(), team: try r.optionalID(), agent: try r.optionalID(), reason: try r.string())
        case .threadOpened:
            event = .threadOpened(try CompactRecords.readThreadHeader(&r))
        case .deliveryStatusChanged:
            event = .deliveryStatusChanged(message: try r.id(), thread: try r.id(), status: try r.tag(DeliveryStatus.self), at: try r.date())
        case .referenceAdded:
            event = .referenceAdded(thread: try r.id(), reference: ExternalReference(try r.tag(ExternalReference.Kind.self), try r.string()))
        case .threadChanged:
            let t: ThreadID = try r.id()
            let at = try r.date()
            var ch = ThreadChange()
            ch.status = try r.optionalTag(ThreadStatus.self)
            ch.priority = try r.optionalTag(Priority.self)
            ch.threadType = try r.optionalTag(ThreadType.self)
            ch.threadSubject = try r.optionalString()
            if try r.u8() == 1 {
                let n = try r.varint()
                guard n <= UInt64(bytes.count) else { throw CompactReader.Truncated() }
                ch.tags = try (0..<n).map { _ in try r.string() }
            }
            ch.orderID = try r.optionalID()
            ch.customerID = try r.optionalID()
            ch.customerOrganizationID = try r.optionalID()
            ch.partnerOrganizationID = try r.optionalID()
            ch.responseDueAt = try r.optionalDate()
            let clear = try r.u8()
            ch.clearResponseDue = clear == 0 ? nil : clear == 2
            event = .threadChanged(thread: t, change: ch, at: at)
        case .dataErased:
            let reason = try r.tag(DataErasure.Reason.self)
            let at = try r.date()
            let customer: CustomerID? = try r.optionalID()
            let orders: [OrderID] = try CompactRecords.list(&r) { try $0.id() }
            let tasks: [TaskID] = try CompactRecords.list(&r) { try $0.id() }
            let threads = try CompactRecords.list(&r) { r -> ThreadSkeleton in
                let header = try CompactRecords.readThreadHeader(&r)
                let n = try r.varint()
                guard n <= UInt64(r.bytes.count) else { throw CompactReader.Truncated() }
                var messages: [MessageHeader] = []
                var seqs: [UInt64] = []
                messages.reserveCapacity(Int(n))
                seqs.reserveCapacity(Int(n))
                for _ in 0..<n {
                    messages.append(try CompactRecords.readMessageHeader(&r))
                    seqs.append(try r.varint())
                }
                return ThreadSkeleton(decodedHeader: header, messages: messages, messageSeqs: seqs)
            }
            event = .dataErased(DataErasure(reason: reason, at: at, customer: customer, orders: orders, tasks: tasks, threads: threads))
        case .body:
            throw CompactReader.Truncated()
        }
        guard r.atEnd else { throw CompactReader.Truncated() }
        return event
    }

    static func encodeBody(_ b: MessageBody) throws -> [UInt8] {
        var w = CompactWriter(capacity: b.messageContent.utf8.count + 32)
        w.u8(marker)
        w.u8(Case.body.rawValue)
        try body(b, &w)
        return w.bytes
    }

    static func decodeBody(_ bytes: [UInt8]) throws -> MessageBody {
        var r = CompactReader(bytes)
        guard try r.u8() == marker, try r.u8() == Case.body.rawValue else { throw CompactReader.Truncated() }
        let b = try body(&r)
        guard r.atEnd else { throw CompactReader.Truncated() }
        return b
    }

    private static func party(_ p: ExternalParty?, _ w: inout CompactWriter) {
        guard let p else { w.u8(0); return }
        w.u8(1); w.string(p.name); w.string(p.email); w.string(p.phone); w.string(p.waID)
    }

    private static func party(_ r: inout CompactReader) throws -> ExternalParty? {
        guard try r.u8() == 1 else { return nil }
        return ExternalParty(name: try r.optionalString(), email: try r.optionalString(), phone: try r.optionalString(),
                             waID: try r.optionalString())
    }

    static func writeHeader(_ h: MessageHeader, _ w: inout CompactWriter) throws { try header(h, &w) }
    static func readHeader(_ r: inout CompactReader) throws -> MessageHeader { try header(&r) }

    private static func header(_ h: MessageHeader, _ w: inout CompactWriter) throws {
        w.id(h.id); w.id(h.threadID); w.id(h.channelID); w.tag(h.channelType); w.tag(h.messageType)
        w.id(h.senderContactID); party(h.senderExternal, &w); w.id(h.recipientContactID); party(h.recipientExternal, &w)
        w.string(h.subject); w.string(h.externalMessageID); w.tag(h.deliveryStatus); w.date(h.readAt); w.date(h.createdAt)
    }

    private static func header(_ r: inout CompactReader) throws -> MessageHeader {
        let id: MessageID = try r.id()
        let thread: ThreadID = try r.id()
        let channel: ChannelID? = try r.optionalID()
        let channelType = try r.tag(ChannelType.self)
        let messageType = try r.tag(MessageType.self)
        let sender: ContactID? = try r.optionalID()
        let senderExternal = try party(&r)
        let recipient: ContactID? = try r.optionalID()
        let recipientExternal = try party(&r)
        let subject = try r.optionalString()
        let external = try r.optionalString()
        let status = try r.tag(DeliveryStatus.self)
        let readAt = try r.optionalDate()
        let createdAt = try r.date()
        return MessageHeader(id: id, threadID: thread, channelID: channel, channelType: channelType, messageType: messageType,
                             senderContactID: sender, senderExternal: senderExternal, recipientContactID: recipient,
                             recipientExternal: recipientExternal, subject: subject, externalMessageID: external,
                             deliveryStatus: status, readAt: readAt, createdAt: createdAt)
    }

    private static func body(_ b: MessageBody, _ w: inout CompactWriter) throws {
        w.string(b.messageContent)
        w.string(b.messageHtml)
        if b.attachments.isEmpty { w.u8(0) } else { w.u8(1); try w.json(b.attachments) }
        if b.metadata.isEmpty { w.u8(0) } else { w.u8(1); try w.json(b.metadata) }
    }

    private static func body(_ r: inout CompactReader) throws -> MessageBody {
        let content = try r.string()
        let html = try r.optionalString()
        let attachments = try r.u8() == 0 ? [] : try r.json([Attachment].self)
        let metadata = try r.u8() == 0 ? [:] : try r.json([String: JSONValue].self)
        return MessageBody(messageContent: content, messageHtml: html, attachments: attachments, metadata: metadata)
    }
}

/// Compact forms of the records a snapshot holds per thread.
public enum CompactRecords {
    public static func write(_ h: ThreadHeader, _ w: inout CompactWriter) {
        w.id(h.id); w.string(h.threadSubject); w.tag(h.threadType); w.tag(h.priority); w.tag(h.status)
        w.tag(h.businessEntity); w.tag(h.channelType)
        w.id(h.orderID); w.id(h.customerID); w.id(h.customerOrganizationID); w.id(h.partnerOrganizationID)
        w.id(h.assignedTeamID); w.id(h.assignedToContactID); w.id(h.createdByContactID)
        w.date(h.createdAt); w.date(h.updatedAt); w.date(h.lastMessageAt); w.date(h.responseDueAt)
        w.date(h.awaitingResponseSince); w.date(h.resolvedAt)
        w.varint(UInt64(h.tags.count)); for t in h.tags { w.string(t) }
        w.varint(UInt64(h.externalReferences.count))
        for r in h.externalReferences { w.tag(r.kind); w.string(r.value) }
        w.varint(UInt64(max(0, h.messageCount)))
        w.varint(UInt64(h.requiredSkills.count)); for s in h.requiredSkills { w.string(s) }
    }

    public static func readThreadHeader(_ r: inout CompactReader) throws -> ThreadHeader {
        let id: ThreadID = try r.id()
        let subject = try r.string()
        let type = try r.tag(ThreadType.self)
        let priority = try r.tag(Priority.self)
        let status = try r.tag(ThreadStatus.self)
        let brand = try r.optionalTag(Brand.self)
        let channel = try r.tag(ChannelType.self)
        var h = ThreadHeader(id: id, threadSubject: subject, threadType: type, priority: priority, status: status,
                             businessEntity: brand, channelType: channel, orderID: try r.optionalID(),
                             customerID: try r.optionalID(), customerOrganizationID: try r.optionalID(),
                             partnerOrganizationID: try r.optionalID(), assignedTeamID: try r.optionalID(),
                             assignedToContactID: try r.optionalID(), createdByContactID: try r.optionalID(),
                             createdAt: try r.date())
        h.updatedAt = try r.date()
        h.lastMessageAt = try r.optionalDate()
        h.responseDueAt = try r.optionalDate()
        h.awaitingResponseSince = try r.optionalDate()
        h.resolvedAt = try r.optionalDate()
        h.tags = try list(&r) { try $0.string() }
        h.externalReferences = try list(&r) { ExternalReference(try $0.tag(ExternalReference.Kind.self), try $0.string()) }
        // A count no thread can reach is damage (above Int.max it trapped here once).
        let count = try r.varint()
        guard count <= UInt64(ThreadHeader.maxMessagesPerThread) else { throw CompactReader.Truncated() }
        h.messageCount = Int(count)
        h.requiredSkills = try list(&r) { try $0.string() }
        return h
    }

    public static func write(_ m: MessageHeader, _ w: inout CompactWriter) throws {
        var inner = CompactWriter(capacity: 128)
        try CompactEvents.writeHeader(m, &inner)
        w.bytes += inner.bytes
    }

    public static func readMessageHeader(_ r: inout CompactReader) throws -> MessageHeader {
        try CompactEvents.readHeader(&r)
    }

    static func list<T>(_ r: inout CompactReader, _ item: (inout CompactReader) throws -> T) throws -> [T] {
        let n = try r.varint()
        guard n <= UInt64(r.bytes.count) else { throw CompactReader.Truncated() }
        var out: [T] = []
        out.reserveCapacity(Int(n))
        for _ in 0..<n { out.append(try item(&r)) }
        return out
    }
}
