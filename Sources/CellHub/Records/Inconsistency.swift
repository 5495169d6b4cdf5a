/// A stored counter that differs from the value recomputed from the rows it summarises.
package struct Inconsistency: Sendable, Hashable, CustomStringConvertible {
    /// What the counter belongs to, e.g. "project 1b4e…", "queue", "blob 9f86…".
    package var scope: String
    /// The counter, e.g. "queued", "uploaded@quarter_hour 1923456", "ref_count".
    package var field: String
    package var stored: Int64
    package var actual: Int64

    package var description: String { "\(scope): \(field) is \(stored), recount gives \(actual)" }

    package init(
        scope: String, field: String, stored: Int64, actual: Int64
    ) {
        self.scope = scope
        self.field = field
        self.stored = stored
        self.actual = actual
    }
}
