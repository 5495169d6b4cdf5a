internal import CZlib
import RPC

/// gzip, the one message compression CellHub speaks (besides identity).
enum Gzip {
    enum Failure: Error {
        case corrupt
        /// Inflating would exceed the receive limit (a zip bomb or just too big).
        case tooLarge
    }

    static func compress(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        var stream = z_stream()
        precondition(cellhub_deflate_init_gzip(&stream) == Z_OK, "deflateInit2 failed")
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        return [UInt8](unsafeUninitializedCapacity: bound) { out, count in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(input.count)
            stream.next_out = out.baseAddress
            stream.avail_out = uInt(bound)
            let status = deflate(&stream, Z_FINISH)
            precondition(status == Z_STREAM_END, "deflate into a deflateBound buffer did not finish: \(status)")
            count = Int(stream.total_out)
        }
    }

    /// For a received response: over the limit is RESOURCE_EXHAUSTED, corrupt is INTERNAL.
    static func decompressResponse(_ input: [UInt8], limit: Int) throws(RPCError) -> [UInt8] {
        do {
            return try decompress(input, limit: limit)
        } catch .tooLarge {
            throw RPCError(code: .resourceExhausted, message: "the decompressed response exceeds the limit of \(limit) bytes")
        } catch {
            throw RPCError(code: .internal, message: "the response is not valid gzip")
        }
    }

    static func decompress(_ input: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard cellhub_inflate_init_gzip(&stream) == Z_OK else { throw .corrupt }
        defer { inflateEnd(&stream) }
        var output = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var status: Int32 = Z_OK
        try input.withUnsafeBufferPointer { (source: UnsafeBufferPointer<UInt8>) throws(Failure) in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = uInt(source.count)
            repeat {
                let produced = chunk.withUnsafeMutableBufferPointer { buffer -> Int in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return buffer.count - Int(stream.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END else { throw .corrupt }
                guard output.count + produced <= limit else { throw .tooLarge }
                output.append(contentsOf: chunk[0..<produced])
                if status == Z_OK && produced == 0 && stream.avail_in == 0 { throw .corrupt }  // truncated
            } while status != Z_STREAM_END
        }
        return output
    }
}
