internal import CNGHTTP2

#if canImport(Glibc)
import Glibc
#endif

/// Header blocks every call sends the same, prebuilt once. Names and values point into
/// the binary's constant strings and are flagged NO_COPY, so nghttp2 neither copies them
/// nor lets them go stale.
enum StaticHeaders {
    private static func field(_ name: StaticString, _ value: StaticString) -> nghttp2_nv {
        nghttp2_nv(
            name: UnsafeMutablePointer(mutating: name.utf8Start), value: UnsafeMutablePointer(mutating: value.utf8Start),
            namelen: name.utf8CodeUnitCount, valuelen: value.utf8CodeUnitCount,
            flags: UInt8(NGHTTP2_NV_FLAG_NO_COPY_NAME.rawValue | NGHTTP2_NV_FLAG_NO_COPY_VALUE.rawValue))
    }

    /// Response headers of a call without initial metadata or compression.
    nonisolated(unsafe) static let plainResponse: [nghttp2_nv] = [
        field(":status", "200"), field("content-type", "application/grpc"), field("grpc-accept-encoding", "gzip,identity"),
    ]

    /// Trailers of a call that ended OK without trailing metadata.
    nonisolated(unsafe) static let okTrailers: [nghttp2_nv] = [field("grpc-status", "0")]
}

extension UnsafeRawBufferPointer {
    /// Byte-wise equality with a constant (header names are compared as bytes, never as Strings).
    @inline(__always)
    func equals(_ constant: StaticString) -> Bool {
        count == constant.utf8CodeUnitCount && (count == 0 || memcmp(baseAddress!, constant.utf8Start, count) == 0)
    }

    /// Byte-wise equality with other bytes.
    @inline(__always)
    func equals(_ other: UnsafeRawBufferPointer) -> Bool {
        count == other.count && (count == 0 || memcmp(baseAddress!, other.baseAddress!, count) == 0)
    }
}
