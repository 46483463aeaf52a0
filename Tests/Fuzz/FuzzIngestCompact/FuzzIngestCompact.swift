import CommHubDomain
import CommHubWire
import FuzzSupport

// libFuzzer target: the compact ingest codec (`ingestCompact` frames from
// gateways, `resultsCompact` answers read by clients). A thrown error is a
// refused payload (fine); a trap, an out-of-bounds read or a hang is a crash.
// Whatever decodes must survive the codec's own round trip: encoded again
// and decoded, the same items, and encoding those gives the same bytes.
//
// The first input byte picks the reader: even → `IngestCompact.decode`
// (items), odd → `IngestCompact.decodeResults` (answers); the rest is the
// payload.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard let selector = input.first else { return 0 }
    let payload = Array(input.dropFirst())
    if selector & 1 == 0 {
        checkItems(payload, input: input)
    } else {
        _ = try? IngestCompact.decodeResults(payload)
    }
    return 0
}

@_cdecl("FuzzIngestCompact_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    libFuzzerMain(argc, argv, fuzzOne)
}

private func checkItems(_ payload: [UInt8], input: [UInt8]) {
    guard let items = try? IngestCompact.decode(payload) else { return }
    let again: [UInt8]
    do {
        again = try IngestCompact.encode(items)
    } catch {
        fuzzFailure("FuzzIngestCompact", "decoded items cannot be encoded again: \(error)", input: input)
    }
    let back: [IngestItem]
    do {
        back = try IngestCompact.decode(again)
    } catch {
        fuzzFailure("FuzzIngestCompact", "re-encoded items do not decode: \(error)", input: input)
    }
    guard sameValue(items.map(ComparableItem.init), back.map(ComparableItem.init)) else {
        fuzzFailure("FuzzIngestCompact", "items changed in the round trip:\n  \(items)\n  \(back)", input: input)
    }
    guard (try? IngestCompact.encode(back)) == again else {
        fuzzFailure("FuzzIngestCompact", "encoding is not stable over a round trip", input: input)
    }
}
