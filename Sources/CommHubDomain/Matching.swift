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
    /// The customer and order of a thread that is linked to a customer, an
    /// order and an organisation; nil when a link is missing. A message
    /// matched to such a thread has nothing left to link, so the matcher
    /// skips the customer and order look-ups for it.
    func completeLinks(of thread: ThreadID) -> CompleteLinks?
}

/// A thread's links when it has all three (customer, order, organisation).
public struct CompleteLinks: Sendable, Hashable {
    public var customer: CustomerID
    public var order: OrderID

    public init(customer: CustomerID, order: OrderID) {
        self.customer = customer; self.order = order
    }
}

extension MatchingDirectory {
    /// Directories that do not track links never let the matcher skip a look-up.
    public func completeLinks(of thread: ThreadID) -> CompleteLinks? { nil }
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
        // 1. external references, looked at first: a reply to a thread that
        // has all its links needs neither the customer nor the order look-up.
        var resolvedCandidate: ThreadMatchInfo?
        var openByReference: ThreadMatchInfo?
        func consider(_ ref: ExternalReference) -> Bool {
            guard let info = directory.thread(forReference: ref) else { return false }
            if info.status.isOpen { openByReference = info; return true }
            if info.status == .resolved, resolvedCandidate == nil { resolvedCandidate = info }
            return false
        }
        if let r = message.threadReference, consider(r) {
        } else {
            for id in message.inReplyTo where consider(ExternalReference(.emailMessageID, id)) { break }
        }
        if let info = openByReference, let links = directory.completeLinks(of: info.id) {
            // The thread keeps the links it has (ThreadState only fills missing ones): report them.
            return MatchResult(decision: .existing(info.id), rule: .externalReference, customerID: links.customer,
                               organizationID: nil, orderID: links.order)
        }

        var customer = findCustomer(message.senderExternal, in: directory)
        // The first known order number in subject or body: rule 2, and a link
        // to record on the thread whichever rule matches.
        let order = firstKnownOrder(message, in: directory)
        if customer == nil, let cid = order?.customerID {
            customer = CustomerRef(id: cid, organizationID: order?.organizationID)
        }
        if let info = openByReference {
            return result(.existing(info.id), .externalReference, customer, order)
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

    /// The first order number in subject or body that the directory knows.
    /// Subject first, then body: the same answer as scanning "subject\nbody"
    /// (a line break is no separator in `OrderNumberPattern`, so no number
    /// spans the two), without building that text for every message.
    private func firstKnownOrder(_ message: InboundMessage, in directory: some MatchingDirectory) -> Order? {
        if let subject = message.subject, let o = firstKnownOrder(in: subject, directory) { return o }
        return firstKnownOrder(in: message.messageContent, directory)
    }

    private func firstKnownOrder(in text: String, _ directory: some MatchingDirectory) -> Order? {
        orderPattern.candidates(in: text).lazy.compactMap { directory.order(number: $0) }.first
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
