/// A failed file-system call of the blob store: which call, on which path, and errno.
package struct BlobError: Error, Sendable, Equatable, CustomStringConvertible {
    package var operation: String
    package var path: String
    package var errno: Int32

    package var description: String { "\(operation)(\(path)) failed with errno \(errno)" }
}
