import CommHubDomain
import CommHubWire
import Foundation
import FuzzSupport

// libFuzzer target: the ingest stream as a gateway connection delivers it —
// the listener's `IngestProtocol.FrameReader`, the client's
// `IngestProtocol.drain` — and the payload of every frame, read as the
// listener reads it. A thrown error is a refused stream or payload (fine);
// a trap, an out-of-bounds read or a hang is a crash.
//
// Properties of the framing:
// - the stream fed to the reader in pieces (TCP may split it anywhere)
//   gives the same frames and the same error as `drain` on the whole;
// - the reader never holds more than one frame's bound plus one piece;
// - the frames, encoded again, are exactly the bytes consumed, and what
//   stays behind is an incomplete frame.
//
// The first input byte sets the piece size; the rest is the stream.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard let first = input.first else { return 0 }
    let stream = Array(input.dropFirst())
    func fail(_ why: String) -> Never { fuzzFailure("FuzzIngestFrames", why, input: input) }

    var whole = stream
    let drained = Result { try IngestProtocol.drain(&whole) }

    // The reader, fed in pieces as the listener feeds it (at least 1/64 of
    // the stream per piece, so the check stays linear).
    let piece = max(Int(first) + 1, stream.count / 64)
    let bound = IngestProtocol.maxFrame
    var reader = IngestProtocol.FrameReader()
    var frames: [IngestProtocol.Frame] = []
    var readerError: IngestProtocol.FrameError?
    var at = 0
    reading: while at < stream.count {
        let end = min(at + piece, stream.count)
        reader.append(stream[at..<end])
        at = end
        while true {
            do {
                guard let f = try reader.next(maxFrameBytes: bound) else { break }
                frames.append(f)
            } catch {
                readerError = error
                break reading
            }
        }
        guard reader.bufferedBytes <= bound + piece else {
            fail("the reader holds \(reader.bufferedBytes) bytes, more than a frame (\(bound)) and a piece (\(piece))")
        }
    }

    switch drained {
    case .success(let all):
        guard readerError == nil, frames == all, reader.bufferedBytes == whole.count else {
            fail("pieces of \(piece) bytes read differently from drain: \(all.count) vs \(frames.count) frames, error \(String(describing: readerError))")
        }
        let consumed = all.flatMap { $0.encoded() }
        guard consumed[...] == stream[..<(stream.count - whole.count)] else {
            fail("drained frames do not encode to the bytes they were read from")
        }
        guard incompleteFrame(whole) else { fail("drain left a complete frame behind (\(whole.count) bytes)") }
        for f in all { readPayload(f) }
    case .failure(let error):
        guard let e = error as? IngestProtocol.FrameError, e == readerError else {
            fail("drain failed with \(error), the reader with \(String(describing: readerError))")
        }
    }
    return 0
}

@_cdecl("FuzzIngestFrames_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    libFuzzerMain(argc, argv, fuzzOne)
}

/// Fewer than 4 bytes, or a valid length header whose frame has not fully arrived.
private func incompleteFrame(_ rest: [UInt8]) -> Bool {
    guard rest.count >= 4 else { return true }
    let n = Int(UInt32(rest[0]) << 24 | UInt32(rest[1]) << 16 | UInt32(rest[2]) << 8 | UInt32(rest[3]))
    return n >= 9 && n + 4 <= IngestProtocol.maxFrame && rest.count < n + 4
}

/// What the listener (and, for answers, the client) does with each payload.
private func readPayload(_ f: IngestProtocol.Frame) {
    switch IngestProtocol.Kind(rawValue: f.kind) {
    case .hello?:
        _ = try? WireJSON.decode(GatewayProtocol.Hello.self, from: f.payload, limits: .hello)
    case .claim?:
        _ = try? WireJSON.decode(GatewayProtocol.ClaimRequest.self, from: f.payload, limits: .ingestFrame)
    case .report?:
        _ = try? WireJSON.decode(GatewayProtocol.ReportFrame.self, from: f.payload, limits: .ingestFrame)
    case .ingest?:
        do {
            _ = try WireJSON.decode(IngestBatch.self, from: f.payload, limits: .ingestFrame)
        } catch {
            _ = WireJSON.describe(error)
        }
    case .ingestCompact?:
        do {
            _ = try IngestCompact.decode(f.payload)
        } catch {
            _ = WireJSON.describe(error)
        }
    case .resultsCompact?:
        _ = try? IngestCompact.decodeResults(f.payload)
    default:
        break
    }
}
