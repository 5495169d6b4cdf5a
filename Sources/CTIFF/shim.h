// libtiff 4 from Debian (libtiff-dev); ImageDecoding is its only Swift importer.
//
// Unlike libpng and libjpeg, libtiff reports errors through handlers that return, so Swift
// calls it directly: TIFFClientOpenExt reads from our memory buffer through C callbacks, and a
// per-handle error handler (TIFFOpenOptions, libtiff >= 4.5) captures the message instead of
// printing it to stderr. The helpers below exist because Swift cannot call them otherwise:
// - the handlers receive a va_list, which Swift cannot forward to vsnprintf portably;
// - TIFFGetField and TIFFGetFieldDefaulted are variadic (the type of the out-arguments depends on
//   the tag), and Swift does not import C variadic functions.
#ifndef CTIFF_SHIM_H
#define CTIFF_SHIM_H
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <tiffio.h>

/// vsnprintf of a libtiff error message into `buffer` (always NUL-terminated when capacity > 0).
static inline void cellhub_tiff_format(char *buffer, size_t capacity, const char *format, va_list args) {
    if (capacity == 0) return;
    vsnprintf(buffer, capacity, format, args);
}

/// TIFFGetField for a tag whose value is one uint32 (ImageWidth, ImageLength, TileWidth...).
/// Returns 0 when the tag is absent.
static inline int cellhub_tiff_get_uint32(TIFF *tiff, uint32_t tag, uint32_t *value) {
    return TIFFGetField(tiff, tag, value);
}

/// TIFFGetFieldDefaulted for a tag whose value is one uint16 (BitsPerSample, SamplesPerPixel,
/// Photometric, PlanarConfig, SampleFormat...): the TIFF 6 default when the tag is absent.
static inline int cellhub_tiff_get_uint16_defaulted(TIFF *tiff, uint32_t tag, uint16_t *value) {
    return TIFFGetFieldDefaulted(tiff, tag, value);
}

/// TIFFGetField for a uint16 tag without a default (Photometric has none). 0 when absent.
static inline int cellhub_tiff_get_uint16(TIFF *tiff, uint32_t tag, uint16_t *value) {
    return TIFFGetField(tiff, tag, value);
}
#endif
