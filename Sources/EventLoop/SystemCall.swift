internal import CLinuxShim

#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which one and its errno.
public struct SystemCallError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let errno: Int32

    public var description: String { "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// Runs a system call the way every call site must: errno captured at the call, EINTR
/// retried, EBADF/EFAULT treated as our own bug, anything else thrown as a typed error.
@inline(__always)
func systemCall<T: FixedWidthInteger>(_ name: @autoclosure () -> String, _ body: () -> T) throws(SystemCallError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let error = Glibc.errno
        switch error {
        case EINTR: continue
        case EBADF, EFAULT: preconditionFailure("\(name()) failed with errno \(error): a bug in CellHub")
        default: throw SystemCallError(call: name(), errno: error)
        }
    }
}

/// Like `systemCall`, but EAGAIN/EWOULDBLOCK come back as nil (nothing to do right now).
@inline(__always)
func nonBlockingCall<T: FixedWidthInteger>(_ name: @autoclosure () -> String, _ body: () -> T) throws(SystemCallError) -> T? {
    do {
        return try systemCall(name(), body)
    } catch where error.errno == EAGAIN || error.errno == EWOULDBLOCK {
        return nil
    }
}

/// Monotonic time in nanoseconds (CLOCK_MONOTONIC), the clock every deadline uses.
public func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
