import CommHubGateways
import CommHubStandIns
import Foundation
import Testing

/// `X-Twilio-Signature` against Twilio's documented vectors (twilio.com/docs/usage/security
/// and twilio-python's validator tests), with empty and repeated parameters and the port rules.
@Suite struct TwilioSignatureTests {
    static let token = "12345"
    static let url = "https://mycompany.com/myapp.php?foo=1&bar=2"

    static func call(_ number: String) -> [TwilioParameter] {
        [TwilioParameter("CallSid", "CA1234567890ABCDE"), TwilioParameter("Caller", number), TwilioParameter("Digits", "1234"),
         TwilioParameter("From", number), TwilioParameter("To", "+18005551212")]
    }

    static func valid(_ header: String, url: String, _ parameters: [TwilioParameter], token: String = token) -> Bool {
        (try? TwilioSignatureVerifier(authToken: token).verify(header: header, url: url, parameters: parameters)) != nil
    }

    @Test func theDocumentedExampleSignsTheDocumentedString() {
        let text = TwilioSignature.signedText(url: Self.url, parameters: Self.call("+14158675310").reversed())
        #expect(String(decoding: text, as: UTF8.self)
                == "https://mycompany.com/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+14158675310Digits1234From+14158675310To+18005551212")
        #expect(TwilioSignature.header(authToken: Self.token, url: Self.url, parameters: Self.call("+14158675310")) == "GvWf1cFY/Q7PnoempGyD5oXAezc=")
        #expect(Self.valid("GvWf1cFY/Q7PnoempGyD5oXAezc=", url: Self.url, Self.call("+14158675310")))
        #expect(Self.valid("0/KCTR6DLpKmkAf8muzZqo1nDgQ=", url: Self.url, Self.call("+12349013030")))
        #expect(Self.valid("RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: Self.url, Self.call("+14158675309")))
    }

    @Test func aDefaultPortIsAcceptedWithAndWithout() {
        let p = Self.call("+14158675309")
        let noPort = "RSOYDt4T1cUTdK1PDd93/VVr8B8="  // over https://mycompany.com/…
        let withPort = "kvajT1Ptam85bY51eRf/AJRuM3w="  // over https://mycompany.com:443/…
        #expect(TwilioSignature.header(authToken: Self.token, url: "https://mycompany.com:443/myapp.php?foo=1&bar=2", parameters: p) == withPort)
        // Configured without a port: Twilio may have signed either spelling.
        #expect(Self.valid(noPort, url: Self.url, p))
        #expect(Self.valid(withPort, url: Self.url, p))
        // Configured with :443: the same.
        #expect(Self.valid(noPort, url: "https://mycompany.com:443/myapp.php?foo=1&bar=2", p))
        #expect(Self.valid(withPort, url: "https://mycompany.com:443/myapp.php?foo=1&bar=2", p))
        // http and :80.
        let http80 = "0ZXoZLH/DfblKGATFgpif+LLRf4="
        #expect(Self.valid(http80, url: "http://mycompany.com/myapp.php?foo=1&bar=2", p))
        #expect(Self.valid(http80, url: "http://mycompany.com:80/myapp.php?foo=1&bar=2", p))
        // :443 is not http's default port, nor :80 https's.
        #expect(!Self.valid(withPort, url: "http://mycompany.com/myapp.php?foo=1&bar=2", p))
        #expect(!Self.valid(http80, url: Self.url, p))
    }

    @Test func aNonDefaultPortIsPartOfTheURL() {
        let p = Self.call("+14158675309")
        let port1234 = "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
        #expect(Self.valid(port1234, url: "http://mycompany.com:1234/myapp.php?foo=1&bar=2", p))
        #expect(!Self.valid(port1234, url: "http://mycompany.com/myapp.php?foo=1&bar=2", p))
        #expect(!Self.valid(port1234, url: "http://mycompany.com:80/myapp.php?foo=1&bar=2", p))
        #expect(TwilioSignature.urlVariants("http://mycompany.com:1234/x") == ["http://mycompany.com:1234/x"])
    }

    @Test func urlVariantsKeepPathQueryAndIPv6AndDropTheFragment() {
        #expect(TwilioSignature.urlVariants("https://h.example/webhooks/sms?channel_id=1#rc=3")
                == ["https://h.example/webhooks/sms?channel_id=1", "https://h.example:443/webhooks/sms?channel_id=1"])
        #expect(TwilioSignature.urlVariants("https://h.example:443?x=1") == ["https://h.example:443?x=1", "https://h.example?x=1"])
        #expect(TwilioSignature.urlVariants("https://[::1]:443/a") == ["https://[::1]:443/a", "https://[::1]/a"])
        #expect(TwilioSignature.urlVariants("https://[::1]/a") == ["https://[::1]/a", "https://[::1]:443/a"])
        #expect(TwilioSignature.urlVariants("HTTP://H.example/a") == ["HTTP://H.example/a", "HTTP://H.example:80/a"])
        #expect(TwilioSignature.urlVariants("ftp://h/a") == ["ftp://h/a"])
    }

    @Test func repeatedNamesContributeEveryValueSorted() {
        let p = [TwilioParameter("Sid", "CA123"), TwilioParameter("SidAccount", "AC123"), TwilioParameter("Digits", "5678"),
                 TwilioParameter("Digits", "1234")]
        #expect(String(decoding: TwilioSignature.signedText(url: Self.url, parameters: p), as: UTF8.self)
                == Self.url + "Digits1234Digits5678SidCA123SidAccountAC123")
        #expect(Self.valid("IK+Dwps556ElfBT0I3Rgjkr1wJU=", url: Self.url, p))
        // Dropping one of the values breaks it.
        #expect(!Self.valid("IK+Dwps556ElfBT0I3Rgjkr1wJU=", url: Self.url, Array(p.dropLast())))
    }

    @Test func emptyParametersStillAddTheirName() {
        let p = [TwilioParameter("Body", "Hi"), TwilioParameter("FromZip", ""), TwilioParameter("ToState", "")]
        #expect(String(decoding: TwilioSignature.signedText(url: "https://h/x", parameters: p), as: UTF8.self) == "https://h/xBodyHiFromZipToState")
        let header = TwilioStandIn.sign(url: "https://h/x", parameters: p.map { ($0.name, $0.value) }, authToken: "tok")
        #expect(Self.valid(header, url: "https://h/x", p, token: "tok"))
        // A validator that skipped empty parameters would accept this; Twilio's rule does not.
        #expect(!Self.valid(header, url: "https://h/x", p.filter { !$0.value.isEmpty }, token: "tok"))
    }

    @Test func sortingIsByBytesNotByLocale() {
        // "Z" (0x5A) sorts before "a" (0x61); "é" (0xC3 0xA9) after every ASCII letter.
        let p = [TwilioParameter("a", "1"), TwilioParameter("Z", "2"), TwilioParameter("é", "3"), TwilioParameter("e", "4")]
        #expect(String(decoding: TwilioSignature.signedText(url: "u", parameters: p), as: UTF8.self) == "uZ2a1e4é3")
        let header = TwilioStandIn.sign(url: "u", parameters: p.map { ($0.name, $0.value) }, authToken: "t")
        #expect(Self.valid(header, url: "u", p, token: "t"))
    }

    @Test func forgedMissingAndMalformedSignaturesAreRefusedWithTheirReason() {
        let p = Self.call("+14158675310")
        let good = "GvWf1cFY/Q7PnoempGyD5oXAezc="
        let verifier = TwilioSignatureVerifier(authToken: Self.token)
        #expect(throws: TwilioSignatureError.missingHeader) { try verifier.verify(header: nil, url: Self.url, parameters: p) }
        #expect(throws: TwilioSignatureError.missingHeader) { try verifier.verify(header: "  ", url: Self.url, parameters: p) }
        #expect(throws: TwilioSignatureError.malformed) { try verifier.verify(header: "not base64!", url: Self.url, parameters: p) }
        #expect(throws: TwilioSignatureError.malformed) {
            try verifier.verify(header: Data(repeating: 1, count: 19).base64EncodedString(), url: Self.url, parameters: p)
        }
        #expect(throws: TwilioSignatureError.malformed) { try verifier.verify(header: String(repeating: "A", count: 200), url: Self.url, parameters: p) }
        // Another token, another value, one more parameter, another URL: all mismatches.
        #expect(throws: TwilioSignatureError.mismatch) {
            try TwilioSignatureVerifier(authToken: "54321").verify(header: good, url: Self.url, parameters: p)
        }
        var changed = p
        changed[2].value = "9999"
        #expect(throws: TwilioSignatureError.mismatch) { try verifier.verify(header: good, url: Self.url, parameters: changed) }
        #expect(throws: TwilioSignatureError.mismatch) {
            try verifier.verify(header: good, url: Self.url, parameters: p + [TwilioParameter("Extra", "")])
        }
        #expect(throws: TwilioSignatureError.mismatch) {
            try verifier.verify(header: good, url: "https://mycompany.com/myapp.php?foo=1&bar=3", parameters: p)
        }
        // White space around a good header is fine.
        #expect(Self.valid(" \(good) ", url: Self.url, p))
        #expect(TwilioSignatureError.mismatch.code == "invalid_signature")
        #expect(TwilioSignatureError.missingHeader.code == "missing_signature")
    }

    @Test func theStandInSignsLikeTheDocumentedVector() {
        // The test support's signer is independent of CommHub's; both must meet the documented value.
        let p = Self.call("+14158675310").map { ($0.name, $0.value) }
        #expect(TwilioStandIn.sign(url: Self.url, parameters: p, authToken: Self.token) == "GvWf1cFY/Q7PnoempGyD5oXAezc=")
    }
}
