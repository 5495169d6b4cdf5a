#if canImport(Glibc)
import Glibc
#endif

/// The wall clock every record's time comes from, and the random ids every record is named
/// by: the domain's, so that every store uses the same ones.
package enum SystemValues {
    /// The current time in milliseconds since the Unix epoch (CLOCK_REALTIME).
    package static func milliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// A random (version 4) UUID in lowercase text, the id format of the API. Called for every
    /// row an upload inserts: two reads of the system generator, one string built in place.
    package static func randomUUID() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (generator.next() as UInt64, generator.next() as UInt64)
        return withUnsafeMutableBytes(of: &bytes) { raw in
            raw[6] = (raw[6] & 0x0F) | 0x40
            raw[8] = (raw[8] & 0x3F) | 0x80
            return String(unsafeUninitializedCapacity: 36) { text in
                let digits: StaticString = "0123456789abcdef"
                var out = 0
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        text[out] = UInt8(ascii: "-")
                        out += 1
                    }
                    text[out] = digits.utf8Start[Int(raw[index] >> 4)]
                    text[out + 1] = digits.utf8Start[Int(raw[index] & 0x0F)]
                    out += 2
                }
                return out
            }
        }
    }
}
