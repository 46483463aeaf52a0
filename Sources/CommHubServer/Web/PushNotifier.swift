import AsyncHTTPClient
import CommHubDomain
import CommHubEngine
import Crypto
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// The server's VAPID key: made on first use, sealed with the master key and
/// journaled, so every process start and every restored copy signs with
/// the same key that browsers subscribed with. One creator per process.
public actor PushKeys {
    let engine: Engine
    let secrets: SecretBox
    private var key: VAPIDKey?

    public init(engine: Engine, secrets: SecretBox) {
        self.engine = engine
        self.secrets = secrets
    }

    /// The key, making (and journaling) it if the engine has none yet.
    public func key() async throws -> VAPIDKey {
        if let key { return key }
        if let existing = try await stored() {
            key = existing
            return existing
        }
        let made = P256.Signing.PrivateKey()
        let sealed = try secrets.seal(["vapid_private_key": Base64URL.encode(made.rawRepresentation)])
        let seq = try await engine.supervisor.recordWebAccess([.pushKeyCreated(sealedPrivateKey: sealed)])
        try await engine.durable(seq, timeout: .seconds(10))
        key = VAPIDKey(privateKey: made)
        return key!
    }

    /// The journaled key, or nil when none was made yet.
    public func stored() async throws -> VAPIDKey? {
        guard let sealed = await engine.supervisor.webAccess({ $0.sealedPushKey }) else { return nil }
        guard let raw = try secrets.open(sealed)["vapid_private_key"].flatMap(Base64URL.decode) else {
            throw WebPushEncryption.Problem(description: "the stored VAPID key cannot be read")
        }
        return VAPIDKey(privateKey: try P256.Signing.PrivateKey(rawRepresentation: raw))
    }
}

/// A notification for a person's browsers and phones (what the service worker shows).
public struct PushNote: Sendable, Equatable, Codable {
    public var title: String
    public var body: String
    /// Where a click leads inside the app (`/#/thread/<id>`).
    public var url: String
    /// Notifications with the same tag replace each other.
    public var tag: String
    public var urgent: Bool
}

/// Sends Web Push notifications for what the live app would show as a
/// desktop notification: a thread that becomes urgent or critical for its
/// assignee (or, while nobody has it, its team), a mention for the person
/// mentioned, and the workflow's SLA alerts and task reminders for their
/// recipients. Follows the event bus; a push service's 404/410
/// removes the subscription (journaled), other failures are logged and the
/// notification dropped (it is a nudge; the inbox holds the truth).
///
/// Bounds: the bus subscription holds `maxQueuedPushes` events; when it
/// falls behind, the missed events get no push (logged), never a backlog.
public struct PushNotifier: Service {
    let engine: Engine
    let keys: PushKeys
    let options: WebAppOptions
    let logger: Logger
    static let sendTimeout: TimeAmount = .seconds(10)

    public init(engine: Engine, secrets: SecretBox, options: WebAppOptions, logger: Logger, keys: PushKeys? = nil) {
        self.engine = engine
        self.keys = keys ?? PushKeys(engine: engine, secrets: secrets)
        self.options = options
        self.logger = logger
    }

    public func run() async throws {
        let subscription = engine.bus.subscribe(since: engine.bus.lastSeq, capacity: options.maxQueuedPushes)
        try? await cancelWhenGracefulShutdown {
            await withTaskCancellationHandler {
                for await item in subscription {
                    switch item {
                    case .event(let e):
                        for (contact, note) in await notes(for: e) { await send(note, to: contact) }
                    case .resync:
                        logger.notice("push notifications fell behind the event stream; the missed ones are not sent")
                    }
                }
            } onCancel: {
                subscription.cancel()
            }
        }
    }

