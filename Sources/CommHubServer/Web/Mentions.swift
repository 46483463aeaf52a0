import CommHubDomain
import CommHubEngine
import CommHubWire
import Foundation
import Hummingbird

/// `@handle` in an internal note: who is meant. A person's handle is the
/// local part of their e-mail address (`@sanne.de.vries`); their full name
/// with dots for spaces and their first name (when no colleague who may see
/// the thread shares it) work too. Case does not matter.
public enum MentionParser {
    /// Most mentions taken from one note; the rest of the `@`s are text.
    public static let maxMentionsPerNote = 20

    /// The handles in a text, in order, each once: `@` at the start or after
    /// a space or bracket, then letters, digits, `.`, `_`, `-` (a trailing
    /// dot or dash is punctuation, not part of the handle).
    public static func handles(in text: String) -> [String] {
        var out: [String] = []
        let chars = Array(text)
        var i = 0
        while i < chars.count, out.count < maxMentionsPerNote {
            defer { i += 1 }
            guard chars[i] == "@", i == 0 || chars[i - 1].isWhitespace || "([{,;:\"'".contains(chars[i - 1]) else { continue }
            var j = i + 1
            while j < chars.count, chars[j].isLetter || chars[j].isNumber || "._-".contains(chars[j]) { j += 1 }
            var handle = String(chars[(i + 1)..<j])
            while let last = handle.last, ".-_".contains(last) { handle.removeLast() }
            guard !handle.isEmpty, handle.count <= 100 else { continue }
            let lower = handle.lowercased()
            if !out.contains(lower) { out.append(lower) }
            i = j - 1
        }
        return out
    }

    /// The handle the app suggests for a person.
    public static func handle(for c: Contact) -> String {
        if let email = c.email, let at = email.firstIndex(of: "@"), at > email.startIndex {
            return email[..<at].lowercased()
        }
        return c.name.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: ".")
    }

    /// The people among `candidates` that `handles` name (each once, in candidate order).
    public static func resolve(_ handles: [String], among candidates: [Contact]) -> [Contact] {
        var picked: [ContactID] = []
        for h in handles {
            let exact = candidates.filter { c in
                handle(for: c) == h || c.name.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: ".") == h
                    || c.name.lowercased().filter { !$0.isWhitespace } == h
            }
            let byFirst = candidates.filter { $0.name.lowercased().split(whereSeparator: \.isWhitespace).first.map(String.init) == h }
            let match = exact.count == 1 ? exact : (exact.isEmpty && byFirst.count == 1 ? byFirst : [])
            for c in match where !picked.contains(c.id) { picked.append(c.id) }
        }
        return candidates.filter { picked.contains($0.id) }
    }
}

extension CommHubAPI {
    /// The people who may see a thread: its assignee, the members of its
    /// team, and the roles that see every thread. Only they can be mentioned
    /// in its notes (a mention must lead somewhere the person may go).
    func peopleWhoSee(_ h: ThreadHeader) async -> [Contact] {
        await supervisor.contactList().filter { c in
            AccessPolicy.seesAllThreads(c.role) || h.assignedToContactID == c.id || (h.assignedTeamID.map(c.teams.contains) ?? false)
        }
    }

    /// Journals the mentions of an internal note once it is stored (after
    /// the note, in the journal's order), and waits until they are durable.
    func recordMentions(_ note: MessageHeader, text: String, thread: ThreadHeader, by who: Identity) async throws {
        let handles = MentionParser.handles(in: text)
        guard !handles.isEmpty else { return }
        let people = MentionParser.resolve(handles, among: await peopleWhoSee(thread)).filter { $0.id != who.contactID }
        guard !people.isEmpty else { return }
        let at = engine.clock.now()
        let mentions = people.map { Mention(threadID: thread.id, messageID: note.id, contactID: $0.id, byContactID: who.contactID, at: at) }
        let seq = try await mapped { try await supervisor.recordWebAccess([.mentioned(mentions)]) }
        try await durable(seq)
    }

    struct SeenRequest: Decodable {
        var threadID: ThreadID
    }

    func registerMentions(_ api: RouterGroup<APIContext>) {
        // My unseen mentions, one entry per thread, newest first.
        api.get("mentions") { _, context in
            let who = try require(.readThreads, context)
            guard let me = who.contact else { throw APIError.badRequest("mentions belong to people: use a person's token") }
            let mine = await supervisor.webAccess { $0.mentions[me.id] ?? [] }
            var byThread: [ThreadID: [Mention]] = [:]
            for m in mine { byThread[m.threadID, default: []].append(m) }
            var items: [(Date, JSONValue)] = []
            for (t, list) in byThread {
                guard let v = await supervisor.thread(t), canSee(v.header, who) else { continue }
                let last = list.map(\.at).max() ?? .distantPast
                items.append((last, .object(["thread_id": .string(t.description), "thread": try View.json(v.header),
                                             "mentions": try View.json(list), "last_at": .string(last.iso8601)])))
            }
            items.sort { $0.0 > $1.0 }
            return try JSONResponse.list(items.map(\.1), next: nil)
        }
        // Opening a thread in the app: its mentions of me are seen.
        api.post("mentions/seen") { request, context in
            let who = try require(.readThreads, context)
            guard let me = who.contact else { throw APIError.badRequest("mentions belong to people: use a person's token") }
            let body = try await request.decodeJSON(SeenRequest.self, context: context)
            _ = try await visibleThread(body.threadID, who)
            let unseen = await supervisor.webAccess { ($0.mentions[me.id] ?? []).filter { $0.threadID == body.threadID }.count }
            if unseen > 0 {
                let seq = try await mapped {
                    try await supervisor.recordWebAccess([.mentionsSeen(contact: me.id, thread: body.threadID, at: engine.clock.now())])
                }
                try await durable(seq)
            }
            return try JSONResponse.make(JSONValue.object(["seen": .number(Double(unseen))]))
        }
        // Who can be mentioned in a thread's notes, with their handles (the note box's suggestions).
        api.get("communication/threads/:id/mentionable") { _, context in
            let who = try require(.readThreads, context)
            let v = try await visibleThread(try context.id("id", ThreadKind.self), who)
            let people = await peopleWhoSee(v.header).filter { $0.id != who.contactID }
            return try JSONResponse.list(people.map { c -> JSONValue in
                .object(["contact_id": .string(c.id.description), "name": .string(c.name),
                         "handle": .string(MentionParser.handle(for: c)), "role": .string(c.role.rawValue)])
            }, next: nil)
        }
    }
}
