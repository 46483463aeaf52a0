import CommHubDomain
import CommHubEngine
import CommHubStore
import Foundation
import Logging

/// Upgrades a store written before encryption at rest, at the first start
/// of this version, before anything is served: every journal record, body
/// and audit row is sealed in place (`JournalWriter.sealLegacyRecords`), a
/// snapshot is taken and every older one dropped (they hold records in the
/// clear), and the file is compacted into a fresh copy with the old one
/// overwritten (`StoreCompaction`), so no clear copy stays in LMDB's free
/// pages. Until then the GDPR guarantee "no byte of an erased person can be
/// read" would not hold for what was written before.
///
/// Interruption-safe: `<store>.sealing` is written before the first step
/// and removed after the compaction; a start that finds it (or a store not
/// marked sealed) runs the whole upgrade again: every step is idempotent.
public enum LegacyStoreSealing {
    static func markerPath(_ storeDirectory: String) -> String { storeDirectory + ".sealing" }

    /// Opens the store with `open`, upgrading it first when it needs it.
    public static func open(storeDirectory: String, logger: Logger,
                            _ open: () throws -> DurableEngine) async throws -> DurableEngine {
        try StoreCompaction.recover(storeDirectory: storeDirectory)
        let durable = try open()
        let marker = markerPath(storeDirectory)
        let interrupted = FileManager.default.fileExists(atPath: marker)
        guard try !durable.writer.isSealed || interrupted else { return durable }
        logger.notice("sealing the records of a store written before encryption at rest (once; before serving)")
        let began = ContinuousClock.now
        do {
            try DurableFile.write(Array("sealing records written before encryption at rest\n".utf8), to: marker, replacing: true)
            // Every message's thread, from the store's message index (the engine keeps only recent ones).
            let threads = try durable.writer.indexedThreads()
            let report = try await durable.writer.sealLegacyRecords(threadOf: { threads[$0] })
            _ = try await durable.snapshot()
            try await durable.writer.dropOlderSnapshots()
            await durable.shutdown()
            try StoreCompaction.compact(storeDirectory: storeDirectory, logger: logger)
            let reopened = try open()
            if FileManager.default.fileExists(atPath: marker) { try FileManager.default.removeItem(atPath: marker) }
            DurableFile.syncDirectory((storeDirectory as NSString).deletingLastPathComponent)
            logger.notice("store sealed", metadata: ["seal.journal_records": "\(report.journalRecords)", "seal.bodies": "\(report.bodies)",
                                                     "seal.audit_rows": "\(report.auditRows)",
                                                     "seal.seconds": "\((ContinuousClock.now - began).components.seconds)"])
            return reopened
        } catch {
            await durable.shutdown()
            throw error
        }
    }
}
