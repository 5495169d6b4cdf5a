package import CellHubCrypto
/// API tokens: 32 random bytes shown to the user once as text; only their SHA-256 is stored.
public enum APIToken {
    /// Prefix that makes a CellHub token recognisable (in logs, secret scanners).
    public static let prefix = "chub_"

    /// A new token: `chub_` + 64 lowercase hex digits (32 bytes from the system's CSPRNG).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return prefix + SHA256.hex(bytes)
    }

    /// What the store keeps and looks tokens up by.
    public static func hash(_ token: String) -> [UInt8] { SHA256.hash(token.utf8) }

    /// The same hash as a key for in-memory caches.
    package static func digest(_ token: String) -> SHA256.Digest {
        var token = token  // withUTF8 copies only a string that is not contiguous UTF-8 already
        return token.withUTF8 { SHA256.digest(UnsafeRawBufferPointer($0)) }
    }

    /// Whether `token` has the shape of a CellHub token (checked before any lookup).
    public static func isWellFormed(_ token: String) -> Bool {
        var token = token
        return token.withUTF8 { isWellFormed(utf8: $0) }
    }

    /// The same over the token's UTF-8 bytes (in place: this runs on every call).
    public static func isWellFormed(utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard utf8.count == prefix.utf8.count + 64, utf8.starts(with: prefix.utf8) else { return false }
        for byte in utf8[prefix.utf8.count...] where !((0x30...0x39).contains(byte) || (0x61...0x66).contains(byte)) {
            return false
        }
        return true
    }
}
