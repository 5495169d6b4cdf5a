/// The 15-minute UTC buckets of `project_activity_counters`.
enum ActivityBucket {
    /// Bucket width: every real UTC offset is a multiple of it.
    static let widthMs: Int64 = 15 * 60_000

    /// The bucket containing `ms` (floor division, also before 1970).
    static func quarterHour(_ ms: Int64) -> Int64 {
        ms >= 0 ? ms / widthMs : (ms - widthMs + 1) / widthMs
    }
}
