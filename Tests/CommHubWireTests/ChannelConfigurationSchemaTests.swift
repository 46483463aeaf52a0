import CommHubDomain
import CommHubWire
import Testing

@Suite("Channel configuration schema")
struct ChannelConfigurationSchemaTests {
    typealias Schema = ChannelConfigurationSchema

    @Test func declaredSecretsAreSplitOffAndPlainKeysKept() throws {
        let split = try Schema.split(["tenant_id": .string("t"), "client_secret": .string("s3cret"), "client_state": .null,
                                      "sync_folders": .array([.string("Inbox")]), "auto_create_threads": .bool(true),
                                      "graph_base_url": .string("http://127.0.0.1:9/graph"), "team_note": .string("mail")],
                                     for: .emailOutlook)
        let removed: String? = nil
        let expected: [String: String?] = ["client_secret": "s3cret", "client_state": removed]
        #expect(split.secrets == expected)
        #expect(split.plain.keys.sorted() == ["auto_create_threads", "graph_base_url", "sync_folders", "team_note", "tenant_id"])
        for type in ChannelType.allCases {
            let secrets = Schema.keys(of: type).filter { $0.kind == .secret }.map(\.name)
            for name in secrets { #expect(Schema.looksSecret(name), "\(type): \(name)") }
        }
        #expect(Schema.keys(of: .whatsappBusiness).filter { $0.kind == .secret }.map(\.name) == ["access_token", "app_secret", "verify_token"])
        #expect(Schema.keys(of: .sms).filter { $0.kind == .secret }.map(\.name) == ["auth_token"])
    }

    @Test func secretLookingNamesAreRecognisedWhateverTheirSpelling() {
        for name in ["token", "Authorization", "bearer", "key", "api_key", "apiKey", "X-Api-Key", "password", "Passwd", "db_pass",
                     "credentials", "privateKey", "private_key", "clientSecret", "refresh-token", "hmac", "session_id", "auth"] {
            #expect(Schema.looksSecret(name), "\(name)")
        }
        for name in ["mailbox", "phone_number_id", "keyword", "monkey", "email_signature", "business_hours", "account_sid",
                     "sync_folders", "from", "description", "shipping_region", "calendar"] {
            #expect(!Schema.looksSecret(name), "\(name)")
        }
    }

    @Test func undeclaredSecretsCredentialURLsAndAuthorizationValuesAreRefusedAtAnyDepth() {
        let refused: [(ChannelType, [String: JSONValue], String)] = [
            (.emailOutlook, ["credentials": .object(["token": .string("x")])], "credentials"),
            (.emailOutlook, ["options": .object(["nested": .array([.object(["token": .string("x")])])])], "options.nested[0].token"),
            (.sms, ["api_key": .string("x")], "api_key"),
            (.sms, ["note": .string("https://u:p@example.com")], "note"),
            (.sms, ["webhook_url": .string("https://u@example.com/hook")], "webhook_url"),
            (.whatsappBusiness, ["auto_responses": .array([.string("Basic dXNlcjpwYXNz")])], "auto_responses[0]"),
            (.internalTask, ["client_secret": .string("x")], "client_secret"),
        ]
        for (type, configuration, path) in refused {
            do {
                _ = try Schema.split(configuration, for: type)
                Issue.record("\(configuration) accepted for \(type)")
            } catch {
                #expect(error.path == path, "\(error)")
                #expect(error.description.hasPrefix("configuration.\(path) "), "\(error)")
            }
        }
    }

    @Test func refusalsListTheAllowedKeys() {
        do {
            _ = try Schema.split(["password": .string("x")], for: .phoneCall)
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains("allowed keys: phone_number, description"), "\(error)")
        }
    }
}
