/// The 15-minute UTC buckets of `project_activity_counters`.
enum ActivityBucket {
    /// Bucket width: every real UTC offset is a multiple of it.
    static let widthMs: Int64 = 15 * 60_000

    /// The bucket containing `ms` (floor division, also before 1970).
    static func quarterHour(_ ms: Int64) -> Int64 {
        ms >= 0 ? ms / widthMs : (ms - widthMs + 1) / widthMs
    }
}

/// The one-minute completion counts of `project_completion_minutes`.
enum CompletionMinute {
    static let widthMs: Int64 = 60_000
    /// Minutes kept behind a project's latest completion (the throughput reads ten).
    static let retention: Int64 = 60

    /// The minute containing `ms` (floor division, also before 1970).
    static func of(_ ms: Int64) -> Int64 {
        ms >= 0 ? ms / widthMs : (ms - widthMs + 1) / widthMs
    }
}
