import CommHubDomain
import Foundation

/// Protocol 2 of the ingest connection: what a gateway process needs beside
/// ingest — the channel configuration (secrets included, for gateway tokens
/// only, kept in the gateway's memory only) and the outbox.
///
/// Client → server (answers in request order, like every frame):
/// - `hello` (0x01) `{"token":…, "gateway":"<name>", "protocol":2}` → `welcome` `{"protocol":2}`.
/// - `channels` (0x04) `{}` → `channelSet` (0x84) `{"channels":[GatewayChannel]}`; from then on
///   the server pushes `channelChanged` (0x85, request id 0) `{"channel":GatewayChannel}` on every change
///   and `outboxReady` (0x88, request id 0) `{"channel_id":…}` when a channel has messages to claim.
/// - `claim` (0x05) `ClaimRequest` → `claimed` (0x86) `{"messages":[OutgoingMessage]}`, sent only
///   once every claim is journaled: a gateway sends nothing the engine has not recorded as claimed.
/// - `report` (0x06) `DeliveryReportFrame` → `reportResult` (0x87) `{"status":"recorded"|"ignored","reason":…}`,
///   after the report is journaled. Reports are idempotent: a gateway that lost its connection sends
///   them again, and a repeat answers `ignored`.
public enum GatewayProtocol {
    public static let version = 2

    /// `hello` of protocol 2.
    public struct Hello: Codable, Sendable {
        public var token: String
        public var gateway: String?
        public var `protocol`: Int?

        public init(token: String, gateway: String?, protocol: Int?) {
            self.token = token
            self.gateway = gateway
            self.protocol = `protocol`
        }
    }

    /// A channel as a gateway sees it: its settings and its secrets in clear.
    public struct GatewayChannel: Codable, Sendable, Hashable {
        public var id: ChannelID
        public var channelType: ChannelType
        public var channelName: String
        public var isActive: Bool
        public var businessEntity: Brand?
        public var configuration: [String: JSONValue]
        /// Never logged, never written to disk by the gateway.
        public var secrets: [String: String]

        public init(id: ChannelID, channelType: ChannelType, channelName: String, isActive: Bool, businessEntity: Brand?,
                    configuration: [String: JSONValue], secrets: [String: String]) {
            self.id = id; self.channelType = channelType; self.channelName = channelName; self.isActive = isActive
            self.businessEntity = businessEntity; self.configuration = configuration; self.secrets = secrets
        }

        public func string(_ key: String) -> String? { configuration[key]?.stringValue }
    }

    public struct ChannelSet: Codable, Sendable {
        public var channels: [GatewayChannel]
        public init(channels: [GatewayChannel]) { self.channels = channels }
    }

    public struct ChannelChanged: Codable, Sendable {
        public var channel: GatewayChannel
        public init(channel: GatewayChannel) { self.channel = channel }
    }

    public struct OutboxReady: Codable, Sendable {
        public var channelID: ChannelID
        public init(channelID: ChannelID) { self.channelID = channelID }
    }

    public struct ClaimRequest: Codable, Sendable {
        public var channelIDs: [ChannelID]
        public var max: Int
        public var leaseSeconds: Int

        public init(channelIDs: [ChannelID], max: Int, leaseSeconds: Int) {
            self.channelIDs = channelIDs; self.max = max; self.leaseSeconds = leaseSeconds
        }

        // `channel_ids` on the wire (the contract's key strategies spell `IDs` oddly).
        enum CodingKeys: String, CodingKey { case channelIDs = "channelIds", max, leaseSeconds }
    }

    /// The customer's message an answer replies to.
    public struct ReplyContext: Codable, Sendable, Hashable {
        /// The provider's id of that message (wamid, Graph message id, SMS sid).
        public var externalMessageID: String
        public var sender: ExternalParty?
        /// The mail's RFC 5322 Message-ID, for In-Reply-To.
        public var internetMessageID: String?
        public var receivedAt: Date

