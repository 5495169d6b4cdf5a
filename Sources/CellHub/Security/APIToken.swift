import CellHubCrypto
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

    /// Whether `token` has the shape of a CellHub token (checked before any lookup).
    public static func isWellFormed(_ token: String) -> Bool {
        let utf8 = Array(token.utf8)
        guard utf8.count == prefix.utf8.count + 64, token.hasPrefix(prefix) else { return false }
        return utf8.dropFirst(prefix.utf8.count).allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
