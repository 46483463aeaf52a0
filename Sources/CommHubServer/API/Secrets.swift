import CommHubDomain
import Crypto
import Foundation

/// Seals channel secrets (provider tokens, app secrets) with AES-GCM.
/// The key comes from `COMMHUB_MASTER_KEY` (32 bytes, base64 or hex) or a
/// 0600 key file created in the data directory on first start. Sealed
/// secrets are what the journal and snapshots store; the API never returns
/// them, only the names of the secrets that are set. Which configuration
/// keys are secrets is declared per channel type by `ChannelConfigurationSchema`.
public struct SecretBox: Sendable {
    private let key: SymmetricKey

    public init(key: SymmetricKey) { self.key = key }

    /// Loads the key from the environment or `<data>/master.key`, creating the file when neither exists.
    public static func load(dataDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SecretBox {
        if let text = environment["COMMHUB_MASTER_KEY"], !text.isEmpty {
            guard let bytes = decodeKey(text) else {
                throw SecretError("COMMHUB_MASTER_KEY must be 32 bytes, base64 or hex encoded")
            }
            return SecretBox(key: SymmetricKey(data: bytes))
        }
        let path = (dataDirectory as NSString).appendingPathComponent("master.key")
        if let data = FileManager.default.contents(atPath: path) {
            guard let bytes = decodeKey(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw SecretError("\(path) does not hold a 32-byte key")
            }
            return SecretBox(key: SymmetricKey(data: bytes))
        }
        let key = SymmetricKey(size: .bits256)
        let text = key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw SecretError("cannot create \(path)")
        }
        return SecretBox(key: key)
    }

    static func decodeKey(_ text: String) -> [UInt8]? {
        if let d = Data(base64Encoded: text), d.count == 32 { return Array(d) }
        if text.count == 64 {
            var out: [UInt8] = []
            var i = text.startIndex
            while i < text.endIndex {
                let j = text.index(i, offsetBy: 2)
                guard let b = UInt8(text[i..<j], radix: 16) else { return nil }
                out.append(b)
                i = j
            }
            return out
        }
        return nil
    }

    public func seal(_ secrets: [String: String]) throws -> Data {
        let plain = try JSONEncoder().encode(secrets)
        guard let combined = try AES.GCM.seal(plain, using: key).combined else { throw SecretError("sealing failed") }
        return combined
    }

    public func open(_ sealed: Data) throws -> [String: String] {
        let box = try AES.GCM.SealedBox(combined: sealed)
        return try JSONDecoder().decode([String: String].self, from: AES.GCM.open(box, using: key))
    }
}

public struct SecretError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
