internal import CTIFF

/// TIFF through libtiff, reading from memory: the first image of the file, gray or RGB, 8 or
/// 16 bits straight from its strips or tiles (16-bit levels kept); any other layout libtiff can
/// render (palette, 1-bit, YCbCr, separate planes...) through its 8-bit RGBA reader.
enum TIFFDecoder {
    /// The largest single allocation libtiff may make for one file (strip or tile buffers,
    /// directory arrays): a hostile StripByteCounts cannot ask for more.
    static let maxSingleAllocation = 1 << 30

    static func decode(_ bytes: [UInt8], limits: ImageLimits) throws(ImageDecodingError) -> GrayImage {
        if bytes.count < 8 { throw .malformed("not a TIFF file (too short)") }
        let magic = (bytes[0], bytes[1], bytes[2], bytes[3])
        guard magic == (0x49, 0x49, 0x2A, 0x00) || magic == (0x4D, 0x4D, 0x00, 0x2A)
            || magic == (0x49, 0x49, 0x2B, 0x00) || magic == (0x4D, 0x4D, 0x00, 0x2B)
        else { throw .malformed("not a TIFF file (bad byte-order mark)") }
        let result: Result<GrayImage, ImageDecodingError> = bytes.withUnsafeBytes { raw in
            let reader = TIFFMemoryReader(base: raw.baseAddress!, size: raw.count)
            return Result { () throws(ImageDecodingError) in try reader.decode(limits: limits) }
        }
        return try result.get()
    }
}

/// One libtiff handle over a borrowed byte buffer, with the error text libtiff reported.
final class TIFFMemoryReader {
    /// Borrowed from the caller's `withUnsafeBytes`; only used while `decode` runs, and the
    /// TIFF handle that reads through it is closed before `decode` returns.
    let base: UnsafeRawPointer
    let size: Int
    var offset = 0
    /// The first error libtiff reported on this handle (its handlers return; we keep the text).
    var error: String?

    init(base: UnsafeRawPointer, size: Int) {
        self.base = base
        self.size = size
    }

    func decode(limits: ImageLimits) throws(ImageDecodingError) -> GrayImage {
        guard let options = TIFFOpenOptionsAlloc() else { throw .outOfMemory("TIFFOpenOptionsAlloc") }
        defer { TIFFOpenOptionsFree(options) }
        let this = Unmanaged.passUnretained(self).toOpaque()
        TIFFOpenOptionsSetErrorHandlerExtR(options, tiffError, this)
        TIFFOpenOptionsSetWarningHandlerExtR(options, tiffWarning, this)
        TIFFOpenOptionsSetMaxSingleMemAlloc(options, tmsize_t(TIFFDecoder.maxSingleAllocation))
        guard
            let tiff = TIFFClientOpenExt(
                "memory", "r", this, tiffRead, tiffWrite, tiffSeek, tiffClose, tiffSize, tiffMap, tiffUnmap, options)
        else { throw .malformed(error ?? "libtiff could not open the file") }
        defer { TIFFClose(tiff) }
        return try withExtendedLifetime(self) { () throws(ImageDecodingError) in try read(tiff, limits: limits) }
    }

    private func field32(_ tiff: OpaquePointer, _ tag: Int32) -> UInt32? {
        var value: UInt32 = 0
        return cellhub_tiff_get_uint32(tiff, UInt32(tag), &value) == 1 ? value : nil
    }

    private func field16(_ tiff: OpaquePointer, _ tag: Int32, defaulted: Bool = true) -> UInt16? {
        var value: UInt16 = 0
        let found =
            defaulted
            ? cellhub_tiff_get_uint16_defaulted(tiff, UInt32(tag), &value) : cellhub_tiff_get_uint16(tiff, UInt32(tag), &value)
        return found == 1 ? value : nil
    }

    private func read(_ tiff: OpaquePointer, limits: ImageLimits) throws(ImageDecodingError) -> GrayImage {
        guard let width32 = field32(tiff, TIFFTAG_IMAGEWIDTH), let height32 = field32(tiff, TIFFTAG_IMAGELENGTH) else {
            throw .malformed(error ?? "TIFF without image width or length")
        }
        let width = Int(width32), height = Int(height32)
        if let refusal = limits.refusal(width: width, height: height) {
            throw width > 0 && height > 0 ? .tooLarge(refusal) : .malformed(refusal)
        }
        let bits = Int(field16(tiff, TIFFTAG_BITSPERSAMPLE) ?? 1)
        let channels = Int(field16(tiff, TIFFTAG_SAMPLESPERPIXEL) ?? 1)
        let format = field16(tiff, TIFFTAG_SAMPLEFORMAT) ?? UInt16(SAMPLEFORMAT_UINT)
        let planar = field16(tiff, TIFFTAG_PLANARCONFIG) ?? UInt16(PLANARCONFIG_CONTIG)
        let photometric = Int32(field16(tiff, TIFFTAG_PHOTOMETRIC, defaulted: false) ?? UInt16(channels >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK))
        let direct =
            (bits == 8 || bits == 16) && format == SAMPLEFORMAT_UINT && (planar == PLANARCONFIG_CONTIG || channels == 1)
            && (((photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE) && (1...2).contains(channels))
                || (photometric == PHOTOMETRIC_RGB && (3...4).contains(channels)))
        let layout = SampleLayout(
            width: width, channels: channels, sixteenBit: bits == 16, inverted: photometric == PHOTOMETRIC_MINISWHITE)
        if !direct { return try readRGBA(tiff, width: width, height: height) }
        var levels = [UInt16](repeating: 0, count: width * height)
        if TIFFIsTiled(tiff) != 0 {
            try readTiles(tiff, layout: layout, height: height, into: &levels)
        } else {
            try readStrips(tiff, layout: layout, height: height, into: &levels)
        }
        return GrayImage(width: width, height: height, maxLevel: bits == 16 ? 65535 : 255, levels: levels)
    }

