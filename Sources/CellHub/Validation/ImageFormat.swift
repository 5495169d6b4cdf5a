/// The image formats CellHub accepts, recognised by magic bytes (never by file name).
public enum ImageFormat: String, Sendable, CaseIterable {
    case png = "image/png"
    case jpeg = "image/jpeg"
    case tiff = "image/tiff"
    case pgm = "image/x-portable-graymap"

    /// The format the content's first bytes announce, or nil.
    public static func detect(_ content: some Collection<UInt8>) -> ImageFormat? {
        let head = Array(content.prefix(8))
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if head.starts(with: [0x49, 0x49, 0x2A, 0x00]) || head.starts(with: [0x4D, 0x4D, 0x00, 0x2A]) { return .tiff }
        // PGM: "P2" (ASCII) or "P5" (binary), then whitespace.
        if head.count >= 3, head[0] == UInt8(ascii: "P"), head[1] == UInt8(ascii: "2") || head[1] == UInt8(ascii: "5"),
           [0x20, 0x09, 0x0A, 0x0D].contains(head[2]) {
            return .pgm
        }
        return nil
    }
}
