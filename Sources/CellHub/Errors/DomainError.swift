/// What every domain error has in common: a gRPC-independent category and a message that is
/// safe to show a client.
///
/// The server maps each area's enum with one exhaustive switch (a new case is a compile
/// error until it is mapped); `code` is the shared vocabulary those switches land on.
package protocol DomainError: Error, CustomStringConvertible {
    /// The category (INVALID_ARGUMENT, NOT_FOUND, ... without importing RPC).
    var code: DomainErrorCode { get }
    /// Human-readable and never leaking internals (an internal fault says only that).
    var message: String { get }
}

extension DomainError {
    package var description: String { "\(code): \(message)" }
}

/// The categories of domain errors; each maps to exactly one gRPC status code.
package enum DomainErrorCode: String, Sendable, Hashable, CaseIterable {
    case invalidArgument
    case notFound
    case permissionDenied
    case alreadyExists
    case failedPrecondition
    case resourceExhausted
    case unauthenticated
    case `internal`
}

/// An unexpected fault (SQLite, file I/O) carried to the server, which logs it and answers
/// INTERNAL without sending it.
package struct InternalFault: Error, Equatable, CustomStringConvertible {
    /// What failed, for the log.
    package let underlying: any Error

    package init(_ underlying: any Error) { self.underlying = underlying }

    package var description: String { String(describing: underlying) }

    package static func == (lhs: InternalFault, rhs: InternalFault) -> Bool { lhs.description == rhs.description }
}
