// zlib for gRPC's gzip message compression; RPCHTTP2 is its only Swift importer.
// deflateInit2/inflateInit2 are macros Swift cannot call, hence the two wrappers.
#ifndef CZLIB_SHIM_H
#define CZLIB_SHIM_H
#include <zlib.h>

/// deflateInit2 for gzip framing (window bits 15 + 16), default level and strategy.
static inline int cellhub_deflate_init_gzip(z_streamp stream) {
    return deflateInit2(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

/// inflateInit2 for gzip framing.
static inline int cellhub_inflate_init_gzip(z_streamp stream) {
    return inflateInit2(stream, 15 + 16);
}
#endif
