import Foundation

/// A fresh directory under the system's temporary directory, removed by `remove()`. Every
/// test gets its own, so tests run in parallel on real files without sharing state.
struct TemporaryDirectory {
    let path: String

    init() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cellhub-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    /// A path inside the directory.
    func file(_ name: String) -> String { "\(path)/\(name)" }

    func remove() {
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            // A leftover temporary directory is harmless; the test result is what matters.
            print("could not remove \(path): \(error)")
        }
    }
}

/// Runs `body` with a temporary directory that is removed afterwards, whatever happens.
func withTemporaryDirectory<T>(_ body: (TemporaryDirectory) throws -> T) throws -> T {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    return try body(directory)
}
