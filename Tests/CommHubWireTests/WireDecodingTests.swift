import CommHubDomain
import CommHubWire
import CommHubFixtures
import Foundation
import Testing

@Suite("Wire decoding: bounds, dates, frames")
struct WireDecodingTests {
    func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try WireJSON.decode(T.self, from: Array(json.utf8), limits: .requestBody)
    }

    func message(_ error: some Error) -> String { WireJSON.describe(error) }

    @Test func datesMustBeInsideTheWindow() throws {
        struct Stamp: Decodable { var at: Date }
        #expect(try decode(Stamp.self, #"{"at":"2000-01-01T00:00:00Z"}"#).at == WireDates.earliest)
        #expect(try decode(Stamp.self, #"{"at":"2099-12-31T23:59:59.999Z"}"#).at < WireDates.end)
        for outside in ["1999-12-31T23:59:59Z", "2100-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"] {
            do {
                _ = try decode(Stamp.self, #"{"at":"\#(outside)"}"#)
                Issue.record("\(outside) accepted")
            } catch {
                #expect(message(error).contains("field 'at'") && message(error).contains("2000-01-01T00:00:00Z ..< 2100-01-01T00:00:00Z"),
                        "\(message(error))")
            }
        }
        #expect(!WireDates.contains(Date(timeIntervalSinceReferenceDate: .nan)))
        #expect(!WireDates.contains(Date(timeIntervalSinceReferenceDate: .infinity)))
        #expect(!WireDates.contains(Date.distantFuture) && !WireDates.contains(Date.distantPast))
    }

    /// The size bound that lets most values skip the encoder is never below
    /// what the encoder writes (random values with quotes, control
    /// characters, non-ASCII text and extreme numbers), and a value the
    /// encoder refuses (NaN) is never waved through by it.
    @Test func theFreeFormSizeBoundIsNeverBelowTheEncodedSize() throws {
        var rng = SplitMix(seed: 0x5EED_B0C5)
        let alphabet = Array("ab\"\\\n\t\u{1}/é€😀 ".unicodeScalars)
        func text() -> String {
            String(String.UnicodeScalarView((0..<Int(rng.next() % 40)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }))
        }
        func value(_ depth: Int) -> JSONValue {
            switch rng.next() % (depth > 4 ? 4 : 6) {
            case 0: return .null
            case 1: return .bool(rng.next() % 2 == 0)
            case 2: return .number([0, -1, 1e308, -2.2250738585072014e-308, 123456789.123456789, 0.1][Int(rng.next() % 6)])
            case 3: return .string(text())
            case 4: return .array((0..<Int(rng.next() % 5)).map { _ in value(depth + 1) })
            default: return .object(Dictionary((0..<Int(rng.next() % 5)).map { _ in (text(), value(depth + 1)) }, uniquingKeysWith: { a, _ in a }))
            }
        }
        for _ in 0..<2_000 {
            let v = value(0)
            let encoded = try ContractJSON.sharedEncoder.encode(v).count
            let bound = try #require(FreeFormJSON.encodedBytesBound(v, limit: .max))
            #expect(bound >= encoded, "bound \(bound) < \(encoded) for \(v)")
        }
        #expect(FreeFormJSON.encodedBytesBound(.object(["n": .number(.nan)]), limit: .max) == nil)
        #expect(throws: FieldRangeError.self) { try FreeFormJSON.check(.object(["n": .number(.infinity)]), "metadata") }
        // Escapes count: 40,000 quotes encode to 80,000 bytes.
        #expect(throws: FieldRangeError.self) { try FreeFormJSON.check(.object(["q": .string(String(repeating: "\"", count: 40_000))]), "metadata") }
        try FreeFormJSON.check(.object(["q": .string(String(repeating: "\"", count: 30_000))]), "metadata")
    }

    @Test func freeFormJSONHasADepthAndSizeBound() throws {
        func nested(_ depth: Int) -> JSONValue {
            (1..<depth).reduce(JSONValue.object(["leaf": .number(1)])) { inner, _ in .object(["a": inner]) }
        }
        try FreeFormJSON.check(nested(FreeFormJSON.maxDepth), "metadata")
        #expect(throws: FieldRangeError.self) { try FreeFormJSON.check(nested(FreeFormJSON.maxDepth + 1), "metadata") }
        #expect(FreeFormJSON.depth(of: nested(10_000), limit: 16) == 17, "the walk stops just past the limit")
        try FreeFormJSON.check(.object(["s": .string(String(repeating: "x", count: FreeFormJSON.maxBytes - 100))]), "metadata")
        do {
            try FreeFormJSON.check(.object(["s": .string(String(repeating: "x", count: FreeFormJSON.maxBytes))]), "reminder_settings")
            Issue.record("64 KiB accepted")
        } catch {
            #expect(error.field == "reminder_settings" && error.description.contains("65536 bytes"))
        }
    }

    @Test func requestBodiesAreRangeChecked() throws {
        let cases: [(String, () throws -> Any, String)] = [
            ("sla", { try decode(ChannelRequest.self, #"{"response_sla_hours":1e-300}"#) }, "response_sla_hours must be a number from 0.1 to 720 hours"),
            ("sla", { try decode(ChannelRequest.self, #"{"response_sla_hours":721}"#) }, "response_sla_hours"),
            ("escalation", { try decode(AutoAssignmentRules.self, #"{"escalation_after_hours":0}"#) }, "escalation_after_hours"),
            ("contact", { try decode(ContactRequest.self, #"{"max_open_threads":10001}"#) }, "max_open_threads must be from 0 to 10000"),
            ("call", { try decode(CreateMessageRequest.self, #"{"thread_id":"\#(UUID())","message_type":"outgoing","call":{"direction":"inbound","duration_seconds":86401}}"#) },
             "call.duration_seconds"),
            ("attachment", { try decode(CreateMessageRequest.self, #"{"thread_id":"\#(UUID())","message_type":"outgoing","attachments":[{"file_name":"a","content_type":"b","size_bytes":-1}]}"#) },
             "attachments[0].size_bytes"),
            ("variables", { try decode(RenderRequest.self, #"{"variables":{\#((0...100).map { "\"v\($0)\":\"x\"" }.joined(separator: ","))}}"#) },
             "variables must be at most 100 entries"),
            ("reminders", { try decode(TaskRequest.self, #"{"reminder_settings":{"a":\#(String(repeating: "[", count: 20) + String(repeating: "]", count: 20))}}"#) },
             "reminder_settings"),
        ]
        for (name, run, expected) in cases {
            do {
                _ = try run()
                Issue.record("\(name) accepted")
            } catch let e as FieldRangeError {
                #expect(e.description.contains(expected), "\(name): \(e)")
            } catch {
                Issue.record("\(name): not a range error: \(error)")
            }
        }
        // At the bounds: accepted.
        _ = try decode(ChannelRequest.self, #"{"response_sla_hours":0.1}"#)
        _ = try decode(ChannelRequest.self, #"{"response_sla_hours":720}"#)
        _ = try decode(ContactRequest.self, #"{"max_open_threads":0}"#)
    }

    @Test func compactFramesRefuseImpossibleDatesAndSizes() throws {
        func item(_ at: Date, size: Int = 1, attachmentsJSON: [UInt8]? = nil) throws -> [UInt8] {
            let m = InboundMessage(channelID: ChannelID(), externalMessageID: "x", senderExternal: ExternalParty(),
                                   messageContent: "hallo", attachments: [Attachment(fileName: "a", contentType: "b", sizeBytes: size)],
                                   receivedAt: at)
            return try IngestCompact.encode([.message(m)])
        }
        for bad in [Double.nan, .infinity, -.infinity, .greatestFiniteMagnitude, -1e18] {
            #expect(throws: FieldRangeError.self, "\(bad)") { try IngestCompact.decode(try item(Date(timeIntervalSinceReferenceDate: bad))) }
        }
        #expect(throws: FieldRangeError.self) { try IngestCompact.decode(try item(Date(), size: -1)) }
        let delivery = try IngestCompact.encode([.delivery(channelID: ChannelID(), externalMessageID: "w", status: .read,
                                                           at: Date(timeIntervalSinceReferenceDate: .nan))])
        #expect(throws: FieldRangeError.self) { try IngestCompact.decode(delivery) }
        #expect(try IngestCompact.decode(try item(Date())).count == 1)
    }

    @Test func compactAttachmentsJSONIsStrict() throws {
        var w = CompactWriter()
        w.varint(1); w.u8(1)
        w.id(ChannelID()); w.string("x"); w.u8(0); w.varint(0)
        w.string(nil as String?); w.string(nil as String?); w.string(nil as String?); w.string(nil as String?); w.string(nil as String?)
        w.string(nil as String?); w.string("hallo"); w.string(nil as String?)
        let json = Array(#"[{"fileName":"a","fileName":"b","contentType":"c","sizeBytes":1}]"#.utf8)
        w.u8(1); w.varint(UInt64(json.count)); w.bytes += json
        w.date(Date())
        #expect(throws: StrictJSONError.self) { try IngestCompact.decode(w.bytes) }
    }

    @Test func framesBeforeHelloAreBoundedAtTheirLengthPrefix() throws {
        var r = IngestProtocol.FrameReader()
        r.append([0x00, 0x40, 0x00, 0x00])  // announces 4 MiB; nothing else has arrived
        #expect(throws: IngestProtocol.FrameError.tooLarge(4 * 1024 * 1024 + 4, limit: 4096)) {
            _ = try r.next(maxFrameBytes: IngestProtocol.maxFrameBeforeHello)
        }
        var short = IngestProtocol.FrameReader()
        short.append([0, 0, 0, 8])
        #expect(throws: IngestProtocol.FrameError.tooShort(8)) { _ = try short.next(maxFrameBytes: 4096) }

        // Many frames in one read, then one split across reads; each under the bound given for it.
        let a = IngestProtocol.Frame(kind: .hello, requestID: 1, payload: Array("{}".utf8)).encoded()
        let b = IngestProtocol.Frame(kind: .ingest, requestID: 2, payload: Array(repeating: 0x20, count: 10_000)).encoded()
        var reader = IngestProtocol.FrameReader()
        reader.append(a + b.prefix(100))
        #expect(try reader.next(maxFrameBytes: 4096)?.requestID == 1)
        #expect(try reader.next(maxFrameBytes: IngestProtocol.maxFrame) == nil, "the second is not complete yet")
        reader.append(b.dropFirst(100))
        #expect(try reader.next(maxFrameBytes: IngestProtocol.maxFrame)?.payload.count == 10_000)
        #expect(reader.bufferedBytes == 0)
    }
}
