import Foundation

extension MessageHeader {
    /// What an event that names this message changes in its header: a
    /// status report, a gateway's send report (forward only: a provider's
    /// delivered/read report may have come first), the provider's own id
    /// learnt from its copy (Outlook's Sent Items). The one rule for the
    /// thread's live messages (`ThreadState`) and the store's history rows.
    /// Says whether anything changed.
    @discardableResult
    public mutating func apply(_ event: EngineEvent) -> Bool {
        let before = self
        switch event {
        case .deliveryStatusChanged(let mid, _, let status, let at) where mid == id:
            deliveryStatus = status
            if status == .read, readAt == nil { readAt = at }
        case .outboxReported(let mid, _, _, let report, _) where mid == id:
            switch report {
            case .sent(let provider):
                if let provider, externalMessageID == nil { externalMessageID = provider }
                if DeliveryStatus.sent.advances(from: deliveryStatus) { deliveryStatus = .sent }
            case .failed:
                if DeliveryStatus.failed.advances(from: deliveryStatus) { deliveryStatus = .failed }
            case .retryAfter, .unknown:
                break
            }
        case .messageAnnotated(let mid, _, .providerCopy(_, let provider, _), _) where mid == id:
            if externalMessageID == nil { externalMessageID = provider }
        default:
            break
        }
        return self != before
    }
}