    private func readStrips(
        _ tiff: OpaquePointer, layout: SampleLayout, height: Int, into levels: inout [UInt16]
    ) throws(ImageDecodingError) {
        let rowsPerStrip = min(Int(field32(tiff, TIFFTAG_ROWSPERSTRIP) ?? UInt32(height)), height)
        let stripSize = Int(TIFFStripSize64(tiff))
        guard rowsPerStrip > 0, stripSize >= rowsPerStrip * layout.rowBytes, stripSize <= TIFFDecoder.maxSingleAllocation
        else { throw .malformed(error ?? "inconsistent strip layout") }
        var buffer = [UInt8](repeating: 0, count: stripSize)
        let strips = (height + rowsPerStrip - 1) / rowsPerStrip
        for strip in 0..<strips {
            let rows = min(rowsPerStrip, height - strip * rowsPerStrip)
            let read = buffer.withUnsafeMutableBytes { TIFFReadEncodedStrip(tiff, UInt32(strip), $0.baseAddress, -1) }
            if read < rows * layout.rowBytes { throw .malformed(error ?? "strip \(strip) is truncated or corrupt") }
            buffer.withUnsafeBytes { raw in
                levels.withUnsafeMutableBufferPointer { out in
                    for row in 0..<rows {
                        layout.convert(
                            row: raw.baseAddress! + row * layout.rowBytes, count: layout.width,
                            into: out.baseAddress! + (strip * rowsPerStrip + row) * layout.width)
                    }
                }
            }
        }
    }

    private func readTiles(
        _ tiff: OpaquePointer, layout: SampleLayout, height: Int, into levels: inout [UInt16]
    ) throws(ImageDecodingError) {
        guard let tileWidth32 = field32(tiff, TIFFTAG_TILEWIDTH), let tileHeight32 = field32(tiff, TIFFTAG_TILELENGTH)
        else { throw .malformed(error ?? "tiled TIFF without tile size") }
        let tileWidth = Int(tileWidth32), tileHeight = Int(tileHeight32)
        let tileSize = Int(TIFFTileSize64(tiff))
        let tileRowBytes = tileWidth * layout.channels * (layout.sixteenBit ? 2 : 1)
        guard tileWidth > 0, tileHeight > 0, tileSize <= TIFFDecoder.maxSingleAllocation,
            tileSize >= tileHeight * tileRowBytes
        else { throw .malformed(error ?? "inconsistent tile layout") }
        var buffer = [UInt8](repeating: 0, count: tileSize)
        for y0 in stride(from: 0, to: height, by: tileHeight) {
            for x0 in stride(from: 0, to: layout.width, by: tileWidth) {
                let tile = TIFFComputeTile(tiff, UInt32(x0), UInt32(y0), 0, 0)
                let read = buffer.withUnsafeMutableBytes { TIFFReadEncodedTile(tiff, tile, $0.baseAddress, -1) }
                if read < tileHeight * tileRowBytes { throw .malformed(error ?? "tile \(tile) is truncated or corrupt") }
                let columns = min(tileWidth, layout.width - x0)
                buffer.withUnsafeBytes { raw in
                    levels.withUnsafeMutableBufferPointer { out in
                        for row in 0..<min(tileHeight, height - y0) {
                            layout.convert(
                                row: raw.baseAddress! + row * tileRowBytes, count: columns,
                                into: out.baseAddress! + (y0 + row) * layout.width + x0)
                        }
                    }
                }
            }
        }
    }

