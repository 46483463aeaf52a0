import CommHubDomain
import CommHubWire
import Foundation

/// An ingest item that can be compared: `IngestItem` is not Equatable (the
/// server never compares items), and the round-trip properties must.
public enum ComparableItem: Equatable {
    case message(InboundMessage)
    case delivery(ChannelID, String, DeliveryStatus, Date?, IngestItem.ProviderError?)
    case reaction(ChannelID, String, String, String?, Date?)
    case mailbox(MailboxItem)

    public init(_ item: IngestItem) {
        switch item {
        case .message(let m): self = .message(m)
        case .delivery(let c, let e, let s, let at, let error): self = .delivery(c, e, s, at, error)
        case .reaction(let c, let e, let from, let emoji, let at): self = .reaction(c, e, from, emoji, at)
        case .mailbox(let m): self = .mailbox(m)
        }
    }
}
