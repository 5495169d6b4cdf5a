// libpng read and write behind setjmp: every libpng error longjmps back to the setjmp in the
// function that called into libpng, which frees what it allocated and returns a status code.
// Locals assigned after setjmp and read after the longjmp are volatile (C11 7.13.2.1).
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>

#include "common.h"

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
    char *message;
    size_t capacity;
} png_memory_reader;

static void png_read_memory(png_structp png, png_bytep out, size_t length) {
    png_memory_reader *reader = png_get_io_ptr(png);
    if (length > reader->size - reader->offset) png_error(png, "truncated PNG data");
    memcpy(out, reader->data + reader->offset, length);
    reader->offset += length;
}

/// libpng's error callback must not return: record the reason, then longjmp to png_jmpbuf.
static void png_fail(png_structp png, png_const_charp text) {
    png_memory_reader *reader = png_get_error_ptr(png);
    if (reader != NULL) cellhub_set_message(reader->message, reader->capacity, text);
    png_longjmp(png, 1);
}

/// Warnings (unknown chunks, bad ancillary CRCs...) are not errors; nothing goes to stderr.
static void png_ignore_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

cellhub_image_status cellhub_png_decode(const uint8_t *data, size_t size, uint32_t max_side, uint64_t max_pixels,
                                        cellhub_decoded_image *out, char *message, size_t capacity) {
    memset(out, 0, sizeof *out);
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        cellhub_set_message(message, capacity, "not a PNG file (bad signature)");
        return CELLHUB_IMAGE_MALFORMED;
    }
    // The bounds come from the IHDR chunk (always first, at a fixed offset) before libpng
    // allocates anything for the image, so an oversized header costs nothing.
    if (size >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
        uint32_t width = be32(data + 16), height = be32(data + 20);
        if (width > 0 && height > 0 && !cellhub_within_bounds(width, height, max_side, max_pixels)) {
            cellhub_too_large_message(message, capacity, width, height, max_side, max_pixels);
            return CELLHUB_IMAGE_TOO_LARGE;
        }
    }
    png_memory_reader reader = {data, size, 0, message, capacity};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, png_fail, png_ignore_warning);
    if (png == NULL) return CELLHUB_IMAGE_OUT_OF_MEMORY;
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        return CELLHUB_IMAGE_OUT_OF_MEMORY;
    }
    uint8_t *volatile samples = NULL;
    png_bytep *volatile rows = NULL;
    volatile cellhub_image_status failure = CELLHUB_IMAGE_MALFORMED;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        free(samples);
        png_destroy_read_struct(&png, &info, NULL);
        return failure;
    }
    png_set_read_fn(png, &reader, png_read_memory);
    png_set_user_limits(png, max_side, max_side);
    png_set_chunk_malloc_max(png, 16u << 20);  // ancillary chunks (text, ICC...) up to 16 MiB
    png_read_info(png, info);
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, NULL, NULL, NULL);
    if (!cellhub_within_bounds(width, height, max_side, max_pixels)) {
        cellhub_too_large_message(message, capacity, width, height, max_side, max_pixels);
        failure = CELLHUB_IMAGE_TOO_LARGE;
        png_longjmp(png, 1);
    }
    png_set_expand(png);  // palette -> RGB, gray < 8 bits -> 8 bits, tRNS -> alpha
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (bit_depth == 16) png_set_swap(png);  // PNG stores 16-bit samples big-endian
#endif
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    uint32_t channels = png_get_channels(png, info);
    uint32_t depth = png_get_bit_depth(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if ((depth != 8 && depth != 16) || channels < 1 || channels > 4 || row_bytes != (size_t)width * channels * (depth / 8)) {
        cellhub_set_message(message, capacity, "unsupported PNG layout after expansion");
        failure = CELLHUB_IMAGE_UNSUPPORTED;
        png_longjmp(png, 1);
    }
    failure = CELLHUB_IMAGE_OUT_OF_MEMORY;
    samples = malloc(row_bytes * height);
    rows = malloc(sizeof(png_bytep) * height);
    if (samples == NULL || rows == NULL) {
        cellhub_set_message(message, capacity, "out of memory for the pixel buffer");
        png_longjmp(png, 1);
    }
    failure = CELLHUB_IMAGE_MALFORMED;
    for (png_uint_32 y = 0; y < height; y++) rows[y] = samples + (size_t)y * row_bytes;
    png_read_image(png, rows);
    // The IEND chunk and anything after the image data are not read: a file whose image data
    // is complete decodes even if its tail is missing.
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    out->width = width;
    out->height = height;
    out->channels = channels;
    out->bits_per_sample = depth;
    out->samples = samples;
    return CELLHUB_IMAGE_OK;
}

