import CommHubWire
import Foundation

public typealias GatewayMessage = GatewayProtocol.OutgoingMessage
public typealias GatewayChannelSettings = GatewayProtocol.GatewayChannel

/// When to try again after a send that certainly did not reach the provider
/// (the connection could not be made): exponential in the attempt, with
/// jitter so that many messages of one channel do not retry in step.
public enum RetryBackoff {
    public static let baseSeconds = 5.0
    public static let maxSeconds = 300.0

    public static func delay(attempt: Int, jitter: Double = Double.random(in: 0...1)) -> TimeInterval {
        let exponent = Double(min(max(attempt - 1, 0), 16))
        let raw = min(maxSeconds, baseSeconds * pow(2, exponent))
        return raw * (0.75 + 0.5 * min(max(jitter, 0), 1))
    }
}
