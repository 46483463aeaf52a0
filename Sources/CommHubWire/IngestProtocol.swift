import Foundation

/// The gateway ingest protocol (version 1): a persistent, pipelined, framed
/// stream over TCP or a Unix socket.
///
/// Every frame, both ways: `[u32 BE n][u8 kind][u64 BE request id][n - 9 bytes payload]`.
///
/// Client → server:
/// - `hello` (0x01), payload `{"token":"<gateway or admin token>"}`: must come first.
/// - `ingest` (0x02), payload `{"events":[...]}` exactly as `POST /api/ingest`.
/// - `ingestCompact` (0x03), the same items in binary (`IngestCompact`).
///
/// Server → client, in request order:
/// - `welcome` (0x81), payload `{"protocol":1}`.
/// - `results` (0x82), payload `{"results":[...]}` as `POST /api/ingest`,
///   sent only after the journal holds every event of the frame.
/// - `resultsCompact` (0x83), the answer to `ingestCompact`, in binary.
/// - `error` (0xFF), payload `{"error":{"code","message"}}`. Codes that
///   answer one frame, the connection staying open: `invalid_json` (not the
///   contract's JSON: syntax, duplicate keys, nesting, sizes, types),
///   `invalid` (a value outside its range, or not 1 to 1000 events),
///   `bad_frame` (a compact payload that does not decode), `not_stored`.
///   Codes after which the server closes the connection: `unauthorized`,
///   `bad_frame` (an unknown kind or a length below 9), `frame_too_large`,
///   `hello_timeout`, `idle_timeout`, `too_many_connections` (request id 0
///   when the error answers no particular frame). The listener's bounds
///   are `IngestLimits` (CommHubServer).
///
/// A client may send any number of frames without waiting; answers keep the
/// order of the requests. Frames are at most `maxFrame` bytes; before
/// `hello`, at most `maxFrameBeforeHello`.
public enum IngestProtocol {
    public static let version = 1
    /// Largest frame, length prefix included.
    public static let maxFrame = 4 * 1024 * 1024
    /// Largest frame before `hello` succeeded: a hello is `{"token":"…"}`.
    public static let maxFrameBeforeHello = 4 * 1024
    public static let headerSize = 13

    public enum Kind: UInt8, Sendable {
        case hello = 0x01
        case ingest = 0x02
        case ingestCompact = 0x03
        /// Protocol 2, gateway tokens: the channel configuration (see `GatewayProtocol`).
        case channels = 0x04
        /// Protocol 2: claim outgoing messages under a lease.
        case claim = 0x05
        /// Protocol 2: report what came of a claimed message.
        case report = 0x06
        /// Protocol 2: one chunk of a file for the attachment store (see `GatewayProtocol.AttachmentChunk`).
        case attachmentPut = 0x07
        /// Protocol 2: a chunk of a stored attachment (for outgoing media).
        case attachmentGet = 0x08
        /// Protocol 2: what this gateway keeps about a channel (see `GatewayProtocol.StateRequest`).
        case gatewayStateGet = 0x09
        /// Protocol 2: change what this gateway keeps about a channel (journaled before the answer).
        case gatewayStatePut = 0x0A
        case welcome = 0x81
        case results = 0x82
        case resultsCompact = 0x83
        case channelSet = 0x84
        /// Pushed (request id 0): one channel changed.
        case channelChanged = 0x85
        case claimed = 0x86
        case reportResult = 0x87
        /// Pushed (request id 0): a channel has messages to claim.
        case outboxReady = 0x88
        case attachmentStored = 0x89
        case attachmentData = 0x8A
        /// Pushed (request id 0): mark a customer's message read at the provider.
        case markRead = 0x8B
        /// The answer to `gatewayStateGet`: the channel's values and secrets.
        case gatewayState = 0x8C
        /// The answer to `gatewayStatePut`, once the change is durable.
        case gatewayStateStored = 0x8D
        case error = 0xFF
    }

    public struct Frame: Sendable, Equatable {
        public var kind: UInt8
        public var requestID: UInt64
        public var payload: [UInt8]

        public init(kind: Kind, requestID: UInt64, payload: [UInt8]) {
            self.kind = kind.rawValue
            self.requestID = requestID
            self.payload = payload
        }

