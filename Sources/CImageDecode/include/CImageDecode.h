// PNG and JPEG decoding (and, for tests and tools, encoding) in C, for ImageDecoding.
//
// Why C: libpng and libjpeg report errors by longjmp out of whatever call failed. A longjmp
// across Swift frames skips their releases and defers, so the Swift side never calls either
// library; these functions setjmp, run the whole decode, and return a status code. Only plain C
// types cross this header: no libpng or libjpeg type reaches Swift.
#ifndef CIMAGEDECODE_H
#define CIMAGEDECODE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    CELLHUB_IMAGE_OK = 0,
    /// Not a well-formed file of the format (truncated, corrupt, bad checksum...).
    CELLHUB_IMAGE_MALFORMED = 1,
    /// Well-formed but with a layout this decoder does not turn into gray (e.g. CMYK JPEG).
    CELLHUB_IMAGE_UNSUPPORTED = 2,
    /// Width or height above max_side, or width * height above max_pixels (checked from the
    /// header, before any pixel buffer is allocated).
    CELLHUB_IMAGE_TOO_LARGE = 3,
    CELLHUB_IMAGE_OUT_OF_MEMORY = 4,
} cellhub_image_status;

/// A decoded image: `samples` holds height rows of width * channels interleaved samples, one
/// byte each when bits_per_sample is 8, one native-endian uint16_t each when it is 16.
/// Owned by the caller once returned OK: release with cellhub_image_free.
typedef struct {
    uint32_t width;
    uint32_t height;
    uint32_t channels;        // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
    uint32_t bits_per_sample; // 8 or 16
    void *samples;
} cellhub_decoded_image;

/// Frees `image->samples` (NULL-safe) and zeroes the struct.
void cellhub_image_free(cellhub_decoded_image *image);

/// Decodes a PNG held in memory. Palette and low-bit-depth images are expanded to 8 bits,
/// transparency keys to an alpha channel; 16-bit images stay 16-bit. On failure `message`
/// (capacity bytes, may be NULL) gets libpng's reason and `out` is left empty.
cellhub_image_status cellhub_png_decode(const uint8_t *data, size_t size, uint32_t max_side, uint64_t max_pixels,
                                        cellhub_decoded_image *out, char *message, size_t capacity);

/// Decodes a baseline or progressive JPEG held in memory straight to one gray channel (the
/// luma plane for YCbCr files; RGB and gray files are converted by libjpeg). CMYK/YCCK files
/// are UNSUPPORTED.
cellhub_image_status cellhub_jpeg_decode(const uint8_t *data, size_t size, uint32_t max_side, uint64_t max_pixels,
                                         cellhub_decoded_image *out, char *message, size_t capacity);

/// An encoded file in malloc'ed memory; release with cellhub_encoded_free.
typedef struct {
    uint8_t *bytes;
    size_t size;
} cellhub_encoded_file;

/// Frees `file->bytes` (NULL-safe) and zeroes the struct (so Swift needs no libc import).
void cellhub_encoded_free(cellhub_encoded_file *file);

/// Encodes interleaved samples (the layout of cellhub_decoded_image; 16-bit samples native
/// endian) as a PNG with zlib `level` (0..9). For tests and tools that need real PNG files.
cellhub_image_status cellhub_png_encode(const void *samples, uint32_t width, uint32_t height, uint32_t channels,
                                        uint32_t bits_per_sample, int level, cellhub_encoded_file *out,
                                        char *message, size_t capacity);

/// Encodes 8-bit gray (channels 1) or RGB (channels 3) samples as a baseline JPEG of the given
/// quality (1..100). For tests and tools.
cellhub_image_status cellhub_jpeg_encode(const uint8_t *samples, uint32_t width, uint32_t height, uint32_t channels,
                                         int quality, cellhub_encoded_file *out, char *message, size_t capacity);

#endif
