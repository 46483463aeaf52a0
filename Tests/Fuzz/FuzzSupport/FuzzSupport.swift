import CLibFuzzer
import Foundation

// What every fuzz target shares. A target is one file (compiled with
// `-parse-as-library`) that defines two C symbols:
//
//     @_cdecl("LLVMFuzzerTestOneInput")
//     public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt
//     @_cdecl("<Target>_main")
//     public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
//         libFuzzerMain(argc, argv, fuzzOne)
//     }
//
// SwiftPM links every executable with `--defsym main=<Target>_main` (so tests
// can link executables); the second symbol satisfies that and hands over to
// libFuzzer's driver, which is what libFuzzer's own `main` does too.
//
// In `fuzzOne` a thrown error means the input was refused, which is fine; a
// broken property calls `fuzzFailure`. Traps, sanitizer reports, timeouts
// and memory blow-ups are caught by libFuzzer itself.

/// libFuzzer's driver: parses the command line (`-runs=`, corpus folders, ...)
/// and calls `callback` with each input.
public func libFuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                          _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}

/// The input as an array (libFuzzer passes a null pointer for the empty input).
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// A broken property (not a crash the runtime would catch): says what and
/// on which input, then aborts so libFuzzer saves the input as a crash.
public func fuzzFailure(_ target: String, _ why: String, input: [UInt8]) -> Never {
    let hex = input.prefix(512).map { String(format: "%02x", $0) }.joined()
    FileHandle.standardError.write(Data("\(target): \(why)\n  input (hex, first 512 bytes): \(hex)\n".utf8))
    abort()
}

/// `a == b` as a round trip means it: like `==`, except that a NaN date or
/// number equals a NaN with the same bits (a NaN is never `==` itself, yet
/// decoding the same NaN twice changed nothing). Walks the values with
/// `Mirror` only where `==` said no.
public func sameValue<T: Equatable>(_ a: T, _ b: T) -> Bool {
    a == b || sameAny(a, b)
}

private func sameAny(_ a: Any, _ b: Any) -> Bool {
    if let x = a as? Date, let y = b as? Date {
        return sameBits(x.timeIntervalSinceReferenceDate, y.timeIntervalSinceReferenceDate)
    }
    if let x = a as? Double, let y = b as? Double { return sameBits(x, y) }
    if let x = a as? AnyHashable, let y = b as? AnyHashable, x == y { return true }
    let ma = Mirror(reflecting: a)
    let mb = Mirror(reflecting: b)
    // Leaves that `==` already called different, and dictionaries and sets
    // (whose Mirror order is the hash order): different.
    guard ma.displayStyle != .dictionary, ma.displayStyle != .set,
          ma.children.count == mb.children.count, !ma.children.isEmpty,
          String(describing: type(of: a)) == String(describing: type(of: b))
    else { return false }
    for (x, y) in zip(ma.children, mb.children) {
        guard x.label == y.label, sameAny(x.value, y.value) else { return false }
    }
    return true
}

private func sameBits(_ x: Double, _ y: Double) -> Bool {
    x == y || (x.isNaN && y.isNaN && x.bitPattern == y.bitPattern)
}