        /// A frame of any kind byte, as read off the wire (unknown kinds included).
        public init(rawKind: UInt8, requestID: UInt64, payload: [UInt8]) {
            self.kind = rawKind
            self.requestID = requestID
            self.payload = payload
        }

        public func encoded() -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(IngestProtocol.headerSize + payload.count)
            let n = UInt32(9 + payload.count)
            withUnsafeBytes(of: n.bigEndian) { out += $0 }
            out.append(kind)
            withUnsafeBytes(of: requestID.bigEndian) { out += $0 }
            out += payload
            return out
        }
    }

    public enum FrameError: Error, Equatable, CustomStringConvertible {
        /// The length prefix announces more than the bound allows (length, bound, both in bytes with the prefix).
        case tooLarge(Int, limit: Int)
        /// The length prefix is below the 9 bytes of kind and request id.
        case tooShort(Int)

        public var description: String {
            switch self {
            case .tooLarge(let n, let limit): "frame of \(n) bytes is larger than the \(limit) bytes allowed here"
            case .tooShort(let n): "frame length \(n) is shorter than the 9 bytes of kind and request id"
            }
        }
    }

    /// Takes frames off the front of a byte stream one at a time, each under
    /// the bound the caller gives for it (smaller before `hello`). A frame
    /// over the bound is refused as soon as its length prefix arrives, so a
    /// connection never buffers more than one frame's bound plus one read.
    public struct FrameReader: Sendable {
        private var buffer: [UInt8] = []
        private var start = 0

        public init() {}

        /// Bytes received and not yet taken as frames.
        public var bufferedBytes: Int { buffer.count - start }

        public mutating func append(_ bytes: some Sequence<UInt8>) {
            if start > 0, start >= buffer.count / 2 {
                buffer.removeFirst(start)
                start = 0
            }
            buffer.append(contentsOf: bytes)
        }

        /// The next complete frame, nil when more bytes are needed.
        /// `maxFrameBytes` counts the whole frame, length prefix included.
        public mutating func next(maxFrameBytes: Int) throws(FrameError) -> Frame? {
            guard bufferedBytes >= 4 else { return nil }
            let n = Int(UInt32(buffer[start]) << 24 | UInt32(buffer[start + 1]) << 16
                        | UInt32(buffer[start + 2]) << 8 | UInt32(buffer[start + 3]))
            guard n >= 9 else { throw .tooShort(n) }
            guard n + 4 <= maxFrameBytes else { throw .tooLarge(n + 4, limit: maxFrameBytes) }
            guard bufferedBytes >= 4 + n else { return nil }
            let kind = buffer[start + 4]
            var id: UInt64 = 0
            for i in 0..<8 { id = id << 8 | UInt64(buffer[start + 5 + i]) }
            let frame = Frame(rawKind: kind, requestID: id, payload: Array(buffer[(start + 13)..<(start + 4 + n)]))
            start += 4 + n
            if start == buffer.count {
                buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
                start = 0
            }
            return frame
        }
    }

    /// Takes complete frames off the front of `buffer`.
    public static func drain(_ buffer: inout [UInt8]) throws -> [Frame] {
        var frames: [Frame] = []
        var start = 0
        while buffer.count - start >= 4 {
            let n = Int(UInt32(buffer[start]) << 24 | UInt32(buffer[start + 1]) << 16 | UInt32(buffer[start + 2]) << 8 | UInt32(buffer[start + 3]))
            guard n >= 9 else { throw FrameError.tooShort(n) }
            guard n + 4 <= maxFrame else { throw FrameError.tooLarge(n + 4, limit: maxFrame) }
            guard buffer.count - start >= 4 + n else { break }
            let kind = buffer[start + 4]
            var id: UInt64 = 0
            for i in 0..<8 { id = id << 8 | UInt64(buffer[start + 5 + i]) }
            frames.append(Frame(rawKind: kind, requestID: id, payload: Array(buffer[(start + 13)..<(start + 4 + n)])))
            start += 4 + n
        }
        if start > 0 { buffer.removeFirst(start) }
        return frames
    }
}
