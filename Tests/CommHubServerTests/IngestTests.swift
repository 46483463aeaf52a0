import CommHubDomain
import Foundation
import Testing

@Suite("Ingest") struct IngestTests {
    @Test func sameEventThreeTimesIsOneMessage() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let event = World.inbound(channel: w.emailChannel, externalID: "AAMkAGI2-0001", subject: "Offerte laadpaal",
                                      text: "Graag een offerte voor twee laadpalen.")
            // Three times in one batch.
            let first = try ok(await http.post("/api/ingest", w.gatewayToken, #"{"events":[\#(event),\#(event),\#(event)]}"#)).json
            let results = try #require(first["results"]?.array)
            #expect(results.map { $0["status"]?.string ?? "" } == ["created", "duplicate", "duplicate"])
            let thread = try #require(results[0]["thread_id"]?.string)
            let message = try #require(results[0]["message_id"]?.string)
            let seq = try #require(results[0]["seq"]?.int)
            for r in results {
                #expect(r["thread_id"]?.string == thread && r["message_id"]?.string == message && r["seq"]?.int == seq, "\(r)")
            }
            #expect(seq <= Int(live.env.lastSeq))
            // And again, across batches: nothing changes.
            let fingerprint = live.env.lastSeq
            for _ in 0..<2 {
                let again = try ok(await http.post("/api/ingest", w.gatewayToken, #"{"events":[\#(event)]}"#)).json["results"]![0]!
                #expect(again["status"]?.string == "duplicate")
                #expect(again["thread_id"]?.string == thread && again["message_id"]?.string == message && again["seq"]?.int == seq)
            }
            #expect(live.env.lastSeq == fingerprint, "a duplicate writes nothing")
            let detail = try ok(await http.get("/api/communication/threads/\(thread)", w.token(.agent))).json
            #expect(detail["messages"]?.array?.count == 1)
            #expect(detail["message_count"]?.int == 1)
            #expect(detail["assigned_team_id"]?.string == w.teamA, "routed by the channel's default_assignee")
            #expect(detail["thread_subject"]?.string == "Offerte laadpaal")
            #expect(detail["channel_type"]?.string == "email_outlook")
            #expect(detail["business_entity"]?.string == "chargecars")

            // The same external id on another channel is another message.
            let other = try await w.ingest(http, channel: w.whatsappChannel, externalID: "AAMkAGI2-0001")
            #expect(other["status"]?.string == "created")
            #expect(other["message_id"]?.string != message)

            // Delivery status updates through ingest change the message (and are not duplicates of it).
            let receipt = #"{"type":"delivery_status","channel_id":"\#(w.emailChannel)","external_message_id":"AAMkAGI2-0001","delivery_status":"read","at":"2026-11-25T10:05:00Z"}"#
            let upd = try ok(await http.post("/api/ingest", w.gatewayToken, #"{"events":[\#(receipt)]}"#)).json["results"]![0]!
            #expect(upd["status"]?.string == "updated")
            #expect(upd["seq"]?.int ?? 0 > seq)
            let after = try ok(await http.get("/api/communication/messages?thread_id=\(thread)", w.token(.agent))).items
            #expect(after.count == 1)
            #expect(after[0]["delivery_status"]?.string == "read")
        }
    }

    @Test func batchesWithSomeBadItems() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let good = World.inbound(channel: w.emailChannel, externalID: "ok-1", subject: "Goed")
            let unknownChannel = World.inbound(channel: UUID().uuidString, externalID: "x-1")
            let badReceipt = #"{"type":"delivery_status","channel_id":"\#(w.emailChannel)","external_message_id":"never-seen","delivery_status":"failed"}"#
            let r = try ok(await http.post("/api/ingest", w.gatewayToken, #"{"events":[\#(unknownChannel),\#(good),\#(badReceipt)]}"#)).json
            let results = try #require(r["results"]?.array)
            // A status report for a message CommHub does not know is ignored (no reason for the provider to retry).
            #expect(results.map { $0["status"]?.string ?? "" } == ["error", "created", "ignored"])
            #expect(results[0]["error"]?["code"]?.string == "not_found")
            #expect(results[2]["error"]?["message"]?.string?.contains("never-seen") == true)

            // Every item refused: 422, each with its error, and nothing stored.
            let before = live.env.lastSeq
            let otherUnknown = World.inbound(channel: UUID().uuidString, externalID: "x-2")
            let refused = try await http.post("/api/ingest", w.gatewayToken, #"{"events":[\#(unknownChannel),\#(otherUnknown)]}"#)
            #expect(refused.status == 422)
            #expect(refused.json["results"]?.array?.map { $0["error"]?["code"]?.string ?? "" } == ["not_found", "not_found"])
            let onlyIgnored = try await http.post("/api/ingest", w.gatewayToken, #"{"events":[\#(badReceipt)]}"#)
            #expect(onlyIgnored.status == 200, "an ignored report is not a failure: \(onlyIgnored)")
            #expect(live.env.lastSeq == before)

            // A gateway that sends only the fields API.md lists (no in_reply_to, no attachments) is understood.
            let minimal = #"""
                {"type":"message","channel_id":"\#(w.whatsappChannel)","external_message_id":"wamid.HBgL-1",
                 "thread_reference":{"kind":"whatsapp_chat_id","value":"1234567890:+31612345678"},
                 "sender_external":{"name":"Piet","phone":"+31612345678","wa_id":"31612345678"},
                 "message_content":"Hoi, mijn laadpaal doet het niet","received_at":"2026-11-25T09:30:00.250Z"}
                """#
            let m = try ok(await http.post("/api/ingest", w.gatewayToken, #"{"events":[\#(minimal)]}"#)).json["results"]![0]!
            #expect(m["status"]?.string == "created", "\(m)")
            let thread = try #require(m["thread_id"]?.string)
            let detail = try ok(await http.get("/api/communication/threads/\(thread)", w.agentBToken)).json
            #expect(detail["messages"]?[0]?["sender_external"]?["wa_id"]?.string == "31612345678")
            #expect(detail["external_references"]?.array?.contains { $0["kind"]?.string == "whatsapp_chat_id" } == true)
            // The next WhatsApp message of that chat joins the thread.
            let next = minimal.replacingOccurrences(of: "wamid.HBgL-1", with: "wamid.HBgL-2")
            let m2 = try ok(await http.post("/api/ingest", w.gatewayToken, #"{"events":[\#(next)]}"#)).json["results"]![0]!
            #expect(m2["thread_id"]?.string == thread, "\(m2)")
        }
    }
}
