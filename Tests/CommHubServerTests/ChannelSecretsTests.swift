import CommHubDomain
@testable import CommHubServer
import Foundation
import Testing

/// Channel secrets over the API: decided by the declared schema of each
/// channel type at any depth, never stored in clear or returned; agents
/// and team leaders see no channel configuration.
@Suite("Channel secrets") struct ChannelSecretsTests {
    @Test func secretsAreDecidedByTheDeclaredSchemaAtAnyDepth() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            func channel(_ type: String, _ configuration: String) -> String {
                #"{"channel_type":"\#(type)","channel_name":"C \#(UUID().uuidString.prefix(6))","configuration":\#(configuration)}"#
            }
            let refused: [(String, String, [String])] = [
                ("email_outlook", #"{"credentials":{"token":"t0p-s3cret"}}"#, ["configuration.credentials", "client_secret (secret)"]),
                ("email_outlook", #"{"settings":{"token":"t0p-s3cret"}}"#, ["configuration.settings.token", "client_secret (secret)"]),
                ("email_outlook", #"{"Authorization":"Bearer abc"}"#, ["configuration.Authorization"]),
                ("whatsapp_business", #"{"bearer":"abc"}"#, ["configuration.bearer", "access_token (secret)"]),
                ("sms", #"{"key":"abc"}"#, ["configuration.key", "auth_token (secret)"]),
                ("sms", #"{"api_key":"abc"}"#, ["configuration.api_key"]),
                ("sms", #"{"api_base_url":"https://user:pass@sms.example.com/v1"}"#, ["configuration.api_base_url", "user name or password"]),
                ("email_outlook", #"{"calendar":{"feed":"https://me:pw@cal.example.com/ics"}}"#, ["configuration.calendar.feed", "user name or password"]),
                ("whatsapp_business", #"{"auto_responses":[{"text":"hoi","headers":{"X-Api-Key":"k"}}]}"#, ["X-Api-Key"]),
                ("whatsapp_business", #"{"notes":"Bearer eyJhbGciOi"}"#, ["configuration.notes", "Authorization"]),
                ("internal_comment", #"{"password":"x"}"#, ["configuration.password", "description"]),
                ("phone_call", #"{"sip":{"passwd":"x"}}"#, ["configuration.sip.passwd"]),
                ("email_outlook", #"{"client_secret":42}"#, ["configuration.client_secret", "string"]),
                ("email_outlook", #"{"auto_create_threads":"yes"}"#, ["configuration.auto_create_threads", "true or false"]),
                ("email_outlook", #"{"sync_folders":"Inbox"}"#, ["configuration.sync_folders", "list of strings"]),
                ("email_outlook", #"{"graph_base_url":"ftp://graph"}"#, ["configuration.graph_base_url", "http(s)"]),
            ]
            let before = live.env.lastSeq
            for (type, configuration, mentions) in refused {
                let r = try await http.post("/api/communication/channels", admin, channel(type, configuration))
                #expect(r.status == 422, "\(configuration): \(r)")
                for m in mentions { #expect(r.errorMessage?.contains(m) == true, "\(configuration): should mention \(m): \(r)") }
                #expect(r.errorMessage?.contains("t0p-s3cret") != true, "a refusal never echoes a secret")
            }
            #expect(live.env.lastSeq == before, "nothing stored")

            // Declared keys: secrets sealed (only their names shown), plain keys kept and typed.
            let sms = try created(await http.post("/api/communication/channels", admin, channel("sms", #"""
                {"account_sid":"AC123","auth_token":"sms-auth-token-value","from":"+3197010000000",
                 "webhook_url":"https://hub.example.com/webhooks/sms","api_base_url":"http://127.0.0.1:9/sms","region":"eu"}
                """#)))
            #expect(sms.json["secrets_set"]?.array == [.string("auth_token")])
            #expect(sms.json["configuration"]?.objectValue?.keys.sorted() == ["account_sid", "api_base_url", "from", "region", "webhook_url"])
            #expect(!sms.text.contains("sms-auth-token-value"))

            // Agents and team leaders see the channel list without configuration; the others see configuration, never secrets.
            for role in Role.allCases {
                let list = try ok(await http.get("/api/communication/channels", w.token(role)))
                let one = try ok(await http.get("/api/communication/channels/\(sms.id)", w.token(role)))
                #expect(!list.text.contains("sms-auth-token-value") && !one.text.contains("sms-auth-token-value"))
                #expect(!list.text.contains("email-client-secret-value"))
                let seesConfiguration = role != .agent && role != .teamLeader
                #expect((one.json["configuration"] != nil) == seesConfiguration, "\(role): \(one)")
                #expect((one.json["secrets_set"] != nil) == seesConfiguration, "\(role): \(one)")
                #expect(list.items.allSatisfy { ($0["configuration"] != nil) == seesConfiguration }, "\(role)")
                #expect(one.json["channel_type"]?.string == "sms" && one.json["channel_name"] != nil && one.json["is_active"]?.bool == true)
                #expect(Set(list.ids) == [w.emailChannel, w.whatsappChannel, sms.id])
            }
        }
    }
}
