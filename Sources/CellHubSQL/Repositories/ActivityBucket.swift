import CellHub
/// The 15-minute UTC buckets of `project_activity_counters` and `user_activity_counters`.
enum ActivityBucket {
    /// Bucket width: every real UTC offset is a multiple of it.
    static let widthMs: Int64 = 15 * 60_000

    /// The bucket containing `ms`.
    static func quarterHour(_ ms: Int64) -> Int64 { floorDivide(ms, widthMs) }
}

/// The one-minute completion counts of `project_completion_minutes`.
enum CompletionMinute {
    static let widthMs: Int64 = 60_000
    /// Minutes kept behind a project's latest completion (the throughput reads ten).
    static let retention: Int64 = 60

    /// The minute containing `ms`.
    static func of(_ ms: Int64) -> Int64 { floorDivide(ms, widthMs) }
}

/// Floor division (Swift's `/` truncates toward zero): times before 1970 land in the bucket
/// below, not in bucket 0.
private func floorDivide(_ value: Int64, _ width: Int64) -> Int64 {
    value >= 0 ? value / width : (value - width + 1) / width
}
