/// The file formats ImageDecoding reads.
package enum ImageFormat: String, Sendable, Hashable, CaseIterable {
    case png = "image/png"
    case jpeg = "image/jpeg"
    case tiff = "image/tiff"
    /// Netpbm graymap, P2 (ASCII) or P5 (binary), 8 or 16 bits.
    case pgm = "image/x-portable-graymap"

    /// The format of a MIME content type (parameters such as `; charset=` are ignored).
    package init?(contentType: String) {
        let base = contentType.split(separator: ";", maxSplits: 1).first.map(String.init) ?? contentType
        let trimmed = base.trimmingSpaces().lowercased()
        switch trimmed {
        case "image/png": self = .png
        case "image/jpeg", "image/jpg", "image/pjpeg": self = .jpeg
        case "image/tiff", "image/tif": self = .tiff
        case "image/x-portable-graymap", "image/x-pgm", "image/pgm": self = .pgm
        default: return nil
        }
    }

    /// The format of a file name's extension (`.png`, `.jpg`/`.jpeg`, `.tif`/`.tiff`, `.pgm`).
    package init?(pathExtension: String) {
        switch pathExtension.lowercased() {
        case "png": self = .png
        case "jpg", "jpeg": self = .jpeg
        case "tif", "tiff": self = .tiff
        case "pgm": self = .pgm
        default: return nil
        }
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" })!
        return String(scalars[first...last])
    }
}
