import CommHubDomain
import Foundation

/// The supervisor's look-up tables for thread matching: external
/// references, the customer directory (customers, organisations, orders) and
/// which open threads each customer and order has. Updated only by `apply`,
/// live and on replay alike.
public struct MatchIndex: MatchingDirectory, Sendable {
    /// Widest alignment first: 56 bytes a row instead of 64 (one per thread,
    /// in a table that is about half full).
    struct Row: Sendable {
        var lastActivity: Date
        var resolvedAt: Date?
        var customer: CustomerID?
        var order: OrderID?
        var status: ThreadStatus
        var brand: Brand?
        /// The thread has a customer organisation (which organisation the
        /// thread actor knows; the matcher only asks whether a link is missing).
        /// Fits in the row's padding: still 56 bytes.
        var organizationLinked: Bool

        init(status: ThreadStatus, brand: Brand?, customer: CustomerID?, order: OrderID?, organizationLinked: Bool,
             lastActivity: Date, resolvedAt: Date?) {
            self.lastActivity = lastActivity; self.resolvedAt = resolvedAt; self.customer = customer; self.order = order
            self.status = status; self.brand = brand; self.organizationLinked = organizationLinked
        }

        init(_ h: ThreadHeader, lastActivity: Date, resolvedAt: Date?) {
            self.init(status: h.status, brand: h.businessEntity, customer: h.customerID, order: h.orderID,
                      organizationLinked: h.customerOrganizationID != nil, lastActivity: lastActivity, resolvedAt: resolvedAt)
        }
    }

    struct CustomerBrand: Hashable, Sendable {
        var customer: CustomerID
        var brand: Brand?
    }

    private(set) var rows: [ThreadID: Row] = [:]
    private(set) var references: [ExternalReference: ThreadID] = [:]
    public private(set) var customers: [CustomerID: Customer] = [:]
    public private(set) var organizations: [OrganizationID: Organization] = [:]
    public private(set) var orders: [OrderID: Order] = [:]
    private var ordersByNumber: [String: OrderID] = [:]
    private var customersByEmail: [EmailAddress: CustomerID] = [:]
    private var customersByPhone: [PhoneNumber: CustomerID] = [:]
    private var openByCustomer: [CustomerBrand: [ThreadID]] = [:]
    private var openByOrder: [OrderID: [ThreadID]] = [:]

    public init() {}

    public var threadCount: Int { rows.count }

    // MARK: MatchingDirectory

    public func thread(forReference ref: ExternalReference) -> ThreadMatchInfo? {
        references[ref].flatMap(info)
    }

    public func order(number: String) -> Order? {
        ordersByNumber[number].flatMap { orders[$0] }
    }

    public func openThread(forOrder id: OrderID) -> ThreadMatchInfo? {
        mostRecent(openByOrder[id])
    }

    public func customer(email: EmailAddress) -> Customer? {
        customersByEmail[email].flatMap { customers[$0] }
    }

    public func customer(phone: PhoneNumber) -> Customer? {
        customersByPhone[phone].flatMap { customers[$0] }
    }

    public func openThread(customer: CustomerID, brand: Brand?) -> ThreadMatchInfo? {
        mostRecent(openByCustomer[CustomerBrand(customer: customer, brand: brand)])
    }

    public func completeLinks(of thread: ThreadID) -> CompleteLinks? {
        guard let row = rows[thread], row.organizationLinked, let c = row.customer, let o = row.order else { return nil }
        return CompleteLinks(customer: c, order: o)
    }

    func info(_ id: ThreadID) -> ThreadMatchInfo? {
        rows[id].map { ThreadMatchInfo(id: id, status: $0.status, brand: $0.brand, resolvedAt: $0.resolvedAt) }
    }

    private func mostRecent(_ ids: [ThreadID]?) -> ThreadMatchInfo? {
        guard let ids, let best = ids.max(by: { (rows[$0]?.lastActivity ?? .distantPast) < (rows[$1]?.lastActivity ?? .distantPast) })
        else { return nil }
        return info(best)
    }

    // MARK: Mutation

