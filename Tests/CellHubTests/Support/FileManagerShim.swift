import Foundation

/// Small file helpers for tests.
enum FileManagerShim {
    static func create(_ path: String) -> Bool {
        FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3]))
    }
}
