internal import COpenSSL

/// A TLS failure, as one line for a log or a call's status: a certificate, key or CA file
/// that cannot be used (at start or on reload), or a handshake or connection that ended.
public struct TLSError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// A file or setting the context was built from.
        case configuration
        /// The handshake failed: no common version or cipher, no h2, a certificate refused, a timeout.
        case handshake
        /// An established connection broke (a bad record, an alert from the peer).
        case connection
    }

    public let kind: Kind
    public let description: String

    init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    /// `context` followed by what OpenSSL's error queue of this thread says (which it empties).
    static func openSSL(_ kind: Kind, _ context: String) -> TLSError {
        let reasons = drainErrorQueue()
        return TLSError(kind, reasons.isEmpty ? context : "\(context): \(reasons)")
    }

    /// The reasons on this thread's OpenSSL error queue, oldest first, and an empty queue.
    /// OpenSSL keeps one queue per thread; a reason left on it would be blamed on the next
    /// connection of the same loop.
    static func drainErrorQueue() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            if let reason = ERR_reason_error_string(code) {
                let text = String(cString: reason)
                if reasons.last != text { reasons.append(text) }
            } else {
                reasons.append("OpenSSL error \(code)")
            }
        }
        return reasons.joined(separator: "; ")
    }
}
