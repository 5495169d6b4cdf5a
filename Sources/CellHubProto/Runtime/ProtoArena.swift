internal import CProtobufC

#if canImport(Glibc)
import Glibc
#endif

/// A bump allocator for one encode or decode: the C structs handed to protobuf-c are built
/// in it, and protobuf-c's unpack allocates from it, so a whole message tree costs one
/// `malloc` (more only for large messages) and is released at once, in `deinit`.
///
/// Memory layout: the first block starts with a `Header`; the rest of it, and any
/// overflow blocks linked from the header, is handed out 16-byte aligned. The header
/// also holds the `ProtobufCAllocator` whose `allocator_data` points back at it, so
/// protobuf-c can allocate from the arena without any Swift object.
struct ProtoArena: ~Copyable {
    fileprivate struct Header {
        var cursor: UnsafeMutableRawPointer
        var end: UnsafeMutableRawPointer
        /// Overflow blocks, each starting with the pointer to the next one.
        var overflow: UnsafeMutableRawPointer?
        var nextBlockSize: Int
        var allocator: ProtobufCAllocator
    }

    private static let alignment = 16
    fileprivate static let firstBlockSize = 4096
    private static let maxBlockSize = 1 << 20

    /// The first block; owned by this arena, freed in `deinit` with every overflow block.
    private let header: UnsafeMutablePointer<Header>

    init() {
        let block = FirstBlockCache.take()
        let headerSize = (MemoryLayout<Header>.stride + Self.alignment - 1) & ~(Self.alignment - 1)
        header = block.bindMemory(to: Header.self, capacity: 1)
        header.initialize(to: Header(
            cursor: block + headerSize,
            end: block + Self.firstBlockSize,
            overflow: nil,
            nextBlockSize: Self.firstBlockSize * 4,
            allocator: ProtobufCAllocator(alloc: arenaAlloc, free: arenaFree, allocator_data: UnsafeMutableRawPointer(block))
        ))
    }

    deinit {
        var next = header.pointee.overflow
        while let block = next {
            next = block.load(as: UnsafeMutableRawPointer?.self)
            free(block)
        }
        FirstBlockCache.give(UnsafeMutableRawPointer(header))
    }

    /// protobuf-c's allocator interface over this arena (valid while the arena lives).
    var allocator: UnsafeMutablePointer<ProtobufCAllocator> {
        UnsafeMutableRawPointer(header).advanced(by: MemoryLayout<Header>.offset(of: \Header.allocator)!)
            .assumingMemoryBound(to: ProtobufCAllocator.self)
    }

    func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        Self.allocate(byteCount, in: header)
    }

    fileprivate static func allocate(_ byteCount: Int, in header: UnsafeMutablePointer<Header>) -> UnsafeMutableRawPointer {
        let size = (max(byteCount, 1) + alignment - 1) & ~(alignment - 1)
        let cursor = header.pointee.cursor
        if header.pointee.end - cursor >= size {
            header.pointee.cursor = cursor + size
            return cursor
        }
        // Start a new block; the rest of the current one is abandoned (at most one block's tail).
        let blockSize = max(size + alignment, header.pointee.nextBlockSize)
        guard let block = malloc(blockSize) else { fatalError("out of memory") }
        block.storeBytes(of: header.pointee.overflow, as: UnsafeMutableRawPointer?.self)
        header.pointee.overflow = block
        header.pointee.nextBlockSize = min(header.pointee.nextBlockSize * 2, maxBlockSize)
        let start = block + alignment
        header.pointee.cursor = start + size
        header.pointee.end = block + blockSize
        return start
    }

    /// Room for `count` values of `T`, uninitialized.
    func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        precondition(MemoryLayout<T>.alignment <= Self.alignment)
        return allocate(byteCount: MemoryLayout<T>.stride * count).bindMemory(to: T.self, capacity: count)
    }

    /// A NUL-terminated copy of `string`'s UTF-8 (protobuf-c strings are C strings).
    func cString(_ string: String) -> UnsafeMutablePointer<CChar> {
        var string = string
        return string.withUTF8 { utf8 in
            let out = allocate(CChar.self, count: utf8.count + 1)
            UnsafeMutableRawPointer(out).copyMemory(from: utf8.baseAddress!, byteCount: utf8.count)
            out[utf8.count] = 0
            return out
        }
    }

    /// A copy of `bytes` as protobuf-c's length + pointer pair.
    func binaryData(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        let out = allocate(UInt8.self, count: bytes.count)
        bytes.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: $0.count) }
        return ProtobufCBinaryData(len: bytes.count, data: out)
    }

    /// A copy of `elements` as a C array (for scalars, whose layout Swift and C share).
    func copy<T: BitwiseCopyable>(_ elements: [T]) -> UnsafeMutablePointer<T> {
        let out = allocate(T.self, count: elements.count)
        elements.withUnsafeBufferPointer { out.initialize(from: $0.baseAddress!, count: $0.count) }
        return out
    }

    /// A C array holding `transform` of each element.
    func array<Element, T>(_ elements: [Element], _ transform: (Element) -> T) -> UnsafeMutablePointer<T> {
        let out = allocate(T.self, count: elements.count)
        for (index, element) in elements.enumerated() {
            (out + index).initialize(to: transform(element))
        }
        return out
    }

    /// `message` lowered into a freshly initialized protoc-c struct.
    func lowered<Message: ProtoCBridged>(_ message: Message) -> UnsafeMutablePointer<Message.CMessage> {
        let c = allocate(Message.CMessage.self, count: 1)
        Message.cInitialize(c)
        message.lower(into: c, arena: self)
        return c
    }
}

/// protobuf-c calls these through the allocator table; they must not capture context,
/// so the arena is found through `allocator_data`.
private let arenaAlloc: @convention(c) (UnsafeMutableRawPointer?, Int) -> UnsafeMutableRawPointer? = { data, size in
    ProtoArena.allocateForC(size, header: data!)
}

/// Memory is released with the whole arena.
private let arenaFree: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { _, _ in }

extension ProtoArena {
    /// protobuf-c's allocations carry their size in the 16 bytes before them: a string's
    /// wire length is then known after unpack (see `wireLength`), which is how a string
    /// with an embedded NUL — cut short by protobuf-c's C strings — is detected.
    fileprivate static func allocateForC(_ size: Int, header: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        // 8 bytes of size, then the allocation: 8-byte aligned, all protobuf-c's structs need.
        let block = allocate(size + sizeHeader, in: header.assumingMemoryBound(to: Header.self))
        block.storeBytes(of: size, as: Int.self)
        return block + sizeHeader
    }

    private static let sizeHeader = MemoryLayout<Int>.size

    /// The size protobuf-c asked for when it allocated `pointer` during unpack.
    static func allocationSize(of pointer: UnsafeRawPointer) -> Int {
        (pointer - sizeHeader).load(as: Int.self)
    }
}

/// One spare first block per thread, so a steady stream of encodes and decodes on a thread
/// reuses the same memory instead of a `malloc`/`free` pair per message.
private enum FirstBlockCache {
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { block in free(block) }
        precondition(status == 0, "pthread_key_create failed: \(status)")
        return key
    }()

    static func take() -> UnsafeMutableRawPointer {
        if let block = pthread_getspecific(key) {
            pthread_setspecific(key, nil)
            return block
        }
        guard let block = malloc(ProtoArena.firstBlockSize) else { fatalError("out of memory") }
        return block
    }

    static func give(_ block: UnsafeMutableRawPointer) {
        if pthread_getspecific(key) == nil {
            pthread_setspecific(key, block)
        } else {
            free(block)
        }
    }
}
