// cellhub-segment: the built-in segmenter on image files, for people, scripts and benchmarks.
//
//   cellhub-segment FILE... [--json] [--verbose]   one line per file (JSON Lines with --json)
//   cellhub-segment FILE... --bench N              N passes over the files, images per second
//
// The content type comes from the extension (.png, .jpg/.jpeg, .tif/.tiff, .pgm). Exit status
// 0 when every file segmented, 1 when any failed, 2 on a usage error.

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    let options = try Options(arguments)
    exitProcess(options.bench != nil ? Bench.run(options) : Report.run(options))
} catch {
    standardError("cellhub-segment: \(error)\n\(Options.usage)\n")
    exitProcess(2)
}
