import CommHubDomain
import Foundation
import FuzzSupport

// libFuzzer target: Twilio's Messaging webhooks, everything CommHubGateways
// reads from Twilio's requests. `TwilioWebhook.swift` and
// `TwilioSignature.swift` beside this file are symlinks to the sources in
// Sources/CommHubGateways/SMS (the module itself also holds the senders, and
// would bring AsyncHTTPClient and NIO into the instrumented build). A thrown
// error is a refused request (fine); a trap, an out-of-bounds read or a hang
// is a crash.
//
// The first input byte picks what is read from the rest:
//   0 (and 2): a form body → `TwilioForm(parsing:)`, then as an inbound
//      SMS/MMS and as a status callback; properties: the form re-encodes and
//      parses back to the same parameters; a parsed message encodes as
//      contract JSON;
//   1: `<url> 0x00 <X-Twilio-Signature> 0x00 <body>` → the signature check;
//      properties: the signature Twilio would send for this URL and body
//      always verifies, also with the default port toggled; the fuzzed header
//      never traps.

private let authToken = "fuzz-auth-token"
private let verifier = TwilioSignatureVerifier(authToken: authToken)
private let channel = ChannelID()
private let at = Date(timeIntervalSinceReferenceDate: 800_000_000)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard let selector = input.first else { return 0 }
    let rest = Array(input.dropFirst())
    switch selector % 3 {
    case 1: checkSignature(rest, input: input)
    default: checkForm(rest, input: input)
    }
    return 0
}

@_cdecl("FuzzTwilioWebhook_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    libFuzzerMain(argc, argv, fuzzOne)
}

private func checkForm(_ body: [UInt8], input: [UInt8]) {
    let form: TwilioForm
    do {
        form = try TwilioForm(parsing: body)
    } catch {
        _ = error.description
        _ = error.code
        return
    }
    // The body the gateway would sign and post for these parameters reads back the same.
    let again: TwilioForm
    do {
        again = try TwilioForm(parsing: Array(TwilioForm.encode(form.parameters).utf8))
    } catch {
        fuzzFailure("FuzzTwilioWebhook", "a parsed form does not parse again after encoding: \(error)", input: input)
    }
    if again.parameters != form.parameters {
        fuzzFailure("FuzzTwilioWebhook", "form round trip changed the parameters", input: input)
    }
    if let message = try? TwilioInboundMessage(form: form) {
        if message.messageSid.isEmpty || message.from.isEmpty || message.to.isEmpty {
            fuzzFailure("FuzzTwilioWebhook", "an inbound message without sid, sender or number: \(message)", input: input)
        }
        if message.media.count > TwilioInboundMessage.maxMedia {
            fuzzFailure("FuzzTwilioWebhook", "more media than the bound: \(message.media.count)", input: input)
        }
        _ = message.threadReference
        _ = message.senderExternal
        _ = message.media.map(\.attachment)
        do {
            _ = try ContractJSON.sharedEncoder.encode(message.inbound(channelID: channel, receivedAt: at))
        } catch {
            fuzzFailure("FuzzTwilioWebhook", "parsed message does not encode as contract JSON: \(error)", input: input)
        }
    }
    if let status = try? TwilioStatusCallback(form: form) {
        if status.messageSid.isEmpty { fuzzFailure("FuzzTwilioWebhook", "a status without sid", input: input) }
        _ = status.deliveryStatus
        _ = status.errorTitle
    }
}

private func checkSignature(_ rest: [UInt8], input: [UInt8]) {
    let parts = rest.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
    let url = String(decoding: parts.first ?? [], as: UTF8.self)
    let header = parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : nil
    let body = parts.count > 2 ? Array(parts[2]) : []
    let parameters = (try? TwilioForm(parsing: body))?.parameters ?? []
    // The fuzzed header: refused or accepted, never a trap.
    do {
        try verifier.verify(header: header, url: url, parameters: parameters)
    } catch {
        _ = error.description
    }
    // What Twilio would send verifies, for the URL and each of its port spellings.
    for variant in TwilioSignature.urlVariants(url) {
        let good = TwilioSignature.header(authToken: authToken, url: variant, parameters: parameters)
        do {
            try verifier.verify(header: good, url: url, parameters: parameters)
        } catch {
            fuzzFailure("FuzzTwilioWebhook", "Twilio's own signature for \(variant.prefix(80)) was refused: \(error)", input: input)
        }
    }
}
