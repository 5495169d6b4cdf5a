internal import ImageDecoding
internal import FoundationEssentials
internal import Glibc

/// A file read whole, with the content type its extension names.
struct InputFile {
    var path: String
    var contentType: String
    var bytes: [UInt8]

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func read(_ path: String) throws(Failure) -> InputFile {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let suffix = name.split(separator: ".").count > 1 ? name.split(separator: ".").last.map(String.init) ?? "" : ""
        guard let format = ImageFormat(pathExtension: suffix) else {
            throw Failure(description: "\(path): unknown extension (expected .png, .jpg, .jpeg, .tif, .tiff or .pgm)")
        }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return InputFile(path: path, contentType: format.rawValue, bytes: [UInt8](data))
        } catch {
            throw Failure(description: "\(path): \(error)")
        }
    }
}

/// Writes to file descriptor 2 (the C `stderr` global is shared mutable state to Swift 6).
func standardError(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        if written <= 0 { return }
        bytes = bytes.dropFirst(written)
    }
}

func exitProcess(_ status: Int32) -> Never { exit(status) }
