#if CELLHUB_FUZZ
internal import CLibFuzzer
#endif
import Foundation

/// A fuzzer's `LLVMFuzzerTestOneInput`: one input in, 0 back (libFuzzer's contract).
package typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

/// What a fuzzer executable's `main` does, in its two builds.
///
/// - Fuzz build (`-sanitize=fuzzer,address -DCELLHUB_FUZZ`, see `Tests/Scripts/fuzz.sh`):
///   libFuzzer's driver runs `target`, with libFuzzer's command line.
/// - Normal build: a regression runner that replays files through the same `target`, so
///   every committed corpus input (and every crash found once) stays covered:
///   `FuzzServerIngress [FILE|DIR]...`, by default `Tests/Fuzz/Corpus/<corpus>`. A failing
///   input traps; the last `Running:` line names it.
///
/// Why both builds need a `main` here: SwiftPM links every executable with
/// `--defsym main=<Module>_main`, so the module must define its entry point even when
/// libFuzzer brings its own. Which `main` the linker keeps differs (gold pulls libFuzzer's
/// from its archive, lld honours the defsym); both run libFuzzer's driver over the module's
/// `@_cdecl("LLVMFuzzerTestOneInput")` function, which each fuzzer defines and passes here.
package enum FuzzDriver {
    package static func main(target: FuzzTarget, corpus: String) -> Never {
        #if CELLHUB_FUZZ
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, target))
        #else
        var paths = Array(CommandLine.arguments.dropFirst())
        if paths.isEmpty {
            // Tests/Fuzz/FuzzSupport/FuzzDriver.swift → Tests/Fuzz/Corpus/<corpus>
            let fuzzDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            paths = [fuzzDirectory.appendingPathComponent("Corpus").appendingPathComponent(corpus).path]
        }
        var count = 0
        for path in paths {
            for file in inputFiles(at: path) {
                // Unbuffered (stderr), so the line is out before a failing input traps.
                FileHandle.standardError.write(Data("Running: \(file)\n".utf8))
                guard let data = FileManager.default.contents(atPath: file) else {
                    fail("cannot read \(file)")
                }
                data.withUnsafeBytes { bytes in
                    _ = target(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
                }
                count += 1
            }
        }
        guard count > 0 else { fail("no inputs in \(paths.joined(separator: " "))") }
        print("\(CommandLine.arguments[0]): \(count) inputs replayed, none failed")
        exit(0)
        #endif
    }

    /// `path` itself, or the regular files directly in it (sorted, so runs repeat).
    private static func inputFiles(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            fail("no such file or directory: \(path)")
        }
        guard isDirectory.boolValue else { return [path] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            fail("cannot list \(path): \(error)")
        }
        return names.sorted().map { "\(path)/\($0)" }.filter { file in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("\(CommandLine.arguments[0]): \(message)\n".utf8))
        exit(2)
    }
}
