internal import Foundation
internal import Synchronization

/// Local day and week boundaries of an IANA time zone, as UTC milliseconds: the only place
/// the domain uses Foundation (the time-zone database and calendar arithmetic, DST included).
struct LocalCalendar: Sendable {
    /// Local midnight today, the next local midnight, and Monday 00:00 of this week.
    struct Boundaries: Equatable, Sendable {
        var todayStartMs: Int64
        var tomorrowStartMs: Int64
        var weekStartMs: Int64
    }

    private let calendar: Calendar
    /// The zone's name as resolved ("UTC" for an empty request).
    let identifier: String

    /// nil for a zone the time-zone database does not know.
    init?(timeZone name: String) {
        let name = name.isEmpty ? "UTC" : name
        guard let zone = TimeZone(identifier: name) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        calendar.firstWeekday = 2
        calendar.minimumDaysInFirstWeek = 4
        self.calendar = calendar
        identifier = name
    }

    func boundaries(at nowMs: Int64) -> Boundaries {
        let now = Date(timeIntervalSince1970: Double(nowMs) / 1_000)
        let today = calendar.startOfDay(for: now)
        // Sunday = 1 ... Saturday = 7; days since Monday: Monday 0 ... Sunday 6.
        let weekday = calendar.component(.weekday, from: today)
        let daysSinceMonday = (weekday + 5) % 7
        let monday = calendar.date(byAdding: .day, value: -daysSinceMonday, to: today).map { calendar.startOfDay(for: $0) } ?? today
        let tomorrow = calendar.date(byAdding: .day, value: 1, to: today).map { calendar.startOfDay(for: $0) }
            ?? today.addingTimeInterval(86_400)
        return Boundaries(
            todayStartMs: Self.ms(today), tomorrowStartMs: Self.ms(tomorrow), weekStartMs: Self.ms(monday))
    }

    private static func ms(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000).rounded()) }
}

/// Boundaries per time zone, computed once per local day: Foundation's calendar arithmetic
/// costs more than the rest of a dashboard read, and the answer only changes at midnight.
final class DayBoundaries: Sendable {
    private struct Entry {
        var calendar: LocalCalendar
        var bounds: LocalCalendar.Boundaries
    }

    /// Zones kept; a client cycling through more names only costs recomputation.
    private static let capacity = 1_000
    private let entries = Mutex<[String: Entry]>([:])

    /// The zone's resolved name and its boundaries at `nowMs`; nil for an unknown zone.
    func boundaries(timeZone: String, at nowMs: Int64) -> (identifier: String, bounds: LocalCalendar.Boundaries)? {
        let cached = entries.withLock { $0[timeZone] }
        if let cached, cached.bounds.todayStartMs <= nowMs, nowMs < cached.bounds.tomorrowStartMs {
            return (cached.calendar.identifier, cached.bounds)
        }
        guard let calendar = cached?.calendar ?? LocalCalendar(timeZone: timeZone) else { return nil }
        let bounds = calendar.boundaries(at: nowMs)
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[timeZone] = Entry(calendar: calendar, bounds: bounds)
        }
        return (calendar.identifier, bounds)
    }
}