    /// libtiff's RGBA reader for every other layout it supports; 8-bit luma of the result.
    private func readRGBA(_ tiff: OpaquePointer, width: Int, height: Int) throws(ImageDecodingError) -> GrayImage {
        var reason = [CChar](repeating: 0, count: 1024)
        if TIFFRGBAImageOK(tiff, &reason) == 0 {
            throw .unsupported(String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        var raster = [UInt32](repeating: 0, count: width * height)
        let ok = raster.withUnsafeMutableBufferPointer {
            TIFFReadRGBAImageOriented(tiff, UInt32(width), UInt32(height), $0.baseAddress, ORIENTATION_TOPLEFT, 0)
        }
        if ok == 0 { throw .malformed(error ?? "libtiff could not render the image") }
        let levels = raster.map { pixel -> UInt16 in
            let r = UInt32(pixel & 0xFF), g = UInt32((pixel >> 8) & 0xFF), b = UInt32((pixel >> 16) & 0xFF)
            return UInt16((19595 * r + 38470 * g + 7471 * b + 32768) >> 16)
        }
        return GrayImage(width: width, height: height, maxLevel: 255, levels: levels)
    }
}

/// How one row of contiguous TIFF samples becomes gray levels.
struct SampleLayout {
    var width: Int
    var channels: Int
    var sixteenBit: Bool
    /// PHOTOMETRIC_MINISWHITE: 0 is white.
    var inverted: Bool

    var rowBytes: Int { width * channels * (sixteenBit ? 2 : 1) }

    func convert(row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<UInt16>) {
        // libtiff has already swapped 16-bit samples to the host's byte order.
        let maxLevel: UInt32 = sixteenBit ? 65535 : 255
        for x in 0..<count {
            var value: UInt32
            if channels >= 3 {
                let r = sample(row, x * channels), g = sample(row, x * channels + 1), b = sample(row, x * channels + 2)
                value = (19595 * r + 38470 * g + 7471 * b + 32768) >> 16
            } else {
                value = sample(row, x * channels)
            }
            if inverted { value = maxLevel - min(value, maxLevel) }
            out[x] = UInt16(truncatingIfNeeded: value)
        }
    }

    private func sample(_ row: UnsafeRawPointer, _ index: Int) -> UInt32 {
        sixteenBit
            ? UInt32(row.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self))
            : UInt32(row.load(fromByteOffset: index, as: UInt8.self))
    }
}

// libtiff's client callbacks: non-capturing C functions that recover the reader from the handle.

private func reader(_ handle: thandle_t?) -> TIFFMemoryReader {
    Unmanaged<TIFFMemoryReader>.fromOpaque(handle!).takeUnretainedValue()
}

private let tiffRead: TIFFReadWriteProc = { handle, buffer, count in
    let reader = reader(handle)
    guard let buffer, count > 0 else { return 0 }
    let available = reader.size - reader.offset
    let length = min(Int(count), max(available, 0))
    if length > 0 { buffer.copyMemory(from: reader.base + reader.offset, byteCount: length) }
    reader.offset += length
    return tmsize_t(length)
}

/// The file is read-only: libtiff never writes in "r" mode, and a write would be our bug.
private let tiffWrite: TIFFReadWriteProc = { _, _, _ in 0 }

private let tiffSeek: TIFFSeekProc = { handle, offset, whence in
    let reader = reader(handle)
    let delta = Int64(bitPattern: offset)
    let origin: Int64
    switch whence {
    case SEEK_SET: origin = 0
    case SEEK_CUR: origin = Int64(reader.offset)
    case SEEK_END: origin = Int64(reader.size)
    default: return toff_t.max
    }
    let (target, overflow) = origin.addingReportingOverflow(delta)
    // Seeking past the end is allowed (reads there return 0 bytes), as with a file.
    guard !overflow, target >= 0, target <= Int64(Int.max / 2) else { return toff_t.max }
    reader.offset = Int(target)
    return toff_t(target)
}

private let tiffClose: TIFFCloseProc = { _ in 0 }

private let tiffSize: TIFFSizeProc = { handle in toff_t(reader(handle).size) }

/// Handing libtiff the buffer as a "mapped file" lets it read strips without copying; libtiff
/// only reads mapped files it opened in "r" mode.
private let tiffMap: TIFFMapFileProc = { handle, base, size in
    let reader = reader(handle)
    base?.pointee = UnsafeMutableRawPointer(mutating: reader.base)
    size?.pointee = toff_t(reader.size)
    return 1
}

private let tiffUnmap: TIFFUnmapFileProc = { _, _, _ in }

private let tiffError: TIFFErrorHandlerExtR = { _, userData, module, format, arguments in
    guard let userData else { return 0 }
    let reader = Unmanaged<TIFFMemoryReader>.fromOpaque(userData).takeUnretainedValue()
    if reader.error == nil, let format, let arguments {
        var text = [CChar](repeating: 0, count: 512)
        text.withUnsafeMutableBufferPointer { cellhub_tiff_format($0.baseAddress, $0.count, format, arguments) }
        let message = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        reader.error = module.map { "\(String(cString: $0)): \(message)" } ?? message
    }
    return 1  // handled: libtiff does not also print it
}

/// Warnings (unknown tags, odd but readable layouts) are not failures and must not reach stderr.
private let tiffWarning: TIFFErrorHandlerExtR = { _, _, _, _, _ in 1 }
