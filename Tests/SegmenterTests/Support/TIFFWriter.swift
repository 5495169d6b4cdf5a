/// Minimal uncompressed TIFF files built by hand (little or big endian, strips or tiles), so the
/// decoder is tested against bytes libtiff did not write.
enum TIFFWriter {
    struct Entry {
        var tag: UInt16
        var type: UInt16  // 3 SHORT, 4 LONG
        var values: [UInt32]
    }

    /// A gray image, 8 or 16 bits, in strips of `rowsPerStrip` rows or in `tile` x `tile` tiles.
    static func gray(
        _ levels: [UInt16], width: Int, height: Int, sixteenBit: Bool, bigEndian: Bool = false,
        rowsPerStrip: Int = 16, tile: Int? = nil, declaredWidth: Int? = nil, declaredHeight: Int? = nil
    ) -> [UInt8] {
        let bytesPerSample = sixteenBit ? 2 : 1
        func sampleBytes(_ value: UInt16) -> [UInt8] {
            if !sixteenBit { return [UInt8(clamping: value)] }
            return bigEndian ? [UInt8(value >> 8), UInt8(value & 0xFF)] : [UInt8(value & 0xFF), UInt8(value >> 8)]
        }
        // Pixel data chunks (strips or tiles).
        var chunks: [[UInt8]] = []
        if let tile {
            for ty in stride(from: 0, to: height, by: tile) {
                for tx in stride(from: 0, to: width, by: tile) {
                    var chunk: [UInt8] = []
                    for y in ty..<(ty + tile) {
                        for x in tx..<(tx + tile) {
                            chunk += sampleBytes(y < height && x < width ? levels[y * width + x] : 0)
                        }
                    }
                    chunks.append(chunk)
                }
            }
        } else {
            for y0 in stride(from: 0, to: height, by: rowsPerStrip) {
                var chunk: [UInt8] = []
                for y in y0..<min(height, y0 + rowsPerStrip) {
                    for x in 0..<width { chunk += sampleBytes(levels[y * width + x]) }
                }
                chunks.append(chunk)
            }
        }
        var entries = [
            Entry(tag: 256, type: 4, values: [UInt32(declaredWidth ?? width)]),
            Entry(tag: 257, type: 4, values: [UInt32(declaredHeight ?? height)]),
            Entry(tag: 258, type: 3, values: [UInt32(8 * bytesPerSample)]),
            Entry(tag: 259, type: 3, values: [1]),
            Entry(tag: 262, type: 3, values: [1]),
            Entry(tag: 277, type: 3, values: [1]),
            Entry(tag: 284, type: 3, values: [1]),
        ]
        let offsetsTag: UInt16 = tile == nil ? 273 : 324, countsTag: UInt16 = tile == nil ? 279 : 325
        if let tile {
            entries += [Entry(tag: 322, type: 4, values: [UInt32(tile)]), Entry(tag: 323, type: 4, values: [UInt32(tile)])]
        } else {
            entries.append(Entry(tag: 278, type: 4, values: [UInt32(rowsPerStrip)]))
        }
        // Layout: header (8), pixel data, then out-of-line arrays, then the IFD.
        var body: [UInt8] = []
        var offsets: [UInt32] = []
        for chunk in chunks {
            offsets.append(UInt32(8 + body.count))
            body += chunk
        }
        entries.append(Entry(tag: offsetsTag, type: 4, values: offsets))
        entries.append(Entry(tag: countsTag, type: 4, values: chunks.map { UInt32($0.count) }))
        entries.sort { $0.tag < $1.tag }
        func u16(_ v: UInt16) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: UInt32) -> [UInt8] {
            let le = [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
            return bigEndian ? le.reversed() : le
        }
        var arrays: [UInt8] = []
        var arrayOffsets: [UInt16: UInt32] = [:]
        let arraysStart = 8 + body.count
        for entry in entries where entry.values.count * (entry.type == 3 ? 2 : 4) > 4 {
            arrayOffsets[entry.tag] = UInt32(arraysStart + arrays.count)
            for v in entry.values { arrays += entry.type == 3 ? u16(UInt16(v)) : u32(v) }
        }
        let ifdOffset = UInt32(arraysStart + arrays.count)
        var file: [UInt8] = bigEndian ? [0x4D, 0x4D, 0x00, 0x2A] : [0x49, 0x49, 0x2A, 0x00]
        file += u32(ifdOffset)
        file += body + arrays
        file += u16(UInt16(entries.count))
        for entry in entries {
            file += u16(entry.tag) + u16(entry.type) + u32(UInt32(entry.values.count))
            if let offset = arrayOffsets[entry.tag] {
                file += u32(offset)
            } else if entry.type == 3 {
                var inline = entry.values.flatMap { u16(UInt16($0)) }
                while inline.count < 4 { inline.append(0) }
                file += inline
            } else {
                file += u32(entry.values[0])
            }
        }
        file += u32(0)
        return file
    }
}
