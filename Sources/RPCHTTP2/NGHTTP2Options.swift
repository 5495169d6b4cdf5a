internal import CNGHTTP2

/// nghttp2 session options: every limit set explicitly rather than left to the library's
/// defaults, so a misbehaving peer meets a documented wall.
enum NGHTTP2Options {
    static func server(_ config: ServerConfiguration) -> OpaquePointer {
        var options: OpaquePointer?
        precondition(nghttp2_option_new(&options) == 0, "nghttp2_option_new failed")
        // Window updates follow what requests hold in memory (ServerConnection's budget).
        nghttp2_option_set_no_auto_window_update(options, 1)
        // Rapid reset (CVE-2023-44487): at most `burst` RST_STREAMs, refilled at `rate`/s;
        // beyond that nghttp2 answers GOAWAY(ENHANCE_YOUR_CALM).
        nghttp2_option_set_stream_reset_rate_limit(options, UInt64(config.resetBurst), UInt64(config.resetRatePerSecond))
        // CONTINUATION flood: cap the frames one header block may take.
        nghttp2_option_set_max_continuations(options, Int(config.maxContinuations))
        nghttp2_option_set_max_settings(options, 32)
        nghttp2_option_set_max_outbound_ack(options, 1000)
        nghttp2_option_set_max_send_header_block_length(options, config.maxHeaderListBytes * 2)
        nghttp2_option_set_max_deflate_dynamic_table_size(options, 4096)
        return options!
    }

    static func client() -> OpaquePointer {
        var options: OpaquePointer?
        precondition(nghttp2_option_new(&options) == 0, "nghttp2_option_new failed")
        // Window updates follow what the caller consumed (see ClientStream.creditOnReceipt).
        nghttp2_option_set_no_auto_window_update(options, 1)
        nghttp2_option_set_max_continuations(options, 16)
        nghttp2_option_set_max_settings(options, 32)
        return options!
    }
}
