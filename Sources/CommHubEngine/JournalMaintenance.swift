import CommHubDomain
import CommHubStore
import Foundation
import Logging

/// `commhub journal check` and `commhub journal repair`: what an operator
/// runs when start-up refused a damaged journal. Check is read-only; repair
/// shows its plan first and changes nothing without `confirm`. An applied
/// repair is recorded twice: in the store's meta table (`journal/repairs/…`)
/// and as an audit entry in the journal itself, so `GET /api/audit` shows it.
public enum JournalMaintenance {
    /// What a check found, with the snapshots that decide what restore needs.
    public struct Report: Sendable {
        public var check: JournalCheck
        public var snapshots: [SnapshotInfo]
        public var repairs: [String]
        public var health: JournalHealth?

        /// Where each damaged place stands relative to the newest snapshot.
        public func needed(_ d: JournalDamage) -> Bool {
            guard let newest = snapshots.first, let seq = d.seq else { return true }
            return (d.throughSeq ?? seq) > newest.startSeq
        }

        public var text: String {
            var lines: [String] = []
            let first = check.firstSeq.map(String.init) ?? "-"
            lines.append("journal: seqs \(first)–\(check.lastSeq), \(check.records) records (\(check.voidRecords) void), "
                + "pruned through \(check.prunedThrough)")
            if snapshots.isEmpty {
                lines.append("snapshots: none (restore replays the whole journal)")
            } else {
                lines.append("snapshots: " + snapshots.map { "#\($0.id) reflects through seq \($0.startSeq)" }.joined(separator: ", "))
            }
            if check.isClean {
                lines.append("damage: none")
            } else {
                lines.append("damage: \(check.damageCount) place(s)")
                for d in check.damage.prefix(50) {
                    lines.append("  - \(d)")
                    lines.append(needed(d) ? "    restore needs it (it lies after the newest snapshot)"
                                           : "    restore does not need it (the newest snapshot reflects it)")
                }
                if check.damageCount > 50 { lines.append("  - … and \(check.damageCount - 50) more") }
            }
            lines.append("repairs done before: \(repairs.isEmpty ? "none" : "\(repairs.count)")")
            for r in repairs { lines.append("  \(r)") }
            return lines.joined(separator: "\n")
        }

        public var json: JSONValue {
            .object([
                "first_seq": check.firstSeq.map { .number(Double($0)) } ?? .null,
                "last_seq": .number(Double(check.lastSeq)),
                "records": .number(Double(check.records)),
                "void_records": .number(Double(check.voidRecords)),
                "pruned_through": .number(Double(check.prunedThrough)),
                "damage_count": .number(Double(check.damageCount)),
                "damage": .array(check.damage.map { d in
                    .object(["kind": .string(d.kind.rawValue), "seq": d.seq.map { .number(Double($0)) } ?? .null,
                             "through_seq": d.throughSeq.map { .number(Double($0)) } ?? .null,
                             "description": .string(d.description), "needed_by_restore": .bool(needed(d))])
                }),
                "snapshots": .array(snapshots.map { .object(["id": .number(Double($0.id)),
                                                             "start_seq": .number(Double($0.startSeq))]) }),
                "repairs": .array(repairs.map(JSONValue.string)),
            ])
        }
    }

    public static func report(_ writer: JournalWriter) throws -> Report {
        Report(check: try writer.checkJournal(), snapshots: try writer.snapshots(), repairs: try writer.repairHistory(),
               health: writer.health)
    }

    /// Opens the store of a stopped engine (the store lock refuses while one serves).
    public static func open(dataDirectory: String, options: JournalOptions = JournalOptions(),
                            logger: Logger) throws -> JournalWriter {
        try JournalWriter(directory: (dataDirectory as NSString).appendingPathComponent("lmdb"), options: options,
                          logger: logger)
    }

    /// Plans the repair; with `confirm`, performs it and audits it.
    public static func repair(_ writer: JournalWriter, confirm: Bool, operator who: String,
                              now: Date = Date()) async throws -> JournalRepair {
        let repair = try writer.repairJournal(apply: confirm, now: now)
        guard repair.applied else { return repair }
        let entry = AuditEntry(at: now, actorContactID: nil, actorTokenID: nil, action: "journal.repair", entity: "journal",
                               entityID: repair.actions.map(\.description).joined(separator: "; ").prefix(200).description,
                               after: .object(["operator": .string(who),
                                               "lost_events": .number(Double(repair.lostEvents)),
                                               "actions": .array(repair.actions.map { .string($0.description) })]))
        try await writer.waitDurable(try writer.append(.audited(entry)))
        return repair
    }
}
