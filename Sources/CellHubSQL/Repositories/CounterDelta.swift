import CellHub
/// Changes to one project's counters, accumulated per operation and applied in one UPDATE.
struct CounterDelta {
    private var statuses: [ImageStatus: Int64] = [:]
    var imageCount: Int64 = 0
    var bytes: Int64 = 0
    /// Raises last_image_added_at_ms to this (0 = leave it).
    var lastImageAddedAtMs: Int64 = 0
    /// Raises last_segmentation_completed_at_ms to this (0 = leave it).
    var lastCompletedAtMs: Int64 = 0

    func count(_ status: ImageStatus) -> Int64 { statuses[status, default: 0] }

    /// An image was added in `status`.
    mutating func insert(_ status: ImageStatus, bytes: Int64) {
        statuses[status, default: 0] += 1
        imageCount += 1
        self.bytes += bytes
    }

    /// An image in `status` was deleted.
    mutating func remove(_ status: ImageStatus, bytes: Int64) {
        statuses[status, default: 0] -= 1
        imageCount -= 1
        self.bytes -= bytes
    }

    /// An image moved between statuses.
    mutating func move(from old: ImageStatus, to new: ImageStatus) {
        statuses[old, default: 0] -= 1
        statuses[new, default: 0] += 1
    }

    /// Adds another operation's moves (times: the later of the two).
    mutating func add(_ other: CounterDelta) {
        for (status, count) in other.statuses { statuses[status, default: 0] += count }
        imageCount += other.imageCount
        bytes += other.bytes
        lastImageAddedAtMs = max(lastImageAddedAtMs, other.lastImageAddedAtMs)
        lastCompletedAtMs = max(lastCompletedAtMs, other.lastCompletedAtMs)
    }
}
