import Foundation

/// The TLS tests' certificates: Tests/Python/tls_pki.py (the openssl CLI) run once per test
/// process into a temporary directory, so the Swift and Python TLS tests share one CA layout:
/// `root` signs `intermediate`, which signs `server` (`server-chain` = server + intermediate,
/// names 127.0.0.1 and localhost); `client` is a client certificate from `root`,
/// `other-client` one from the unrelated `other-root`.
public enum TestPKI {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    private static let made: Result<String, Failure> = make()

    /// The directory holding every `<name>.pem` and `<name>.key`, made on first use.
    public static func directory() throws(Failure) -> String { try made.get() }

    public static func pem(_ name: String) throws(Failure) -> String { try directory() + "/\(name).pem" }

    public static func key(_ name: String) throws(Failure) -> String { try directory() + "/\(name).key" }

    private static func make() -> Result<String, Failure> {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = repository.appendingPathComponent("Tests/Python/tls_pki.py").path
        let venv = repository.appendingPathComponent(".venv/bin/python").path
        let python = ProcessInfo.processInfo.environment["CELLHUB_PYTHON"]
            ?? (FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/python3")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cellhub-pki-\(UUID().uuidString)").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, directory]
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        do {
            try process.run()
        } catch {
            return .failure(Failure(description: "cannot run \(python) \(script): \(error)"))
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            return .failure(Failure(description: "tls_pki.py failed (is the openssl CLI installed?): \(message)"))
        }
        return .success(directory)
    }
}
