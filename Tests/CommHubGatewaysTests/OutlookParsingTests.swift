import CommHubDomain
import CommHubGateways
import CommHubWire
import Foundation
import Testing

/// The pure parts of the Outlook gateway: the validation handshake, the
/// notification parser and its `clientState` check, the message
/// normaliser, delta pages, the subscription planner and calendar markers.
@Suite struct OutlookParsingTests {
    // MARK: Validation handshake

    @Test func theValidationTokenIsURLDecoded() {
        let query = "validationToken=Validation%3a+Testing+client+application+reachability+for+subscription+Request-Id%3a+e5ba5ed0-7e5f"
        #expect(GraphValidation.token(fromQuery: query)
                == "Validation: Testing client application reachability for subscription Request-Id: e5ba5ed0-7e5f")
        #expect(GraphValidation.token(fromQuery: "channel=1&validationToken=a%2Bb%20c%26d") == "a+b c&d")
        #expect(GraphValidation.token(fromQuery: "validationToken=") == "")
        #expect(GraphValidation.token(fromQuery: "x=1") == nil)
        #expect(GraphValidation.token(fromQuery: "validationToken=%ZZ") == nil)  // not a percent escape
        #expect(GraphValidation.token(fromQuery: "validationToken=%FF%FE") == nil)  // not UTF-8
        #expect(GraphValidation.token(fromQuery: "validationToken=" + String(repeating: "a", count: GraphValidation.maxTokenBytes + 1)) == nil)
    }

    // MARK: Notifications

    static let change = #"""
    {"value":[{"id":"lsgTZMr9KwAAA","subscriptionId":"7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
      "subscriptionExpirationDateTime":"2025-03-07T10:00:00+00:00","clientState":"b1f4c2e8","changeType":"created",
      "resource":"Users/5f2c/Messages/AAMkAGUwNjQ4ZjIxAAA=","tenantId":"84bd8158",
      "resourceData":{"@odata.type":"#Microsoft.Graph.Message","@odata.id":"Users/5f2c/Messages/AAMkAGUwNjQ4ZjIxAAA=",
        "@odata.etag":"W/\"CQAAABYAAADkrWGo7bouTKlsgTZMr9KwAAAUWRHf\"","id":"AAMkAGUwNjQ4ZjIxAAA="}},
     {"subscriptionId":"7f105c7d-2dc5-4530-97cd-4e7ae6534c07","subscriptionExpirationDateTime":"2025-03-07T10:00:00+00:00",
      "tenantId":"84bd8158","clientState":"b1f4c2e8","lifecycleEvent":"missed"}]}
    """#

    @Test func aBatchHoldsChangesAndLifecycleEventsAndTheIdComesFromResourceData() throws {
        let batch = try GraphNotificationParser.parse(Data(Self.change.utf8))
        #expect(batch.changes == [GraphChangeNotification(subscriptionID: "7f105c7d-2dc5-4530-97cd-4e7ae6534c07", clientState: "b1f4c2e8",
                                                          changeType: "created", resourceID: "AAMkAGUwNjQ4ZjIxAAA=",
                                                          resourceType: "#Microsoft.Graph.Message")])
        #expect(batch.lifecycle.map(\.event) == [.missed])
        for (event, expected) in [("reauthorizationRequired", GraphLifecycleEvent.reauthorizationRequired),
                                  ("subscriptionRemoved", .subscriptionRemoved), ("somethingNew", .other("somethingNew"))] {
            let b = try GraphNotificationParser.parse(Data(#"{"value":[{"subscriptionId":"s","lifecycleEvent":"\#(event)"}]}"#.utf8))
            #expect(b.lifecycle.first?.event == expected)
        }
    }

    @Test func malformedBatchesAreRefusedNamingTheField() {
        let cases: [(String, String)] = [
            ("not json", "body is not JSON"),
            (#"{"values":[]}"#, "value: an array is required"),
            (#"{"value":[1]}"#, "value[0]: an object is required"),
            (#"{"value":[{"changeType":"created","resourceData":{"id":"x"}}]}"#, "value[0].subscriptionId: a string is required"),
            (#"{"value":[{"subscriptionId":"s","changeType":"created"}]}"#, "value[0].resourceData: an object is required"),
            (#"{"value":[{"subscriptionId":"s","changeType":"created","resourceData":{}}]}"#, "value[0].resourceData.id"),
            (#"{"value":[{"subscriptionId":"s","clientState":7,"lifecycleEvent":"missed"}]}"#, "value[0].clientState: must be a string"),
        ]
        for (body, expected) in cases {
            #expect(throws: GraphNotificationError.self) { try GraphNotificationParser.parse(Data(body.utf8)) }
            do { _ = try GraphNotificationParser.parse(Data(body.utf8)) } catch { #expect(error.description.hasPrefix(expected), "\(body): \(error)") }
        }
        let many = #"{"value":["# + Array(repeating: #"{"subscriptionId":"s","lifecycleEvent":"missed"}"#,
                                              count: GraphNotificationParser.maxNotifications + 1).joined(separator: ",") + "]}"
        #expect(throws: GraphNotificationError.self) { try GraphNotificationParser.parse(Data(many.utf8)) }
    }

    @Test func clientStateMatchesOnlyTheSameSecret() {
        let secret = ClientState.make()
        #expect(secret.count == 43)
        #expect(ClientState.make() != secret)
        #expect(ClientState.matches(secret, secret))
        #expect(!ClientState.matches(secret + "x", secret))
        #expect(!ClientState.matches(String(secret.dropLast()), secret))
        #expect(!ClientState.matches(nil, secret))
        #expect(!ClientState.matches("", ""))  // an empty secret authenticates nothing
        var flipped = Array(secret.utf8)
        flipped[10] ^= 1
        #expect(!ClientState.matches(String(decoding: flipped, as: UTF8.self), secret))
    }

    // MARK: Messages

    static func graphMessage(_ extra: [String: JSONValue] = [:]) throws -> GraphMessage {
        var o: [String: JSONValue] = [
            "id": .string("AAMkAGUwNjQ4ZjIxAAA="), "conversationId": .string("AAQkAGUwNjQ4ZjIxLTQ3Y2Y="),
            "internetMessageId": .string("<CAFk7x1qV3pQ@mail.gmail.com>"),
            "internetMessageHeaders": .array([
                .object(["name": .string("Message-ID"), "value": .string("<CAFk7x1qV3pQ@mail.gmail.com>")]),
                .object(["name": .string("In-Reply-To"), "value": .string("<commhub-3f9a1c@contoso.com>")]),
                .object(["name": .string("References"), "value": .string("<root@contoso.com>\r\n <commhub-3f9a1c@contoso.com>, <x y>")]),
            ]),
            "subject": .string("Re: Your order 1042"), "bodyPreview": .string("Thanks"),
            "body": .object(["contentType": .string("html"), "content": .string("<p>Thanks, <b>that works</b>.</p><script>x()</script>")]),
            "from": .object(["emailAddress": .object(["name": .string("Jane Customer"), "address": .string("jane@example.org")])]),
            "toRecipients": .array([.object(["emailAddress": .object(["name": .string("Support"), "address": .string("support@contoso.com")])])]),
            "receivedDateTime": .string("2025-03-04T12:17:03Z"), "sentDateTime": .string("2025-03-04T12:16:58Z"),
            "isRead": .bool(false), "hasAttachments": .bool(false),
        ]
        for (k, v) in extra { o[k] = v }
        return try GraphMessage(json: .object(o))
    }

    @Test func aMailBecomesAnInboundMessageWithTheMatchingReferencesOfRuleOne() throws {
        let m = try Self.graphMessage()
        let channel = ChannelID()
        let inbound = OutlookNormaliser.inbound(m, channelID: channel, folder: "Inbox", attachments: [], inlineImages: [:], now: Date())
        #expect(inbound.externalMessageID == "AAMkAGUwNjQ4ZjIxAAA=")
        #expect(inbound.threadReference == ExternalReference(.outlookConversation, "AAQkAGUwNjQ4ZjIxLTQ3Y2Y="))
        #expect(inbound.internetMessageID == "<CAFk7x1qV3pQ@mail.gmail.com>")
        // In-Reply-To first, then References newest first, once each; `<x y>` is no Message-ID.
        #expect(inbound.inReplyTo == ["<commhub-3f9a1c@contoso.com>", "<root@contoso.com>"])
        #expect(inbound.senderExternal == ExternalParty(name: "Jane Customer", email: "jane@example.org"))
        #expect(inbound.messageContent == "Thanks, that works.")
        #expect(inbound.messageHtml == "<p>Thanks, <b>that works</b>.</p>")
        #expect(inbound.receivedAt == Date(iso8601: "2025-03-04T12:17:03Z"))
        #expect(inbound.metadata["to"] == .array([.string("support@contoso.com")]))
        // As an ingest item, and back through the contract's decoder.
        let json = try OutlookNormaliser.itemJSON(inbound)
        let back = try WireJSON.decode(IngestBatch.self, from: try JSONEncoder().encode(JSONValue.object(["events": .array([json])])),
                                       limits: .ingestFrame)
        guard case .message(let decoded)? = back.events.first else { Issue.record("not a message"); return }
        #expect(decoded == inbound)
    }

    @Test func replyToNamesTheCustomerWhenAFormSendsOnTheirBehalf() throws {
        let m = try Self.graphMessage(["replyTo": .array([.object(["emailAddress": .object(["address": .string("klant@example.nl")])])]),
                                       "from": .object(["emailAddress": .object(["name": .string("Webshop formulier"),
                                                                                 "address": .string("noreply@shop.example")])])])
        let inbound = OutlookNormaliser.inbound(m, channelID: ChannelID(), folder: "Inbox", attachments: [], inlineImages: [:], now: Date())
        #expect(inbound.senderExternal == ExternalParty(name: "Webshop formulier", email: "klant@example.nl"))
    }

    @Test func mailCommHubSentIsRecognisedByItsHeaderOrItsMessageID() throws {
        let id = MessageID()
        let byHeader = try Self.graphMessage(["internetMessageHeaders": .array([
            .object(["name": .string("X-CommHub-Message-Id"), "value": .string(id.description)])])])
        #expect(byHeader.commhubMessageID == id)
        let own = OutlookOutbound.internetMessageID(for: id, mailbox: "support@chargecars.nl")
        #expect(own == "<commhub.\(id)@chargecars.nl>")
        let byMessageID = try Self.graphMessage(["internetMessageId": .string(own), "internetMessageHeaders": .array([])])
        #expect(byMessageID.commhubMessageID == id)
        #expect(try Self.graphMessage().commhubMessageID == nil)
        let sent = OutlookNormaliser.outgoing(byHeader, channelID: ChannelID(), folder: "Sent Items", attachments: [], inlineImages: [:],
                                              now: Date())
        #expect(sent.commhubMessageID == id)
        #expect(sent.recipient == ExternalParty(name: "Support", email: "support@contoso.com"))
        #expect(sent.message.receivedAt == Date(iso8601: "2025-03-04T12:16:58Z"))  // sent, not received
        let json = try OutlookNormaliser.itemJSON(sent)
        let back = try WireJSON.decode(IngestBatch.self, from: try JSONEncoder().encode(JSONValue.object(["events": .array([json])])),
                                       limits: .ingestFrame)
        guard case .mailbox(.outgoing(let decoded))? = back.events.first else { Issue.record("not outgoing mail"); return }
        #expect(decoded == sent)
    }

    @Test func aMessageWithoutAnIdIsRefusedAndHugeBodiesAreBounded() throws {
        #expect(throws: OutlookMessageError.self) { try GraphMessage(json: .object(["subject": .string("x")])) }
        let huge = String(repeating: "<p>woord</p>", count: 200_000)
        let m = try Self.graphMessage(["body": .object(["contentType": .string("html"), "content": .string(huge)])])
        let body = OutlookNormaliser.body(m, inlineImages: [:])
        #expect(body.text.utf8.count + (body.html?.utf8.count ?? 0) <= OutlookNormaliser.maxStoredBodyBytes)
        #expect(body.truncated)
    }

    // MARK: Delta pages

    @Test func aDeltaPageSeparatesItemsFromRemovalsAndNeedsExactlyOneLink() throws {
        let page = try DeltaPage.parse(.object([
            "@odata.nextLink": .string("https://graph.microsoft.com/v1.0/users/x/mailFolders/inbox/messages/delta?$skiptoken=Gwc"),
            "value": .array([.object(["id": .string("A"), "subject": .string("s")]),
                             .object(["id": .string("B"), "@removed": .object(["reason": .string("deleted")])]),
                             .object(["subject": .string("no id")])]),
        ]))
        #expect(page.items.count == 1)
        #expect(page.removed.map(\.id) == ["B"])
        #expect(page.removed.first?.reason == "deleted")
        #expect(page.deltaLink == nil)
        #expect(throws: OutlookMessageError.self) { try DeltaPage.parse(.object(["value": .array([])])) }
        #expect(throws: OutlookMessageError.self) {
            try DeltaPage.parse(.object(["value": .array([]), "@odata.nextLink": .string("a"), "@odata.deltaLink": .string("b")]))
        }
    }

    // MARK: Subscriptions

    @Test func thePlannerCreatesRenewsAndDeletes() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let inbox = SubscriptionTarget.folder(.inbox, mailbox: "support@chargecars.nl")
        let sent = SubscriptionTarget.folder(.sentItems, mailbox: "support@chargecars.nl")
        #expect(inbox.resource == "users/support@chargecars.nl/mailFolders('inbox')/messages")
        #expect(inbox.changeType == "created,updated")
        #expect(sent.changeType == "created")
        let url = "https://hub.example/webhooks/outlook", life = "https://hub.example/webhooks/outlook/lifecycle"
        func sub(_ id: String, _ t: SubscriptionTarget, expiresIn hours: Double, url: String = url) -> StoredSubscription {
            StoredSubscription(id: id, target: t.key, resource: t.resource, changeType: t.changeType,
                               expiresAt: now.addingTimeInterval(hours * 3600), notificationURL: url, lifecycleURL: life)
        }
        // Nothing yet: one per target.
        #expect(SubscriptionPlanner.plan(targets: [inbox, sent], existing: [], notificationURL: url, lifecycleURL: life, now: now)
                == [.create(inbox), .create(sent)])
        // Fresh ones are kept; one with less than half its life left is renewed.
        let fresh = sub("a", inbox, expiresIn: 60), old = sub("b", sent, expiresIn: 20)
        #expect(SubscriptionPlanner.plan(targets: [inbox, sent], existing: [fresh, old], notificationURL: url, lifecycleURL: life, now: now)
                == [.renew(old)])
        // A second one for a target, one for a folder no longer synchronised, one with an old URL, an expired one: deleted.
        let extra = sub("c", inbox, expiresIn: 50), moved = sub("d", sent, expiresIn: 60, url: "https://old.example/webhooks/outlook")
        let expired = sub("e", sent, expiresIn: -1)
        let plan = SubscriptionPlanner.plan(targets: [inbox], existing: [fresh, extra, moved, expired], notificationURL: url,
                                            lifecycleURL: life, now: now)
        #expect(Set(plan) == [.delete(extra), .delete(moved), .delete(expired)])
        // The lifetime stays under Outlook's documented maximum (4,230 minutes) and renewal comes well before the end.
        #expect(SubscriptionPlanner.lifetimeMinutes < 4_230)
        #expect(SubscriptionPlanner.renewWhenLeft >= 24 * 3600)
    }

    // MARK: Calendar

    @Test func calendarMarkersMakeFollowUpsAndTheirAbsenceCancels() throws {
        var channel = GatewayChannelSettings(id: ChannelID(), channelType: .emailOutlook, channelName: "mail", isActive: true, businessEntity: .chargecars,
                                             configuration: ["calendar": .string("planning@chargecars.nl")], secrets: [:])
        let rule = try #require(CalendarFollowUpRule(channel: channel))
        #expect(rule.user == "planning@chargecars.nl")
        func event(_ subject: String, categories: [String] = [], cancelled: Bool = false) -> JSONValue {
            .object(["id": .string("EVT1"), "subject": .string(subject), "categories": .array(categories.map(JSONValue.string)),
                     "isCancelled": .bool(cancelled), "bodyPreview": .string("Bel over order #12345"),
                     "start": .object(["dateTime": .string("2026-12-01T09:30:00.0000000"), "timeZone": .string("UTC")]),
                     "organizer": .object(["emailAddress": .object(["address": .string("sanne@chargecars.nl")])]),
                     "attendees": .array([.object(["emailAddress": .object(["address": .string("jan@klant.nl")])])])])
        }
        let f = try #require(rule.followUp(event("Follow-up: Jan terugbellen"), channelID: channel.id))
        #expect(f.title == "Jan terugbellen")
        #expect(!f.cancelled)
        #expect(f.dueAt == Date(iso8601: "2026-12-01T09:30:00Z"))
        #expect(f.organizerEmail == "sanne@chargecars.nl")
        #expect(f.attendeeEmails == ["jan@klant.nl"])
        #expect(rule.followUp(event("Afspraak", categories: ["commhub FOLLOW-UP"]), channelID: channel.id)?.cancelled == false)
        #expect(rule.followUp(event("Lunch"), channelID: channel.id)?.cancelled == true)
        #expect(rule.followUp(event("Follow-up: x", cancelled: true), channelID: channel.id)?.cancelled == true)
        channel.configuration["follow_up_subject_prefixes"] = .array([.string("TODO:")])
        channel.configuration["follow_up_categories"] = .array([])
        let custom = try #require(CalendarFollowUpRule(channel: channel))
        #expect(custom.followUp(event("Follow-up: x"), channelID: channel.id)?.cancelled == true)
        #expect(custom.followUp(event("todo: bellen"), channelID: channel.id)?.title == "bellen")
        channel.configuration["calendar"] = .string(" ")
        #expect(CalendarFollowUpRule(channel: channel) == nil)
    }

    @Test func aFollowUpTaskIdIsStablePerChannelAndEvent() {
        let a = ChannelID(), b = ChannelID()
        #expect(CalendarFollowUp.taskID(channel: a, event: "E1") == CalendarFollowUp.taskID(channel: a, event: "E1"))
        #expect(CalendarFollowUp.taskID(channel: a, event: "E1") != CalendarFollowUp.taskID(channel: a, event: "E2"))
        #expect(CalendarFollowUp.taskID(channel: a, event: "E1") != CalendarFollowUp.taskID(channel: b, event: "E1"))
    }
}
