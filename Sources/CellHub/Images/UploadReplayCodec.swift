
/// The bytes stored with an idempotency key: the images an upload returned, so a replay
/// answers exactly what the original call did. Length-prefixed fields, a version byte first.
enum UploadReplayCodec {
    private static let version: UInt8 = 1

    static func encode(_ images: [ImageMetadata]) -> [UInt8] {
        var out: [UInt8] = [version]
        put(Int64(images.count), &out)
        for image in images {
            for text in [image.id, image.projectID, image.name, image.contentType, image.sha256Hex,
                         image.uploadedBy.id, image.uploadedBy.name, image.jobID, image.failureReason] {
                put(text, &out)
            }
            for number in [image.sizeBytes, image.status.rawValue, image.uploadedAtMs, image.statusChangedAtMs,
                           image.segmentedAtMs, image.cellCount] {
                put(number, &out)
            }
        }
        return out
    }

    /// nil for bytes this version did not write.
    static func decode(_ bytes: [UInt8]) -> [ImageMetadata]? {
        var reader = Reader(bytes: bytes)
        guard reader.byte() == version, let count = reader.int64(), count >= 0, count <= 10_000 else { return nil }
        var images: [ImageMetadata] = []
        for _ in 0..<count {
            var texts: [String] = []
            for _ in 0..<9 {
                guard let text = reader.string() else { return nil }
                texts.append(text)
            }
            var numbers: [Int64] = []
            for _ in 0..<6 {
                guard let number = reader.int64() else { return nil }
                numbers.append(number)
            }
            guard let status = ImageStatus(rawValue: numbers[1]) else { return nil }
            images.append(ImageMetadata(
                id: texts[0], projectID: texts[1], name: texts[2], contentType: texts[3], sizeBytes: numbers[0],
                sha256Hex: texts[4], status: status, uploadedAtMs: numbers[2],
                uploadedBy: UserRef(id: texts[5], name: texts[6]), statusChangedAtMs: numbers[3],
                segmentedAtMs: numbers[4], jobID: texts[7], cellCount: numbers[5], failureReason: texts[8]))
        }
        return reader.atEnd ? images : nil
    }

    private static func put(_ value: Int64, _ out: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> Int64(shift))) }
    }

    private static func put(_ text: String, _ out: inout [UInt8]) {
        put(Int64(text.utf8.count), &out)
        out += text.utf8
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        var atEnd: Bool { offset == bytes.count }

        mutating func byte() -> UInt8? {
            guard offset < bytes.count else { return nil }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func int64() -> Int64? {
            guard bytes.count - offset >= 8 else { return nil }
            var value: Int64 = 0
            for byte in bytes[offset..<offset + 8] { value = value << 8 | Int64(byte) }
            offset += 8
            return value
        }

        mutating func string() -> String? {
            guard let length = int64(), length >= 0, length <= Int64(bytes.count - offset) else { return nil }
            let end = offset + Int(length)
            defer { offset = end }
            return String(validating: bytes[offset..<end], as: UTF8.self)
        }
    }
}
