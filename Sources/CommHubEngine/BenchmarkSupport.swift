import CommHubDomain

// Public hooks the benchmark suites (Benchmarks/, a separate package) need.
// Nothing in the engine calls them.

extension MemoryBodies {
    /// Files the bodies of a committed batch, as `Engine`'s commit hook does.
    /// Lets a benchmark wire a `MemoryJournal` to an engine's read model, bus
    /// and body table directly, without `CommitRelay`.
    public func fileForBenchmarks(_ batch: [SequencedEvent]) { file(batch) }
}
