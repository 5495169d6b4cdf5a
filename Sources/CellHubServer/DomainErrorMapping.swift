package import CellHub
package import Logging
package import RPC

/// Domain errors on the wire: one exhaustive switch from the domain's categories to gRPC
/// status codes (a new `DomainErrorCode` case is a compile error here until it is mapped),
/// and the one place internal faults are logged instead of sent.
package enum DomainErrorMapping {
    /// The status code of a domain error category.
    package static func statusCode(_ code: DomainErrorCode) -> StatusCode {
        switch code {
        case .invalidArgument: .invalidArgument
        case .notFound: .notFound
        case .permissionDenied: .permissionDenied
        case .alreadyExists: .alreadyExists
        case .failedPrecondition: .failedPrecondition
        case .resourceExhausted: .resourceExhausted
        case .unauthenticated: .unauthenticated
        case .internal: .internal
        }
    }

    /// The RPCError a domain error ends a call with. Client errors carry the domain's
    /// client-safe message; an internal fault is logged with the call's method and peer and
    /// answered "internal error" (the fault stays in `cause`, which is never sent).
    package static func rpcError(_ error: some DomainError, context: ServerContext, logger: Logger) -> RPCError {
        let code = statusCode(error.code)
        guard code == .internal else {
            return RPCError(code: code, message: printable(error.message), cause: error)
        }
        let fault = (error as? any InternalFaultCarrying)?.internalFault
        logger.error(
            "internal fault",
            metadata: [
                "method": "\(context.method.path)", "peer": "\(context.peer)",
                "fault": "\(fault.map { String(describing: $0) } ?? String(describing: error))",
            ])
        return RPCError(code: .internal, message: "internal error", cause: fault ?? error)
    }

    /// An error that is not a domain error (the pool shut down, or a bug): UNAVAILABLE while
    /// draining, else logged and answered "internal error".
    package static func rpcError(unexpected error: any Error, context: ServerContext, logger: Logger) -> RPCError {
        if let error = error as? RPCError { return error }
        if error is BlockingPool.PoolStopped {
            return RPCError(code: .unavailable, message: "the server is shutting down; retry", cause: error)
        }
        logger.error(
            "unexpected error", metadata: ["method": "\(context.method.path)", "peer": "\(context.peer)", "error": "\(error)"])
        return RPCError(code: .internal, message: "internal error", cause: error)
    }

    /// `message` with every character that is not printable text escaped (`\n`, `\u{200B}`):
    /// domain messages quote request fields (a name, a time zone), and a grpc-message must stay
    /// one readable line whatever the client sent.
    static func printable(_ message: String) -> String {
        guard message.unicodeScalars.contains(where: { !isPrintable($0) }) else { return message }
        var escaped = ""
        escaped.unicodeScalars.reserveCapacity(message.unicodeScalars.count)
        for scalar in message.unicodeScalars {
            if isPrintable(scalar) {
                escaped.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            default: escaped += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            }
        }
        return escaped
    }

    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator: false
        case .spaceSeparator: scalar == " "
        default: true
        }
    }
}
