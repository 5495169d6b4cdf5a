import COpenSSL

/// SHA-256 (FIPS 180-4) through OpenSSL's libcrypto, for API token hashes, page-token checks
/// and content addresses of image files: libcrypto uses the CPU's SHA extensions where it has
/// them (a 100 × 4 KiB upload batch hashed in a fraction of the ~2 ms the portable code took).
///
/// Noncopyable: it owns its OpenSSL context, freed with it.
public struct SHA256: ~Copyable {
    private let context: OpaquePointer

    public init() {
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex2(context, SHA256Algorithm.shared.md, nil) == 1 else {
            fatalError("OpenSSL could not set up a SHA-256 context (out of memory?)")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    public static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    public static func hexHash(_ bytes: some Sequence<UInt8>) -> String { hex(hash(bytes)) }

    /// A digest as four words: a cheap dictionary key (an array of bytes hashes byte by byte
    /// and costs an allocation).
    public struct Digest: Hashable, Sendable {
        let words: (UInt64, UInt64, UInt64, UInt64)

        /// The 32 bytes, in order.
        public var bytes: [UInt8] {
            withUnsafeBytes(of: words) { Array($0) }
        }

        public static func == (lhs: Digest, rhs: Digest) -> Bool { lhs.words == rhs.words }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(words.0)
            hasher.combine(words.1)
            hasher.combine(words.2)
            hasher.combine(words.3)
        }
    }

    public static func digest(_ bytes: UnsafeRawBufferPointer) -> Digest {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalizeDigest()
    }

    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if handled == nil { Array(bytes).withUnsafeBytes { update($0) } }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        precondition(EVP_DigestUpdate(context, base, bytes.count) == 1, "EVP_DigestUpdate failed")
    }

    /// The 32-byte digest of everything updated so far.
    public consuming func finalize() -> [UInt8] { finalizeDigest().bytes }

    /// The same as four words.
    public consuming func finalizeDigest() -> Digest {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var length: UInt32 = 0
        let ok = withUnsafeMutableBytes(of: &words) { EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
        precondition(ok == 1 && length == 32, "EVP_DigestFinal_ex failed")
        return Digest(words: words)
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes { out += [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]] }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The algorithm fetched once (OpenSSL 3 looks it up by name on every implicit use).
private final class SHA256Algorithm: @unchecked Sendable {
    static let shared = SHA256Algorithm()
    /// Immutable once fetched; OpenSSL's EVP_MD objects are safe to share between threads.
    let md: OpaquePointer

    private init() {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil) else { fatalError("OpenSSL has no SHA-256 implementation") }
        self.md = md
    }
}

/// Equality whose time does not depend on where two equal-length byte strings differ
/// (OpenSSL's CRYPTO_memcmp).
public func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    guard lhs.count == rhs.count else { return false }
    guard !lhs.isEmpty else { return true }
    return lhs.withUnsafeBytes { l in rhs.withUnsafeBytes { r in CRYPTO_memcmp(l.baseAddress, r.baseAddress, l.count) == 0 } }
}