        public init(externalMessageID: String, sender: ExternalParty?, internetMessageID: String?, receivedAt: Date) {
            self.externalMessageID = externalMessageID; self.sender = sender
            self.internetMessageID = internetMessageID; self.receivedAt = receivedAt
        }
    }

    /// One claimed outgoing message: everything a provider adapter needs to send it.
    public struct OutgoingMessage: Codable, Sendable, Hashable {
        public var messageID: MessageID
        public var threadID: ThreadID
        public var channelID: ChannelID
        public var attempt: Int
        public var leaseUntil: Date
        public var subject: String?
        public var messageContent: String
        public var messageHtml: String?
        public var attachments: [Attachment]
        public var metadata: [String: JSONValue]
        /// Who gets it: the message's `recipient_external`, else the sender of `lastInbound`.
        public var recipient: ExternalParty?
        public var threadSubject: String
        public var threadReferences: [ExternalReference]
        /// The message an agent answers explicitly (`reply_to_message_id`): quoted where the provider can.
        public var replyTo: ReplyContext?
        /// The customer's latest message on this channel: mail replies stay in its conversation.
        public var lastInbound: ReplyContext?

        public init(messageID: MessageID, threadID: ThreadID, channelID: ChannelID, attempt: Int, leaseUntil: Date,
                    subject: String?, messageContent: String, messageHtml: String?, attachments: [Attachment],
                    metadata: [String: JSONValue], recipient: ExternalParty?, threadSubject: String,
                    threadReferences: [ExternalReference], replyTo: ReplyContext?, lastInbound: ReplyContext? = nil) {
            self.messageID = messageID; self.threadID = threadID; self.channelID = channelID; self.attempt = attempt
            self.leaseUntil = leaseUntil; self.subject = subject; self.messageContent = messageContent
            self.messageHtml = messageHtml; self.attachments = attachments; self.metadata = metadata
            self.recipient = recipient; self.threadSubject = threadSubject; self.threadReferences = threadReferences
            self.replyTo = replyTo; self.lastInbound = lastInbound
        }
    }

    public struct Claimed: Codable, Sendable {
        public var messages: [OutgoingMessage]
        public init(messages: [OutgoingMessage]) { self.messages = messages }
    }

    /// A gateway's report on one claim (`outcome`: sent, failed, retry_after, unknown).
    public struct ReportFrame: Codable, Sendable, Hashable {
        public enum Outcome: String, ContractEnum {
            case sent, failed
            case retryAfter = "retry_after"
            case unknown
        }

        public var messageID: MessageID
        public var attempt: Int
        public var outcome: Outcome
        public var providerMessageID: String?
        public var code: String?
        public var reason: String?
        public var retryAt: Date?

        public init(messageID: MessageID, attempt: Int, report: DeliveryReport) {
            self.messageID = messageID
            self.attempt = attempt
            switch report {
            case .sent(let id): outcome = .sent; providerMessageID = id
            case .failed(let c, let r): outcome = .failed; code = c; reason = r
            case .retryAfter(let until, let c, let r): outcome = .retryAfter; retryAt = until; code = c; reason = r
            case .unknown(let r): outcome = .unknown; reason = r
            }
        }

        /// The report, or why the frame does not make one.
        public func report() throws -> DeliveryReport {
            switch outcome {
            case .sent:
                return .sent(providerMessageID: providerMessageID)
            case .failed:
                return .failed(code: code, reason: reason ?? "the provider refused the message")
            case .retryAfter:
                guard let retryAt else { throw WireError("retry_after needs retry_at") }
                return .retryAfter(until: retryAt, code: code, reason: reason ?? "the provider asked to try later")
            case .unknown:
                return .unknown(reason: reason ?? "the gateway does not know whether the provider took it")
            }
        }
    }

    public struct ReportResult: Codable, Sendable {
        public var status: String
        public var reason: String?
        public init(status: String, reason: String?) { self.status = status; self.reason = reason }
    }

