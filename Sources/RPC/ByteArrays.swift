extension Array where Element == UInt8 {
    /// `init(unsafeUninitializedCapacity:initializingWith:)` for small byte arrays, cheaper:
    /// that initializer allocates through the standard library's unspecialised
    /// `_allocateBufferUninitialized`, which looks the storage type's metadata up on every
    /// call (~300 instructions, as much as the malloc). Up to 1 KiB is built on the stack and
    /// copied by the specialised path instead; larger arrays take the initializer (the copy
    /// would cost more than the lookup).
    @inlinable
    public init(byteCount: Int, initializingWith body: (UnsafeMutableBufferPointer<UInt8>) -> Int) {
        guard byteCount <= 1_024 else {
            self.init(unsafeUninitializedCapacity: byteCount) { buffer, count in count = body(buffer) }
            return
        }
        self = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: byteCount) { buffer in
            let count = body(buffer)
            return [UInt8](UnsafeBufferPointer(rebasing: buffer[0..<count]))
        }
    }
}
