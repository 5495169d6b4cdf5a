import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A stock grpcio server (Tests/Python/reference_server.py) in a child process: the
/// interop TestService and grpc.health.v1 as grpcio implements them, so our client is
/// checked against someone else's HTTP/2 and gRPC, not only our own server.
///
/// Python comes from `CELLHUB_PYTHON`, else the venv Tests/Scripts/setup.sh makes.
final class ReferenceServer: @unchecked Sendable {
    // `process` and `input` are touched only in `start` and `stop`, which never overlap.
    let port: Int
    let logURL: URL
    private let process: Process
    private let input: Pipe
    private let exits: AsyncStream<Int32>

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var python: String {
        ProcessInfo.processInfo.environment["CELLHUB_PYTHON"] ?? repositoryRoot.appendingPathComponent(".venv/bin/python").path
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The server of the suite running now (see `ReferenceServerTrait`).
    @TaskLocal static var current: ReferenceServer?
    /// Why the suite running now has no server, when it could not be started.
    @TaskLocal static var unavailable: String?

    private init(port: Int, logURL: URL, process: Process, input: Pipe, exits: AsyncStream<Int32>) {
        self.port = port
        self.logURL = logURL
        self.process = process
        self.input = input
        self.exits = exits
    }

    /// Starts the server with `arguments` (its TLS flags) and waits (up to `startupLimit`) for
    /// its `listening on 127.0.0.1:PORT` line.
    static func start(arguments: [String] = [], startupLimit: Duration = .seconds(30)) async throws -> ReferenceServer {
        let script = repositoryRoot.appendingPathComponent("Tests/Python/reference_server.py")
        let logURL = FileManager.default.temporaryDirectory.appendingPathComponent("reference_server-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: logURL.path, contents: nil) else {
            throw Failure(description: "cannot create \(logURL.path)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-u", script.path] + arguments
        let input = Pipe(), output = Pipe()
        process.standardInput = input  // kept open: the server exits when it closes (we died)
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: logURL)
        let (exits, exited) = AsyncStream.makeStream(of: Int32.self)
        process.terminationHandler = { process in
            exited.yield(process.terminationStatus)
            exited.finish()
        }
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot start \(python) \(script.path) (run Tests/Scripts/setup.sh or set CELLHUB_PYTHON): \(error)")
        }

        let line: String?
        do {
            line = try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask { await firstLine(of: output.fileHandleForReading) }
                group.addTask {
                    try await Task.sleep(for: startupLimit)
                    process.terminate()  // unblocks the reader with EOF
                    throw Failure(description: "no first line from reference_server.py within \(startupLimit)")
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
        } catch {
            process.terminate()
            throw Failure(description: "\(error); stderr:\n\(tail(of: logURL))")
        }
        let prefix = "listening on 127.0.0.1:"
        guard let line, line.hasPrefix(prefix), let port = Int(line.dropFirst(prefix.count)), (1...65_535).contains(port) else {
            process.terminate()
            throw Failure(description: "reference_server.py's first line should be '\(prefix)PORT', got \(String(describing: line)); stderr:\n\(tail(of: logURL))")
        }
        return ReferenceServer(port: port, logURL: logURL, process: process, input: input, exits: exits)
    }

    /// SIGTERM, then SIGKILL if it has not exited within `limit`; returns the exit status.
    @discardableResult
    func stop(limit: Duration = .seconds(10)) async -> Int32? {
        process.terminate()
        try? input.fileHandleForWriting.close()
        let exits = self.exits
        let status = await withTaskGroup(of: Int32?.self) { group in
            group.addTask {
                for await status in exits { return status }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            return await group.next() ?? nil
        }
        if status == nil { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: logURL)
        return status
    }

    /// The last lines the server wrote to stderr, for failure messages.
    static func tail(of url: URL, lines: Int = 40) -> String {
        guard let data = FileManager.default.contents(atPath: url.path) else { return "(no log)" }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Reads until the first newline (or EOF) on a thread of its own: a blocking read
    /// must not hold one of the few threads of Swift's cooperative pool.
    private static func firstLine(of handle: FileHandle) async -> String? {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                var data = Data()
                while !data.contains(UInt8(ascii: "\n")) {
                    let chunk = handle.availableData  // empty at EOF
                    if chunk.isEmpty { break }
                    data.append(chunk)
                }
                let line = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).first
                continuation.resume(returning: data.isEmpty ? nil : line.map { String(decoding: $0, as: UTF8.self) })
            }
            thread.start()
        }
    }
}

/// Starts one reference server for a whole suite and stops it when the suite is done.
struct ReferenceServerTrait: SuiteTrait, TestScoping {
    /// The server's command-line arguments, worked out when the suite starts (TLS files).
    var arguments: @Sendable () throws -> [String] = { [] }

    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let server: ReferenceServer
        do {
            server = try await ReferenceServer.start(arguments: try arguments())
        } catch {
            // The suite's cases against other peers still run; each grpcio case fails with this.
            try await ReferenceServer.$unavailable.withValue("\(error)") { try await function() }
            return
        }
        do {
            try await ReferenceServer.$current.withValue(server) { try await function() }
        } catch {
            await server.stop()
            throw error
        }
        let status = await server.stop()
        #expect(status != nil, "reference_server.py did not exit within 10 s of SIGTERM")
    }
}

extension Trait where Self == ReferenceServerTrait {
    /// Runs the suite against one stock grpcio server process.
    static var referenceServer: Self { Self() }
}
