import Foundation

/// A POSIX ustar archive built in memory: directories and regular files,
/// paths of at most `maxNameBytes` bytes (split over ustar's `prefix` and
/// `name` fields at a slash), at most `maxArchiveBytes` in all. What a GDPR export is
/// delivered as: one file any system opens (`tar -xf`), no compression (the
/// bodies are small and attachments are compressed media already).
public struct TarArchive: Sendable {
    /// The ustar `prefix` (155) and `name` (100) fields with the slash between them.
    public static let maxNameBytes = 256
    /// Largest archive built; past it `add` throws (the export says so instead of exhausting memory).
    public static let maxArchiveBytes = 1 << 30

    public struct TooLarge: Error, CustomStringConvertible {
        public var description: String { "the archive would exceed \(TarArchive.maxArchiveBytes) bytes" }
    }

    public struct BadName: Error, CustomStringConvertible {
        public let name: String
        public var description: String { "archive entry name '\(name.prefix(120))' is empty, absolute, has '..' or is over \(TarArchive.maxNameBytes) bytes" }
    }

    public private(set) var bytes: [UInt8] = []
    /// Every entry's name, in order.
    public private(set) var names: [String] = []
    private let modified: Date

    public init(modified: Date) { self.modified = modified }

    public mutating func addDirectory(_ name: String) throws {
        let n = name.hasSuffix("/") ? name : name + "/"
        try appendHeader(n, size: 0, type: UInt8(ascii: "5"), mode: 0o755)
    }

    public mutating func addFile(_ name: String, _ content: [UInt8]) throws {
        try appendHeader(name, size: content.count, type: UInt8(ascii: "0"), mode: 0o644)
        bytes += content
        let pad = (512 - content.count % 512) % 512
        bytes += [UInt8](repeating: 0, count: pad)
    }

    /// The archive with its end marker (two zero blocks).
    public func finished() -> [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }

    private mutating func appendHeader(_ name: String, size: Int, type: UInt8, mode: Int) throws {
        let full = Array(name.utf8)
        guard !full.isEmpty, full.count <= Self.maxNameBytes, full.first != UInt8(ascii: "/"),
              !name.split(separator: "/").contains("..") else { throw BadName(name: name) }
        var nameBytes = full
        var prefix: [UInt8] = []
        if full.count > 100 {
            // Split at the last slash that leaves a name of at most 100 bytes and a prefix of at most 155.
            guard let cut = full.indices.last(where: { full[$0] == UInt8(ascii: "/") && full.count - $0 - 1 <= 100 && $0 <= 155 && $0 < full.count - 1 })
            else { throw BadName(name: name) }
            prefix = Array(full[..<cut])
            nameBytes = Array(full[(cut + 1)...])
        }
        guard bytes.count + 512 + size + 511 + 1024 <= Self.maxArchiveBytes else { throw TooLarge() }
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ offset: Int, _ field: [UInt8]) { for (i, b) in field.enumerated() { h[offset + i] = b } }
        func octal(_ value: Int, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(0, nameBytes)
        put(100, octal(mode, width: 8))
        put(108, octal(0, width: 8))
        put(116, octal(0, width: 8))
        put(124, octal(size, width: 12))
        put(136, octal(max(0, Int(modified.timeIntervalSince1970)), width: 12))
        put(148, [UInt8](repeating: UInt8(ascii: " "), count: 8))
        h[156] = type
        put(257, Array("ustar".utf8) + [0])
        put(263, Array("00".utf8))
        put(345, prefix)
        let sum = h.reduce(0) { $0 + Int($1) }
        put(148, octal(sum, width: 7) + [UInt8(ascii: " ")])
        bytes += h
        names.append(name)
    }
}
