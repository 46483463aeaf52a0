import CommHubDomain
import Testing

@Suite("Delivery status progress")
struct DeliveryProgressTests {
    @Test("provider reports move a message forward only")
    func forwardOnly() {
        #expect(DeliveryStatus.delivered.advances(from: .sent))
        #expect(DeliveryStatus.read.advances(from: .delivered))
        #expect(!DeliveryStatus.delivered.advances(from: .read), "a late 'delivered' does not undo 'read'")
        #expect(!DeliveryStatus.sent.advances(from: .sent), "a repeated report changes nothing")
        #expect(DeliveryStatus.failed.advances(from: .sent))
        #expect(!DeliveryStatus.failed.advances(from: .delivered))
        #expect(DeliveryStatus.delivered.advances(from: .failed))
        #expect(DeliveryStatus.sent.advances(from: .pending))
    }
}
