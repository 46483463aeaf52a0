/// SplitMix64: a small deterministic random generator, so that the demo
/// company and the load test's traffic are the same on every run with the
/// same seed. Not for anything secret.
public struct SplitMix: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<count` (`count` > 0); a slight modulo bias is fine for fixtures.
    public mutating func index(_ count: Int) -> Int {
        precondition(count > 0, "SplitMix.index needs a positive count")
        return Int(next() % UInt64(count))
    }
}
