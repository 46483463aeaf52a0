import CommHubDomain
import CommHubWire
import Foundation
import FuzzSupport

// libFuzzer target: the JSON request bodies of the HTTP API and of JSON
// ingest frames, decoded as the server decodes them (the contract's
// decoder, `ContractJSON.sharedDecoder`), and the error sentence the server
// builds from a refusal. A thrown error is a refused body (fine); a trap,
// an out-of-bounds read or a hang is a crash.
//
// An ingest batch that decodes must also travel the compact codec
// unchanged: a gateway may send the same items either way.
//
// The first input byte picks the body type (`bodyTypes`); the rest is the body.

private let bodyTypes: [(name: String, check: @Sendable ([UInt8]) -> Void)] = [
    ("IngestBatch", checkIngestBatch),
    ("CreateThreadRequest", decodeOnly(CreateThreadRequest.self)),
    ("UpdateThreadRequest", decodeOnly(UpdateThreadRequest.self)),
    ("CreateMessageRequest", decodeOnly(CreateMessageRequest.self)),
    ("UpdateMessageRequest", decodeOnly(UpdateMessageRequest.self)),
    ("TaskRequest", decodeOnly(TaskRequest.self)),
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
        return try ContractJSON.sharedDecoder.decode(T.self, from: Data(body))
    } catch {
        _ = ContractJSON.describe(error)
        return nil
    }
}

private func decodeOnly<T: Decodable>(_ type: T.Type) -> @Sendable ([UInt8]) -> Void {
    { body in _ = decode(T.self, body) }
}

private func checkChannel(_ body: [UInt8]) {
    guard let channel = decode(ChannelRequest.self, body) else { return }
    _ = channel.autoAssignmentRules?.validationErrors()
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