void cellhub_image_free(cellhub_decoded_image *image) {
    free(image->samples);
    memset(image, 0, sizeof *image);
}

void cellhub_encoded_free(cellhub_encoded_file *file) {
    free(file->bytes);
    file->bytes = NULL;
    file->size = 0;
}

typedef struct {
    uint8_t *bytes;
    size_t size;
    size_t capacity;
    int failed;
} png_memory_writer;

static void png_write_memory(png_structp png, png_bytep chunk, size_t length) {
    png_memory_writer *writer = png_get_io_ptr(png);
    if (writer->size + length > writer->capacity) {
        size_t grown = writer->capacity ? writer->capacity * 2 : 65536;
        while (grown < writer->size + length) grown *= 2;
        uint8_t *bytes = realloc(writer->bytes, grown);
        if (bytes == NULL) {
            writer->failed = 1;
            png_error(png, "out of memory for the encoded PNG");
        }
        writer->bytes = bytes;
        writer->capacity = grown;
    }
    memcpy(writer->bytes + writer->size, chunk, length);
    writer->size += length;
}

static void png_flush_memory(png_structp png) { (void)png; }

cellhub_image_status cellhub_png_encode(const void *samples, uint32_t width, uint32_t height, uint32_t channels,
                                        uint32_t bits_per_sample, int level, cellhub_encoded_file *out,
                                        char *message, size_t capacity) {
    static const int color_types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                       PNG_COLOR_TYPE_RGB_ALPHA};
    out->bytes = NULL;
    out->size = 0;
    if (channels < 1 || channels > 4 || (bits_per_sample != 8 && bits_per_sample != 16) || width == 0 || height == 0) {
        cellhub_set_message(message, capacity, "unsupported layout to encode");
        return CELLHUB_IMAGE_UNSUPPORTED;
    }
    png_memory_reader errors = {NULL, 0, 0, message, capacity};  // only its message fields are used
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &errors, png_fail, png_ignore_warning);
    if (png == NULL) return CELLHUB_IMAGE_OUT_OF_MEMORY;
    png_infop info = png_create_info_struct(png);
    png_memory_writer writer = {NULL, 0, 0, 0};
    png_bytep *volatile rows = NULL;
    if (info == NULL || setjmp(png_jmpbuf(png))) {
        free(rows);
        free(writer.bytes);
        png_destroy_write_struct(&png, &info);
        return writer.failed ? CELLHUB_IMAGE_OUT_OF_MEMORY : CELLHUB_IMAGE_MALFORMED;
    }
    png_set_write_fn(png, &writer, png_write_memory, png_flush_memory);
    png_set_compression_level(png, level);
    png_set_IHDR(png, info, width, height, (int)bits_per_sample, color_types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (bits_per_sample == 16) png_set_swap(png);
#endif
    size_t row_bytes = (size_t)width * channels * (bits_per_sample / 8);
    rows = malloc(sizeof(png_bytep) * height);
    if (rows == NULL) {
        writer.failed = 1;
        png_error(png, "out of memory");
    }
    for (uint32_t y = 0; y < height; y++) rows[y] = (png_bytep)samples + (size_t)y * row_bytes;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    free(rows);
    png_destroy_write_struct(&png, &info);
    out->bytes = writer.bytes;
    out->size = writer.size;
    return CELLHUB_IMAGE_OK;
}