    /// Who gets which notification for one event.
    func notes(for e: SequencedEvent) async -> [(ContactID, PushNote)] {
        let s = engine.supervisor
        switch e.event {
        case .threadAssigned(let t, _, let agent?, _):
            guard let h = await s.thread(t)?.header, h.priority == .urgent || h.priority == .critical else { return [] }
            return [(agent, urgentNote(h))]
        case .threadChanged(let t, let change, _) where change.priority == .urgent || change.priority == .critical:
            guard let h = await s.thread(t)?.header else { return [] }
            if let a = h.assignedToContactID { return [(a, urgentNote(h))] }
            guard let team = h.assignedTeamID else { return [] }
            return await s.contactList().filter { $0.teams.contains(team) }.map { ($0.id, urgentNote(h)) }
        case .webAccess(.mentioned(let list)):
            var out: [(ContactID, PushNote)] = []
            for m in list {
                let subject = await s.thread(m.threadID)?.header.threadSubject ?? ""
                let by = await m.byContactID.asyncMap { await s.contact($0)?.name } ?? nil
                out.append((m.contactID, PushNote(title: "\(by ?? "A colleague") mentioned you", body: subject,
                                                  url: "/#/thread/\(m.threadID)", tag: "mention-\(m.messageID)", urgent: false)))
            }
            return out
        case .slaStepFired(let t, let step, _, let recipients, _):
            // The escalation ladder's alerts (journaled once by the workflow timers) reach the same people's phones.
            let subject = await s.thread(t)?.header.threadSubject ?? ""
            let note = PushNote(title: "Deadline alert: \(subject)", body: step.rawValue.replacingOccurrences(of: "_", with: " "),
                                url: "/#/thread/\(t)", tag: "sla-\(t)-\(step.rawValue)", urgent: true)
            return recipients.map { ($0, note) }
        case .taskReminderFired(let id, let key, _, let recipients, _):
            guard let task = await s.task(id) else { return [] }
            let note = PushNote(title: (key == "overdue" ? "Task overdue: " : "Task due soon: ") + task.taskTitle,
                                body: [task.dueDate, task.dueTime].compactMap { $0 }.joined(separator: " "),
                                url: task.threadID.map { "/#/thread/\($0)" } ?? "/#/tasks", tag: "task-\(id)-\(key)", urgent: false)
            return recipients.map { ($0, note) }
        default:
            return []
        }
    }

    func urgentNote(_ h: ThreadHeader) -> PushNote {
        PushNote(title: "\(h.priority == .critical ? "Critical" : "Urgent"): \(h.threadSubject)",
                 body: h.channelType.rawValue.replacingOccurrences(of: "_", with: " "),
                 url: "/#/thread/\(h.id)", tag: "thread-\(h.id)", urgent: true)
    }

    /// Sends a note to every subscription of a person; counts (sent, failed).
    @discardableResult
    public func send(_ note: PushNote, to contact: ContactID) async -> (sent: Int, failed: Int) {
        let subscriptions = await engine.supervisor.webAccess { $0.push.values.filter { $0.contactID == contact } }
        guard !subscriptions.isEmpty else { return (0, 0) }
        let key: VAPIDKey
        do {
            guard let k = try await keys.stored() else { return (0, subscriptions.count) }
            key = k
        } catch {
            logger.error("push: the VAPID key cannot be read", metadata: ["error": "\(error)"])
            return (0, subscriptions.count)
        }
        var sent = 0
        for sub in subscriptions {
            if await deliver(note, to: sub, key: key) { sent += 1 }
        }
        return (sent, subscriptions.count - sent)
    }

    func deliver(_ note: PushNote, to sub: PushSubscriptionRecord, key: VAPIDKey) async -> Bool {
        do {
            guard let ua = Base64URL.decode(sub.p256dh), let auth = Base64URL.decode(sub.auth) else {
                throw WebPushEncryption.Problem(description: "the subscription's keys are not base64url")
            }
            let payload = try ContractJSON.sharedEncoder.encode(note)
            let body = try WebPushEncryption.encrypt(Array(payload), uaPublicKey: Array(ua), authSecret: Array(auth))
            var request = HTTPClientRequest(url: sub.endpoint)
            request.method = .POST
            request.headers.add(name: "TTL", value: note.urgent ? "3600" : "86400")
            request.headers.add(name: "Urgency", value: note.urgent ? "high" : "normal")
            request.headers.add(name: "Content-Encoding", value: "aes128gcm")
            request.headers.add(name: "Content-Type", value: "application/octet-stream")
            request.headers.add(name: "Authorization",
                                value: try key.authorization(endpoint: sub.endpoint, subject: options.pushContact, now: Date()))
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await HTTPClient.shared.execute(request, timeout: Self.sendTimeout)
            _ = try? await response.body.collect(upTo: 64 * 1024)
            switch response.status.code {
            case 200..<300:
                return true
            case 404, 410:
                // The browser unsubscribed or the subscription expired: forget it.
                logger.info("push subscription gone; removed", metadata: ["push.status": "\(response.status.code)"])
                if let seq = try? await engine.supervisor.recordWebAccess([.pushUnsubscribed(endpoint: sub.endpoint)]) {
                    try? await engine.durable(seq, timeout: .seconds(10))
                }
                return false
            default:
                logger.notice("push refused by the push service", metadata: ["push.status": "\(response.status.code)"])
                return false
            }
        } catch {
            logger.notice("push not sent", metadata: ["error": "\(error)"])
            return false
        }
    }
}
