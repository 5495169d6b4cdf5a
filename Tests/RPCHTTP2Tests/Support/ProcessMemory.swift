import Foundation

/// This process's memory as the kernel counts it (the in-process server included).
enum ProcessMemory {
    /// Resident set size in bytes, from `VmRSS` in /proc/self/status.
    static func residentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kibibytes = Int(fields[1]) { return kibibytes * 1_024 }
        }
        throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "no VmRSS line in /proc/self/status"])
    }
}
