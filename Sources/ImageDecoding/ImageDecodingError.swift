/// Why bytes did not become a ``GrayImage``.
package enum ImageDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not a well-formed file of the format: truncated, corrupt, bad header.
    case malformed(String)
    /// Well-formed, but a layout this decoder does not turn into gray (CMYK JPEG, float TIFF...).
    case unsupported(String)
    /// Larger than the ``ImageLimits`` (found from the header, nothing allocated).
    case tooLarge(String)
    /// The pixel buffer could not be allocated.
    case outOfMemory(String)

    package var description: String {
        switch self {
        case .malformed(let reason): "malformed image: \(reason)"
        case .unsupported(let reason): "unsupported image: \(reason)"
        case .tooLarge(let reason): "image too large: \(reason)"
        case .outOfMemory(let reason): "out of memory: \(reason)"
        }
    }
}
