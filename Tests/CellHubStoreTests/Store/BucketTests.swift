import CellHub
@testable import CellHubSQL
@testable import CellHubStore
import Testing

@Suite("Store: time buckets")
struct BucketTests {
    @Test("a bucket holds [start, start + width), also before 1970")
    func floorDivision() {
        let quarter = ActivityBucket.widthMs, minute = CompletionMinute.widthMs
        #expect([0, 1, quarter - 1].map(ActivityBucket.quarterHour) == [0, 0, 0])
        #expect(ActivityBucket.quarterHour(quarter) == 1)
        #expect([-1, -quarter].map(ActivityBucket.quarterHour) == [-1, -1])
        #expect(ActivityBucket.quarterHour(-quarter - 1) == -2)
        #expect([minute - 1, minute, -1, -minute, -minute - 1].map(CompletionMinute.of) == [0, 1, -1, -1, -2])
    }
}
