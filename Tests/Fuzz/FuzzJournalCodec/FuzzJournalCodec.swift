import CommHubDomain
import FuzzSupport

// libFuzzer target: the journal's event codec, the bytes restore reads back
// from LMDB. A thrown error is a refused record (fine); a trap, an
// out-of-bounds read or a hang is a crash. Whatever decodes must survive the
// round trip the journal itself makes: re-encoded as the journal writes it
// and decoded again, it is the same value.
//
// The first input byte picks the reader: even → `decode(_:version:)` (an
// event, compact or JSON), odd → `decodeBody` (a message body); the rest is
// the record.

private let codec = EventCodec()

private func checkEvent(_ record: [UInt8], input: [UInt8]) {
    guard let event = try? codec.decode(record, version: 1) else { return }
    // What restore would see if the engine journaled this event again.
    let again: [UInt8]
    do {
        again = try codec.encodeForJournal(event)
    } catch {
        fuzzFailure("FuzzJournalCodec", "decoded event \(event.name) cannot be journaled again: \(error)", input: input)
    }
    let back: EngineEvent
    do {
        back = try codec.decode(again, version: 1)
    } catch {
        fuzzFailure("FuzzJournalCodec", "re-journaled \(event.name) does not decode: \(error)", input: input)
    }
    guard sameValue(back, event) else {
        fuzzFailure("FuzzJournalCodec", "\(event.name) changed in the round trip:\n  \(event)\n  \(back)", input: input)
    }
}

private func checkBody(_ record: [UInt8], input: [UInt8]) {
    guard let body = try? codec.decodeBody(record) else { return }
    let again: [UInt8]
    do {
        again = try codec.encodeBody(body)
    } catch {
        fuzzFailure("FuzzJournalCodec", "decoded body cannot be encoded again: \(error)", input: input)
    }
    let back: MessageBody
    do {
        back = try codec.decodeBody(again)
    } catch {
        fuzzFailure("FuzzJournalCodec", "re-encoded body does not decode: \(error)", input: input)
    }
    guard sameValue(back, body) else {
        fuzzFailure("FuzzJournalCodec", "body changed in the round trip:\n  \(body)\n  \(back)", input: input)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard let selector = input.first else { return 0 }
    let record = Array(input.dropFirst())
    if selector & 1 == 0 { checkEvent(record, input: input) } else { checkBody(record, input: input) }
    return 0
}

@_cdecl("FuzzJournalCodec_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    libFuzzerMain(argc, argv, fuzzOne)
}