    /// Bounds a server enforces on protocol-2 requests.
    public static let maxReportTextBytes = 2000
}

public struct WireError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

extension GatewayProtocol {
    /// Where an uploaded file belongs: attachment `index` of the message
    /// with provider id `externalMessageID` on `channelID` (the message is
    /// ingested first; its files follow).
    public struct AttachmentTarget: Codable, Sendable, Hashable {
        public var channelID: ChannelID
        public var externalMessageID: String
        public var index: Int

        public init(channelID: ChannelID, externalMessageID: String, index: Int) {
            self.channelID = channelID; self.externalMessageID = externalMessageID; self.index = index
        }
    }

    /// The header of one `attachmentPut` chunk. The frame's payload is
    /// `[u32 BE header length][header JSON][chunk bytes]`; chunks of one
    /// upload come in order, `offset` counting the bytes before this chunk.
    public struct AttachmentChunk: Codable, Sendable, Hashable {
        public var uploadID: UUID
        public var offset: Int
        public var totalBytes: Int
        public var fileName: String
        public var contentType: String
        public var last: Bool
        public var target: AttachmentTarget?

        public init(uploadID: UUID, offset: Int, totalBytes: Int, fileName: String, contentType: String, last: Bool,
                    target: AttachmentTarget?) {
            self.uploadID = uploadID; self.offset = offset; self.totalBytes = totalBytes; self.fileName = fileName
            self.contentType = contentType; self.last = last; self.target = target
        }

        /// Bytes of file data one chunk carries at most.
        public static let maxChunkBytes = 1 << 20

        public static func frame(_ header: AttachmentChunk, _ data: ArraySlice<UInt8>) throws -> [UInt8] {
            let json = Array(try ContractJSON.sharedEncoder.encode(header))
            var out: [UInt8] = []
            out.reserveCapacity(4 + json.count + data.count)
            withUnsafeBytes(of: UInt32(json.count).bigEndian) { out += $0 }
            out += json
            out += data
            return out
        }

        public static func parse(_ payload: [UInt8]) throws -> (AttachmentChunk, ArraySlice<UInt8>) {
            guard payload.count >= 4 else { throw WireError("attachment chunk shorter than its header length") }
            let n = Int(UInt32(payload[0]) << 24 | UInt32(payload[1]) << 16 | UInt32(payload[2]) << 8 | UInt32(payload[3]))
            guard n <= 4096, 4 + n <= payload.count else { throw WireError("attachment chunk header of \(n) bytes does not fit") }
            let header = try ContractJSON.sharedDecoder.decode(AttachmentChunk.self, from: Data(payload[4..<(4 + n)]))
            return (header, payload[(4 + n)...])
        }
    }

    /// The answer to the last chunk: where the file is.
    public struct StoredAttachment: Codable, Sendable, Hashable {
        public var sha256: String
        public var sizeBytes: Int
        public var contentType: String
        public var fileName: String
        /// `/api/attachments/<sha256>`
        public var url: String

        public init(sha256: String, sizeBytes: Int, contentType: String, fileName: String, url: String) {
            self.sha256 = sha256; self.sizeBytes = sizeBytes; self.contentType = contentType; self.fileName = fileName; self.url = url
        }
    }

    /// `attachmentGet`: a range of a stored file (answer: `attachmentData`, the raw bytes).
    public struct AttachmentRange: Codable, Sendable, Hashable {
        public var sha256: String
        public var offset: Int
        public var length: Int

        public init(sha256: String, offset: Int, length: Int) { self.sha256 = sha256; self.offset = offset; self.length = length }
    }

    /// Pushed: mark this customer message read at the provider (best effort; not journaled).
    public struct MarkRead: Codable, Sendable, Hashable {
        public var channelID: ChannelID
        public var externalMessageID: String

        public init(channelID: ChannelID, externalMessageID: String) { self.channelID = channelID; self.externalMessageID = externalMessageID }
    }
}
