import CommHubDomain
import CommHubEngine
import CommHubStore
import Foundation
import Logging

/// Hot backup and standby preparation.
///
/// An export directory holds `lmdb/` (a compacted, consistent copy made by
/// `mdb_env_copy2`) and, when the data directory has one, `master.key`
/// (mode 0600) so that sealed channel secrets stay readable. Keep exports
/// as safe as the data directory itself.
public enum Backup {
    /// Copies a live engine's store (called through the admin socket).
    public static func export(_ durable: DurableEngine, dataDirectory: String, to target: String) async throws -> JSONValue {
        try prepareEmpty(target)
        let info = try await durable.snapshot()
        try durable.writer.exportCopy(to: (target as NSString).appendingPathComponent("lmdb"))
        try copyKey(from: dataDirectory, to: target)
        return .object(["exported_to": .string(target), "snapshot_id": .number(Double(info.id)),
                        "last_seq": .number(Double(durable.writer.lastAssignedSeq))])
    }

    /// Copies a store no process is serving.
    public static func export(dataDirectory: String, to target: String, logger: Logger) async throws {
        try prepareEmpty(target)
        let writer = try JournalWriter(directory: (dataDirectory as NSString).appendingPathComponent("lmdb"), logger: logger)
        defer { writer.close() }
        try writer.exportCopy(to: (target as NSString).appendingPathComponent("lmdb"))
        try copyKey(from: dataDirectory, to: target)
    }

    /// Prepares `data` from an export and proves it restores: opens it,
    /// restores the engine, and reports what it holds.
    public static func restore(from source: String, to data: String, logger: Logger) async throws -> String {
        let lmdb = (source as NSString).appendingPathComponent("lmdb")
        guard FileManager.default.fileExists(atPath: (lmdb as NSString).appendingPathComponent("data.mdb")) else {
            throw BackupError("\(source) is not an export (no lmdb/data.mdb): give the directory `commhub snapshot export` wrote")
        }
        try prepareEmpty(data)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: data)
        try FileManager.default.copyItem(atPath: lmdb, toPath: (data as NSString).appendingPathComponent("lmdb"))
        try copyKey(from: source, to: data)
        let durable = try DurableEngine(directory: (data as NSString).appendingPathComponent("lmdb"), clock: SystemClock(), logger: logger)
        let r = durable.restoreReport
        let threads = await durable.engine.supervisor.threadCount
        await durable.shutdown(snapshot: false)
        return "{\"ok\":true,\"data\":\"\(data)\",\"threads\":\(threads),\"last_seq\":\(r.lastSeq),\"snapshot_id\":\(r.snapshotID.map(String.init) ?? "null"),\"replayed_events\":\(r.replayedEvents)}"
    }

    static func prepareEmpty(_ dir: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: dir) {
            guard (try fm.contentsOfDirectory(atPath: dir)).isEmpty else { throw BackupError("\(dir) is not empty: give a new or empty directory") }
        } else {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
    }

    static func copyKey(from: String, to: String) throws {
        let key = (from as NSString).appendingPathComponent("master.key")
        guard FileManager.default.fileExists(atPath: key) else { return }
        let target = (to as NSString).appendingPathComponent("master.key")
        try FileManager.default.copyItem(atPath: key, toPath: target)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: target)
    }
}

/// Why an export or a standby preparation was refused.
public struct BackupError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
