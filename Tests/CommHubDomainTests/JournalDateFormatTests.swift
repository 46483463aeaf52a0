import CommHubDomain
import Foundation
import Testing

/// One truth for dates in the journal, pinned by golden bytes: seconds since
/// 2001-01-01T00:00:00Z (the number `Date` holds), in the JSON payloads and
/// in the compact ones. (FORMAT.md once said 1970 in one place.)
@Suite struct JournalDateFormatTests {
    /// 2026-11-25T10:00:00Z is 817,293,600 s after 2001-01-01 (and 1,795,600,800 after 1970).
    static let expected = Date(timeIntervalSince1970: 1_795_600_800)

    @Test func aJSONPayloadWrittenByAnEarlierVersionReadsItsDateAsSince2001() throws {
        let golden = #"{"tokenRevoked":{"at":817293600,"token":"6f1c1a2e-3d4b-4c5d-8e6f-7a8b9c0d1e2f"}}"#
        let event = try EventCodec().decode(Array(golden.utf8), version: 1)
        guard case .tokenRevoked(_, let at) = event else { Issue.record("\(event)"); return }
        #expect(at == Self.expected)
    }

    @Test func aCompactPayloadReadsItsDateAsAFloat64Since2001() throws {
        // marker 0x00, case 3 (deliveryStatusChanged), message uuid, thread uuid, status tag, date (f64 LE).
        var bytes: [UInt8] = [0x00, 3]
        bytes += [UInt8](repeating: 0x11, count: 16) + [UInt8](repeating: 0x22, count: 16)
        let tag = UInt8(DeliveryStatus.allCases.firstIndex(of: .delivered)!)
        bytes.append(tag)
        withUnsafeBytes(of: Double(817_293_600).bitPattern.littleEndian) { bytes += $0 }
        let event = try EventCodec().decode(bytes, version: 1)
        guard case .deliveryStatusChanged(_, _, let status, let at) = event else { Issue.record("\(event)"); return }
        #expect(status == .delivered)
        #expect(at == Self.expected)
    }
}
