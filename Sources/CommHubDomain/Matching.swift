import Foundation

/// What the matcher needs to know about a thread.
public struct ThreadMatchInfo: Sendable, Hashable {
    public var id: ThreadID
    public var status: ThreadStatus
    public var brand: Brand?
    public var resolvedAt: Date?

    public init(id: ThreadID, status: ThreadStatus, brand: Brand?, resolvedAt: Date?) {
        self.id = id; self.status = status; self.brand = brand; self.resolvedAt = resolvedAt
    }
}

/// The look-ups thread matching needs. The engine answers them from its
/// in-memory indexes; tests from plain dictionaries.
public protocol MatchingDirectory {
    /// The latest thread carrying this reference, open or not.
    func thread(forReference ref: ExternalReference) -> ThreadMatchInfo?
    func order(number: String) -> Order?
    /// The most recently active open thread linked to this order.
    func openThread(forOrder id: OrderID) -> ThreadMatchInfo?
    func customer(email: EmailAddress) -> Customer?
    func customer(phone: PhoneNumber) -> Customer?
    /// The most recently active open thread of this customer on this brand.
    func openThread(customer: CustomerID, brand: Brand?) -> ThreadMatchInfo?
}

/// Which rule matched.
public enum MatchRule: String, Sendable, Codable, Hashable {
    case externalReference = "external_reference"
    case orderNumber = "order_number"
    case customerOpenThread = "customer_open_thread"
    case reopened = "reopened"
    case newThread = "new_thread"
}

/// The matcher's decision and the directory links it found.
public struct MatchResult: Sendable, Hashable {
    public enum Decision: Sendable, Hashable {
        case existing(ThreadID)
        case reopen(ThreadID)
        case new
    }

    public var decision: Decision
    public var rule: MatchRule
    public var customerID: CustomerID?
    public var organizationID: OrganizationID?
    public var orderID: OrderID?
}

/// Pure thread matching for an inbound message, in the owner's order:
/// 1. a known external reference (conversation id, chat, In-Reply-To) of an open thread;
/// 2. a known order number in subject or body with an open thread;
/// 3. the customer (by e-mail or phone) with an open thread on the same brand;
/// 4. a *resolved* thread of the same reference, when the message arrives
///    within `reopenWindow` of its resolution (closed threads never reopen);
/// otherwise a new thread. Customer, organisation and order found on the way
/// are returned so the thread can be linked to them.
public struct ThreadMatcher: Sendable {
    public var orderPattern: OrderNumberPattern
    public var reopenWindow: TimeInterval

    public init(orderPattern: OrderNumberPattern = OrderNumberPattern(), reopenWindow: TimeInterval = 7 * 86_400) {
        self.orderPattern = orderPattern
        self.reopenWindow = reopenWindow
    }

    public func match(_ message: InboundMessage, brand: Brand?, in directory: some MatchingDirectory) -> MatchResult {
        var refs: [ExternalReference] = []
        if let r = message.threadReference { refs.append(r) }
        refs += message.inReplyTo.map { ExternalReference(.emailMessageID, $0) }

        var resolvedCandidate: ThreadMatchInfo?
        var customer = findCustomer(message.senderExternal, in: directory)
        // The first known order number in subject or body: rule 2, and a link
        // to record on the thread whichever rule matches.
        let text = (message.subject ?? "") + "\n" + message.messageContent
        let order = orderPattern.candidates(in: text).lazy.compactMap { directory.order(number: $0) }.first
        if customer == nil, let cid = order?.customerID {
            customer = CustomerRef(id: cid, organizationID: order?.organizationID)
        }

        // 1. external references
        for ref in refs {
            guard let info = directory.thread(forReference: ref) else { continue }
            if info.status.isOpen {
                return result(.existing(info.id), .externalReference, customer, order)
            }
            if info.status == .resolved, resolvedCandidate == nil { resolvedCandidate = info }
        }

        // 2. order number
        if let o = order, let info = directory.openThread(forOrder: o.id) {
            return result(.existing(info.id), .orderNumber, customer, order)
        }

        // 3. customer with an open thread on the same brand
        if let c = customer, let info = directory.openThread(customer: c.id, brand: brand) {
            return result(.existing(info.id), .customerOpenThread, customer, order)
        }

        // 4. reopen a resolved thread of the same reference
        if let info = resolvedCandidate, let resolvedAt = info.resolvedAt,
           message.receivedAt.timeIntervalSince(resolvedAt) <= reopenWindow {
            return result(.reopen(info.id), .reopened, customer, order)
        }
        return result(.new, .newThread, customer, order)
    }

    struct CustomerRef {
        var id: CustomerID
        var organizationID: OrganizationID?
    }

    private func findCustomer(_ party: ExternalParty, in directory: some MatchingDirectory) -> CustomerRef? {
        if let e = party.email.flatMap(EmailAddress.init), let c = directory.customer(email: e) {
            return CustomerRef(id: c.id, organizationID: c.organizationID)
        }
        for raw in [party.phone, party.waID] {
            if let p = raw.flatMap({ PhoneNumber($0) }), let c = directory.customer(phone: p) {
                return CustomerRef(id: c.id, organizationID: c.organizationID)
            }
        }
        return nil
    }

    private func result(_ d: MatchResult.Decision, _ rule: MatchRule, _ c: CustomerRef?, _ o: Order?) -> MatchResult {
        MatchResult(decision: d, rule: rule, customerID: c?.id ?? o?.customerID,
                    organizationID: c?.organizationID ?? o?.organizationID, orderID: o?.id)
    }
}
