internal import CNGHTTP2

/// Header fields laid out for one nghttp2 submit call. nghttp2 copies name/value bytes
/// during the call (we never set NO_COPY), so the storage only has to outlive the call.
struct HeaderList {
    private var bytes: [UInt8] = []
    private var fields: [(name: Range<Int>, value: Range<Int>)] = []

    init() {
        bytes.reserveCapacity(256)
    }

    mutating func add(_ name: StaticString, _ value: StaticString) {
        add(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount),
            UnsafeRawBufferPointer(start: value.utf8Start, count: value.utf8CodeUnitCount))
    }

    mutating func add(_ name: StaticString, _ value: String) {
        var value = value
        value.withUTF8 { add(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount), UnsafeRawBufferPointer($0)) }
    }

    mutating func add(_ name: String, _ value: String) {
        var name = name, value = value
        name.withUTF8 { n in value.withUTF8 { v in add(UnsafeRawBufferPointer(n), UnsafeRawBufferPointer(v)) } }
    }

    private mutating func add(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        let nameStart = bytes.count
        bytes.append(contentsOf: name)
        let valueStart = bytes.count
        bytes.append(contentsOf: value)
        fields.append((nameStart..<valueStart, valueStart..<bytes.count))
    }

    mutating func append(_ other: HeaderList) {
        for field in other.fields {
            let base = bytes.count
            bytes.append(contentsOf: other.bytes[field.name.lowerBound..<field.value.upperBound])
            let offset = base - field.name.lowerBound
            fields.append((field.name.lowerBound + offset..<field.name.upperBound + offset, field.value.lowerBound + offset..<field.value.upperBound + offset))
        }
    }

    func withNV<R>(_ body: (UnsafePointer<nghttp2_nv>, Int) -> R) -> R {
        var bytes = self.bytes
        return bytes.withUnsafeMutableBufferPointer { storage in
            var nva = fields.map { field in
                nghttp2_nv(
                    name: storage.baseAddress! + field.name.lowerBound, value: storage.baseAddress! + field.value.lowerBound,
                    namelen: field.name.count, valuelen: field.value.count, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            }
            return nva.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
        }
    }
}