    public mutating func apply(_ event: EngineEvent) {
        switch event {
        case .customerUpserted(let c):
            if let old = customers[c.id] {
                for e in old.emails where customersByEmail[e] == c.id { customersByEmail[e] = nil }
                for p in old.phones where customersByPhone[p] == c.id { customersByPhone[p] = nil }
            }
            customers[c.id] = c
            for e in c.emails { customersByEmail[e] = c.id }
            for p in c.phones { customersByPhone[p] = c.id }
        case .organizationUpserted(let o):
            organizations[o.id] = o
        case .orderUpserted(let o):
            if let old = orders[o.id], ordersByNumber[old.orderNumber] == o.id { ordersByNumber[old.orderNumber] = nil }
            orders[o.id] = o
            ordersByNumber[o.orderNumber] = o.id
        case .threadOpened(let h):
            rows[h.id] = Row(h, lastActivity: h.createdAt, resolvedAt: nil)
            for r in h.externalReferences { references[r] = h.id }
            if h.status.isOpen { linkOpen(h.id) }
        case .referenceAdded(let t, let r):
            references[r] = t
        case .messageAdded(let m, _, _):
            // One look-up per message (this runs for every ingest and every replayed message).
            if let i = rows.index(forKey: m.threadID) {
                rows.values[i].lastActivity = max(rows.values[i].lastActivity, m.createdAt)
            }
        case .threadChanged(let t, let change, let at):
            guard var row = rows[t] else { return }
            let wasOpen = row.status.isOpen
            if wasOpen { unlinkOpen(t) }
            if let c = change.customerID { row.customer = c }
            if let o = change.orderID { row.order = o }
            if change.customerOrganizationID != nil { row.organizationLinked = true }
            if let s = change.status {
                row.status = s
                if !s.isOpen, wasOpen || row.resolvedAt == nil { row.resolvedAt = at }
                if s.isOpen { row.resolvedAt = nil }
            }
            row.lastActivity = max(row.lastActivity, at)
            rows[t] = row
            if row.status.isOpen { linkOpen(t) }
        default:
            return
        }
    }

    /// Makes room for `n` threads (snapshot restore).
    mutating func reserve(threads n: Int) {
        rows.reserveCapacity(n)
        references.reserveCapacity(n)
    }

    /// Adds a thread as it stands (when rebuilding from a snapshot).
    mutating func restore(_ h: ThreadHeader) {
        rows[h.id] = Row(h, lastActivity: max(h.lastMessageAt ?? h.createdAt, h.updatedAt),
                         resolvedAt: h.status.isOpen ? nil : (h.resolvedAt ?? h.updatedAt))
        for r in h.externalReferences { references[r] = h.id }
        if h.status.isOpen { linkOpen(h.id) }
    }

    private mutating func linkOpen(_ t: ThreadID) {
        guard let row = rows[t] else { return }
        if let c = row.customer { openByCustomer[CustomerBrand(customer: c, brand: row.brand), default: []].append(t) }
        if let o = row.order { openByOrder[o, default: []].append(t) }
    }

    private mutating func unlinkOpen(_ t: ThreadID) {
        guard let row = rows[t] else { return }
        if let c = row.customer {
            let key = CustomerBrand(customer: c, brand: row.brand)
            openByCustomer[key]?.removeAll { $0 == t }
            if openByCustomer[key]?.isEmpty == true { openByCustomer[key] = nil }
        }
        if let o = row.order {
            openByOrder[o]?.removeAll { $0 == t }
            if openByOrder[o]?.isEmpty == true { openByOrder[o] = nil }
        }
    }

    // MARK: Erasure

    /// The threads whose row `include` accepts (erasure, retention, export).
    func threads(where include: (Row) -> Bool) -> [ThreadID] {
        rows.compactMap { include($0.value) ? $0.key : nil }
    }

    /// Forgets an erased customer (and their orders) and turns threads into
    /// their skeletons: no reference and no customer leads to them any more.
    /// Scans the reference table once (erasures are rare; the table is not
    /// indexed by thread).
    mutating func erase(customer: CustomerID?, orderIDs: [OrderID], threads: [ThreadHeader]) {
        if let id = customer, let old = customers.removeValue(forKey: id) {
            for e in old.emails where customersByEmail[e] == id { customersByEmail[e] = nil }
            for p in old.phones where customersByPhone[p] == id { customersByPhone[p] = nil }
        }
        for o in orderIDs {
            if let old = orders.removeValue(forKey: o), ordersByNumber[old.orderNumber] == o { ordersByNumber[old.orderNumber] = nil }
            openByOrder[o] = nil
        }
        let ids = Set(threads.map(\.id))
        if !ids.isEmpty { references = references.filter { !ids.contains($0.value) } }
        for h in threads {
            if rows[h.id] != nil { unlinkOpen(h.id) }
            let old = rows[h.id]
            rows[h.id] = Row(h, lastActivity: old?.lastActivity ?? max(h.lastMessageAt ?? h.createdAt, h.updatedAt),
                             resolvedAt: old?.resolvedAt ?? h.resolvedAt)
            if h.status.isOpen { linkOpen(h.id) }
        }
    }
}
