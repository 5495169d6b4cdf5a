import CellHubCrypto
/// Opaque page tokens: base64url of a version byte, the keyset cursor (time + id) and an
/// 8-byte SHA-256 prefix over the request's filters and the cursor.
///
/// The hash binds a token to the request it came from ("valid only with otherwise identical
/// request fields") and catches any edit of the cursor; it is an integrity check, not a
/// secret — the cursor only ever exposes what the caller could see on the previous page.
enum PageToken {
    private static let version: UInt8 = 1
    private static let checkLength = 8

    /// A token for the position (`timeMs`, `id`) under `filters`.
    static func encode(timeMs: Int64, id: String, filters: [String]) -> String {
        var body: [UInt8] = [version]
        for shift in stride(from: 56, through: 0, by: -8) { body.append(UInt8(truncatingIfNeeded: timeMs >> Int64(shift))) }
        body += Array(id.utf8)
        return Base64URL.encode(check(body, filters: filters) + body)
    }

    /// The position a token names; nil for a malformed, edited or mismatched token.
    /// An empty token is the first page (`.some(nil)`).
    static func decode(_ token: String, filters: [String]) -> (timeMs: Int64, id: String)?? {
        guard !token.isEmpty else { return .some(nil) }
        guard token.utf8.count <= 512, let bytes = Base64URL.decode(token),
              bytes.count > checkLength + 9, bytes[checkLength] == version
        else { return nil }
        let body = Array(bytes[checkLength...])
        guard constantTimeEquals(Array(bytes[..<checkLength]), check(body, filters: filters)) else { return nil }
        var timeMs: Int64 = 0
        for byte in body[1..<9] { timeMs = timeMs << 8 | Int64(byte) }
        guard let id = String(validating: body[9...], as: UTF8.self) else { return nil }
        return .some((timeMs, id))
    }

    private static func check(_ body: [UInt8], filters: [String]) -> [UInt8] {
        var hasher = SHA256()
        for filter in filters {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
            hasher.update(String(filter.utf8.count).utf8)
            hasher.update([0x3A])
            hasher.update(filter.utf8)
        }
        hasher.update(body)
        return Array(hasher.finalize().prefix(checkLength))
    }
}
