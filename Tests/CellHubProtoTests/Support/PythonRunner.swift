import Foundation

/// Runs the repository's Python tools (Tests/Python) with the venv made by
/// Tests/Scripts/setup.sh, or with `CELLHUB_PYTHON`.
enum PythonRunner {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var python: String {
        ProcessInfo.processInfo.environment["CELLHUB_PYTHON"]
            ?? repositoryRoot.appendingPathComponent(".venv/bin/python").path
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `Tests/Python/<script> arguments…`; throws with its stderr when it fails.
    @discardableResult
    static func run(_ script: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [repositoryRoot.appendingPathComponent("Tests/Python/\(script)").path] + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot start \(python) (run Tests/Scripts/setup.sh): \(error)")
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(script) \(arguments.first ?? "") failed: \(String(decoding: err, as: UTF8.self))")
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The record file format shared with Tests/Python/crosslang.py.
enum RecordFile {
    static func write(_ records: [(String, [UInt8])], to url: URL) throws {
        var data = [UInt8]()
        for (name, payload) in records {
            let raw = Array(name.utf8)
            data += [UInt8(raw.count >> 8), UInt8(raw.count & 0xFF)] + raw
            let n = UInt32(payload.count)
            data += [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] + payload
        }
        try Data(data).write(to: url)
    }

    static func read(_ url: URL) throws -> [(String, [UInt8])] {
        let data = [UInt8](try Data(contentsOf: url))
        var records: [(String, [UInt8])] = []
        var i = 0
        while i < data.count {
            let n = Int(data[i]) << 8 | Int(data[i + 1]); i += 2
            let name = String(decoding: data[i..<i + n], as: UTF8.self); i += n
            let m = data[i..<i + 4].reduce(0) { $0 << 8 | Int($1) }; i += 4
            records.append((name, Array(data[i..<i + m]))); i += m
        }
        return records
    }
}
