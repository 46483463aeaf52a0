import CommHubDomain
import Foundation
import FuzzSupport

// libFuzzer target: the WhatsApp webhook, everything CommHubGateways reads
// from Meta's requests. `WhatsAppWebhook.swift` beside this file is a
// symlink to Sources/CommHubGateways/WhatsApp/WhatsAppWebhook.swift: the
// target compiles that file alone, because the CommHubGateways module also
// holds the provider senders and would bring AsyncHTTPClient and NIO into
// the instrumented build. A thrown error is a refused request (fine); a trap,
// an out-of-bounds read or a hang is a crash.
//
// The first input byte picks what is read from the rest:
//   0 (and 3): the notification body → `WhatsAppWebhookParser.parse`, and
//      every value the server then takes from a parsed notification;
//   1: `<X-Hub-Signature-256 header> 0x00 <body>` → the signature check;
//   2: `<hub.mode> 0x00 <hub.verify_token> 0x00 <hub.challenge>` → the
//      verification handshake.

private let parser = WhatsAppWebhookParser()
private let appSecret = "fuzz-app-secret"
private let verifier = WhatsAppSignatureVerifier(appSecret: appSecret)
private let channel = ChannelID()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard let selector = input.first else { return 0 }
    let rest = Array(input.dropFirst())
    switch selector % 4 {
    case 1: checkSignature(rest, input: input)
    case 2: checkHandshake(rest, input: input)
    default: checkNotification(rest, input: input)
    }
    return 0
}

@_cdecl("FuzzWhatsAppWebhook_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    libFuzzerMain(argc, argv, fuzzOne)
}

private func checkNotification(_ body: [UInt8], input: [UInt8]) {
    let events: WhatsAppWebhookEvents
    do {
        events = try parser.parse(Data(body))
    } catch {
        _ = error.description
        return
    }
    // What the webhook route takes from a parsed notification.
    _ = events.phoneNumberIDs
    for m in events.messages {
        guard !m.messageID.isEmpty, !m.from.isEmpty, !m.phoneNumberID.isEmpty else {
            fuzzFailure("FuzzWhatsAppWebhook", "a message without id, sender or business number: \(m)", input: input)
        }
        _ = m.senderPhone
        _ = m.threadReference
        _ = m.attachments
        let inbound = m.inbound(channelID: channel)
        // The server hands it on as contract JSON; it must encode.
        do {
            _ = try ContractJSON.sharedEncoder.encode(inbound)
        } catch {
            fuzzFailure("FuzzWhatsAppWebhook", "parsed message does not encode as contract JSON: \(error)", input: input)
        }
    }
    for s in events.statuses where s.messageID.isEmpty || s.phoneNumberID.isEmpty {
        fuzzFailure("FuzzWhatsAppWebhook", "a status without message id or business number: \(s)", input: input)
    }
}

private func checkSignature(_ rest: [UInt8], input: [UInt8]) {
    let split = rest.firstIndex(of: 0) ?? rest.endIndex
    let header = String(decoding: rest[..<split], as: UTF8.self)
    let body = split < rest.endIndex ? Data(rest[(split + 1)...]) : Data()
    do {
        try verifier.verify(body: body, signatureHeader: header)
    } catch {
        _ = error.code
        _ = error.description
    }
    // Meta's own header for this body always passes, and parses to 32 bytes.
    let good = WhatsAppSignature.header(for: body, appSecret: appSecret)
    guard (try? verifier.verify(body: body, signatureHeader: good)) != nil,
          (try? WhatsAppSignature(header: good))?.bytes.count == 32
    else {
        fuzzFailure("FuzzWhatsAppWebhook", "the correct signature \(good) was refused", input: input)
    }
}

private func checkHandshake(_ rest: [UInt8], input: [UInt8]) {
    let parts = rest.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        .map { String(decoding: $0, as: UTF8.self) }
    func part(_ i: Int) -> String? { i < parts.count ? parts[i] : nil }
    do {
        let request = try WhatsAppVerificationRequest(mode: part(0), verifyToken: part(1), challenge: part(2))
        // The configured token answers with the challenge; another does not.
        guard (try? request.respond(expectedToken: request.verifyToken)) == request.challenge,
              !request.matches(expectedToken: request.verifyToken + "x"),
              !request.matches(expectedToken: "")
        else {
            fuzzFailure("FuzzWhatsAppWebhook", "handshake token comparison is wrong for \(parts)", input: input)
        }
    } catch {
        _ = error.code
        _ = error.description
        _ = error.isForbidden
    }
}
