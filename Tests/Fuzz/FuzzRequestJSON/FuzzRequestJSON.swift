import CommHubDomain
import CommHubWire
import Foundation
import FuzzSupport

// libFuzzer target: the JSON request bodies of the HTTP API and of JSON
// ingest frames, decoded as the server decodes them (`WireJSON`: the strict
// scanner, the contract's decoder, the range checks), and the error sentence
// the server builds from a refusal. A thrown error is a refused body (fine);
// a trap, an out-of-bounds read or a hang is a crash.
//
// What the wire accepts must also be storable and carriable:
// - every free-form JSON field (configuration, metadata, reminder settings,
//   escalation rules) goes into a journal audit record and comes back equal;
// - an ingest batch travels the compact codec unchanged, and the compact
//   decoder accepts it (a gateway may send the same items either way).
//
// The first input byte picks the body type (`bodyTypes`); the rest is the body.

private let codec = EventCodec()

private let bodyTypes: [(name: String, check: @Sendable ([UInt8]) -> Void)] = [
    ("IngestBatch", checkIngestBatch),
    ("CreateThreadRequest", decodeOnly(CreateThreadRequest.self)),
    ("UpdateThreadRequest", decodeOnly(UpdateThreadRequest.self)),
    ("CreateMessageRequest", checkMessage),
    ("UpdateMessageRequest", decodeOnly(UpdateMessageRequest.self)),
    ("TaskRequest", checkTask),
    ("TemplateRequest", decodeOnly(TemplateRequest.self)),
    ("RenderRequest", decodeOnly(RenderRequest.self)),
    ("ChannelRequest", checkChannel),
    ("ContactRequest", decodeOnly(ContactRequest.self)),
    ("TeamRequest", decodeOnly(TeamRequest.self)),
    ("TokenRequest", decodeOnly(TokenRequest.self)),
    ("DirectoryRequest", decodeOnly(DirectoryRequest.self)),
    ("AutoAssignmentRules", checkRules),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard let selector = input.first else { return 0 }
    currentInput = input
    bodyTypes[Int(selector) % bodyTypes.count].check(Array(input.dropFirst()))
    return 0
}

@_cdecl("FuzzRequestJSON_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    libFuzzerMain(argc, argv, fuzzOne)
}

/// The whole input, for failure reports (one input at a time).
nonisolated(unsafe) private var currentInput: [UInt8] = []

/// Decodes like the server; a refusal is turned into its error sentence.
private func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8]) -> T? {
    do {
        return try WireJSON.decode(T.self, from: body, limits: .requestBody)
    } catch {
        _ = WireJSON.describe(error)
        return nil
    }
}

private func decodeOnly<T: Decodable>(_ type: T.Type) -> @Sendable ([UInt8]) -> Void {
    { body in _ = decode(T.self, body) }
}

/// An accepted free-form field must fit a journal record: encoded as the
/// audit event of the request and read back, it is unchanged.
private func checkStorable(_ field: [String: JSONValue]?, _ name: String) {
    guard let field else { return }
    let value = JSONValue.object(field)
    let event = EngineEvent.audited(AuditEntry(at: Date(timeIntervalSinceReferenceDate: 0), actorContactID: nil,
                                               actorTokenID: nil, action: "fuzz", entity: "fuzz", entityID: name, after: value))
    do {
        let back = try codec.decode(codec.encodeForJournal(event), version: 1)
        guard back == event else {
            fuzzFailure("FuzzRequestJSON", "accepted \(name) changed in the journal: \(back)", input: currentInput)
        }
    } catch {
        fuzzFailure("FuzzRequestJSON", "accepted \(name) cannot be journaled: \(error)", input: currentInput)
    }
}

private func checkChannel(_ body: [UInt8]) {
    guard let channel = decode(ChannelRequest.self, body) else { return }
    _ = channel.autoAssignmentRules?.validationErrors()
    checkStorable(channel.configuration, "configuration")
    checkStorable(channel.escalationRules, "escalation_rules")
}

private func checkMessage(_ body: [UInt8]) {
    checkStorable(decode(CreateMessageRequest.self, body)?.metadata, "metadata")
}

private func checkTask(_ body: [UInt8]) {
    checkStorable(decode(TaskRequest.self, body)?.reminderSettings, "reminder_settings")
}

private func checkRules(_ body: [UInt8]) {
    _ = decode(AutoAssignmentRules.self, body)?.validationErrors()
}

private func checkIngestBatch(_ body: [UInt8]) {
    guard let batch = decode(IngestBatch.self, body) else { return }
    let compact: [UInt8]
    do {
        compact = try IngestCompact.encode(batch.events)
    } catch {
        fuzzFailure("FuzzRequestJSON", "an accepted JSON ingest batch cannot be sent compact: \(error)", input: currentInput)
    }
    let back: [IngestItem]
    do {
        back = try IngestCompact.decode(compact)
    } catch {
        fuzzFailure("FuzzRequestJSON", "the compact form of an accepted JSON batch is refused: \(error)", input: currentInput)
    }
    guard sameValue(batch.events.map(ComparableItem.init), back.map(ComparableItem.init)) else {
        fuzzFailure("FuzzRequestJSON", "items changed between JSON and compact:\n  \(batch.events)\n  \(back)", input: currentInput)
    }
}
