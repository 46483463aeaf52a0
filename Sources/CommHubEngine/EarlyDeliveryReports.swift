import CommHubDomain
import Foundation

/// Provider receipts that arrived before the message they are about was
/// known by its provider id.
///
/// A provider may call its status webhook before the gateway that sent the
/// message has reported the id the provider gave it (Twilio's `queued` or
/// `sent` callback can beat the answer to the send; so can Meta's `sent`).
/// Such a receipt is held here for `lifetime` and applied the moment the
/// send report names that id. Bounded: at most `maxKeys` ids and
/// `maxPerKey` receipts each, oldest dropped first. Not journaled: a receipt
/// held while the engine restarts is lost, as it was acknowledged to a
/// provider that does not retry receipts anyway.
public struct EarlyDeliveryReports: Sendable {
    public struct Receipt: Sendable, Hashable {
        public var status: DeliveryStatus
        public var at: Date
        public var failureCode: String?
        public var failureTitle: String?
        public var heldAt: Date

        public init(status: DeliveryStatus, at: Date, failureCode: String? = nil, failureTitle: String? = nil, heldAt: Date) {
            self.status = status; self.at = at; self.failureCode = failureCode; self.failureTitle = failureTitle
            self.heldAt = heldAt
        }
    }

    public static let maxKeys = 10_000
    public static let maxPerKey = 4
    public static let lifetime: TimeInterval = 15 * 60

    private var held: [EngineState.ExternalKey: [Receipt]] = [:]
    /// Keys in the order they were first held, for dropping the oldest.
    private var order: [EngineState.ExternalKey] = []

    public init() {}

    public var count: Int { held.count }

    public mutating func hold(_ key: EngineState.ExternalKey, _ receipt: Receipt) {
        expire(now: receipt.heldAt)
        if held[key] == nil {
            while held.count >= Self.maxKeys, !order.isEmpty { held[order.removeFirst()] = nil }
            order.append(key)
        }
        var list = held[key, default: []]
        if list.count >= Self.maxPerKey { list.removeFirst() }
        list.append(receipt)
        held[key] = list
    }

    /// The receipts held for `key` (oldest first), removed; none once they are older than `lifetime`.
    public mutating func take(_ key: EngineState.ExternalKey, now: Date) -> [Receipt] {
        guard let list = held.removeValue(forKey: key) else { return [] }
        order.removeAll { $0 == key }
        return list.filter { now.timeIntervalSince($0.heldAt) <= Self.lifetime }
    }

    private mutating func expire(now: Date) {
        while let first = order.first, let list = held[first], let newest = list.last,
              now.timeIntervalSince(newest.heldAt) > Self.lifetime {
            held[first] = nil
            order.removeFirst()
        }
        // Keys whose receipts were taken are already gone from `held`.
        while let first = order.first, held[first] == nil { order.removeFirst() }
    }
}
