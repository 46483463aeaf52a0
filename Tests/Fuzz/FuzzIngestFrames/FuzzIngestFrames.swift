import CommHubDomain
import CommHubWire
import Foundation
import FuzzSupport

// libFuzzer target: the ingest stream as a gateway connection delivers it
// to `IngestProtocol.drain`, and the payload of every frame drained, read
// as the listener reads it. A thrown error is a refused stream or payload
// (fine); a trap, an out-of-bounds read or a hang is a crash.
//
// Properties of the framing:
// - the stream fed in pieces (TCP may split it anywhere) gives the same
//   frames and the same error as the stream in one piece;
// - the frames drained, encoded again, are exactly the bytes consumed, and
//   what stays in the buffer is an incomplete frame.
//
// The first input byte sets the piece size; the rest is the stream.

private struct Hello: Decodable { var token: String }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard let first = input.first else { return 0 }
    let stream = Array(input.dropFirst())

    var whole = stream
    let oneShot = Result { try IngestProtocol.drain(&whole) }

    // The same bytes in pieces, draining after each one as the listener does.
    // (At least 1/64 of the stream per piece, so the check stays linear.)
    let piece = max(Int(first) + 1, stream.count / 64)
    var buffer: [UInt8] = []
    var frames: [IngestProtocol.Frame] = []
    var pieceError: (any Error)?
    var at = 0
    while at < stream.count, pieceError == nil {
        let end = min(at + piece, stream.count)
        buffer += stream[at..<end]
        at = end
        do { frames += try IngestProtocol.drain(&buffer) } catch { pieceError = error }
    }

    switch oneShot {
    case .success(let all):
        guard pieceError == nil, frames == all, buffer == whole else {
            fuzzFailure("FuzzIngestFrames", "pieces of \(piece) bytes drain differently from one piece: \(all.count) vs \(frames.count) frames, error \(String(describing: pieceError))", input: input)
        }
        let consumed = all.flatMap { $0.encoded() }
        guard consumed[...] == stream[..<(stream.count - whole.count)] else {
            fuzzFailure("FuzzIngestFrames", "drained frames do not encode to the bytes they were read from", input: input)
        }
        guard incompleteFrame(whole) else {
            fuzzFailure("FuzzIngestFrames", "drain left a complete frame behind (\(whole.count) bytes)", input: input)
        }
        for f in all { readPayload(f) }
    case .failure(let error):
        guard let e1 = error as? IngestProtocol.FrameError, let e2 = pieceError as? IngestProtocol.FrameError, e1 == e2 else {
            fuzzFailure("FuzzIngestFrames", "one piece failed with \(error), pieces with \(String(describing: pieceError))", input: input)
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

/// What the listener does with each frame's payload.
private func readPayload(_ f: IngestProtocol.Frame) {
    switch IngestProtocol.Kind(rawValue: f.kind) {
    case .hello?:
        _ = try? JSONDecoder().decode(Hello.self, from: Data(f.payload))
    case .ingest?:
        do {
            _ = try ContractJSON.sharedDecoder.decode(IngestBatch.self, from: Data(f.payload))
        } catch {
            _ = ContractJSON.describe(error)
        }
    case .ingestCompact?:
        _ = try? IngestCompact.decode(f.payload)
    case .resultsCompact?:
        _ = try? IngestCompact.decodeResults(f.payload)
    default:
        break
    }
}
