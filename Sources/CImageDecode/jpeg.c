// libjpeg(-turbo) read and write behind setjmp. libjpeg's error_exit must not return; ours
// formats the message and longjmps to the setjmp of the function that called into libjpeg, which
// destroys the codec object, frees its buffers and returns a status code. Locals assigned after
// setjmp and read after the longjmp are volatile (C11 7.13.2.1).
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>
#include <jerror.h>

#include "common.h"

typedef struct {
    struct jpeg_error_mgr manager;  // first member: libjpeg hands back a pointer to it
    jmp_buf jump;
    char *message;
    size_t capacity;
    int truncated;  // a "premature end of data" warning was emitted
} jpeg_error_trap;

static void jpeg_fail(j_common_ptr codec) {
    jpeg_error_trap *trap = (jpeg_error_trap *)codec->err;
    char text[JMSG_LENGTH_MAX];
    (*codec->err->format_message)(codec, text);
    cellhub_set_message(trap->message, trap->capacity, text);
    longjmp(trap->jump, 1);
}

/// libjpeg's default prints warnings to stderr. A truncated stream is only a warning to libjpeg
/// (it pads the missing rows with gray); we remember it and refuse the image afterwards, since a
/// half-gray image would segment into nonsense. Other warnings (stray bytes before a marker...)
/// are tolerated as libjpeg tolerates them.
static void jpeg_emit(j_common_ptr codec, int level) {
    jpeg_error_trap *trap = (jpeg_error_trap *)codec->err;
    if (level == -1) {
        codec->err->num_warnings++;
        if (codec->err->msg_code == JWRN_JPEG_EOF) trap->truncated = 1;
    }
}

static void jpeg_silent(j_common_ptr codec) { (void)codec; }

static void jpeg_install_trap(jpeg_error_trap *trap, char *message, size_t capacity) {
    jpeg_std_error(&trap->manager);
    trap->manager.error_exit = jpeg_fail;
    trap->manager.emit_message = jpeg_emit;
    trap->manager.output_message = jpeg_silent;
    trap->message = message;
    trap->capacity = capacity;
    trap->truncated = 0;
}

cellhub_image_status cellhub_jpeg_decode(const uint8_t *data, size_t size, uint32_t max_side, uint64_t max_pixels,
                                         cellhub_decoded_image *out, char *message, size_t capacity) {
    memset(out, 0, sizeof *out);
    if (size < 4 || data[0] != 0xFF || data[1] != 0xD8) {
        cellhub_set_message(message, capacity, "not a JPEG file (no SOI marker)");
        return CELLHUB_IMAGE_MALFORMED;
    }
    struct jpeg_decompress_struct codec;
    jpeg_error_trap trap;
    jpeg_install_trap(&trap, message, capacity);
    codec.err = &trap.manager;
    uint8_t *volatile samples = NULL;
    volatile cellhub_image_status failure = CELLHUB_IMAGE_MALFORMED;
    if (setjmp(trap.jump)) {
        jpeg_destroy_decompress(&codec);
        free(samples);
        return failure;
    }
    jpeg_create_decompress(&codec);
    // Progressive files keep whole-image coefficient buffers; libjpeg-turbo enforces this cap
    // (there is no backing store), so a hostile header cannot ask for unbounded memory.
    codec.mem->max_memory_to_use = 1024L * 1024L * 1024L;
    jpeg_mem_src(&codec, data, (unsigned long)size);
    jpeg_read_header(&codec, TRUE);
    if (!cellhub_within_bounds(codec.image_width, codec.image_height, max_side, max_pixels)) {
        cellhub_too_large_message(message, capacity, codec.image_width, codec.image_height, max_side, max_pixels);
        failure = CELLHUB_IMAGE_TOO_LARGE;
        longjmp(trap.jump, 1);
    }
    if (codec.jpeg_color_space == JCS_CMYK || codec.jpeg_color_space == JCS_YCCK) {
        cellhub_set_message(message, capacity, "CMYK JPEG files are not supported");
        failure = CELLHUB_IMAGE_UNSUPPORTED;
        longjmp(trap.jump, 1);
    }
    codec.out_color_space = JCS_GRAYSCALE;
    jpeg_start_decompress(&codec);
    if (codec.output_components != 1) {
        cellhub_set_message(message, capacity, "libjpeg did not produce one gray channel");
        failure = CELLHUB_IMAGE_UNSUPPORTED;
        longjmp(trap.jump, 1);
    }
    uint32_t width = codec.output_width, height = codec.output_height;
    samples = malloc((size_t)width * height);
    if (samples == NULL) {
        cellhub_set_message(message, capacity, "out of memory for the pixel buffer");
        failure = CELLHUB_IMAGE_OUT_OF_MEMORY;
        longjmp(trap.jump, 1);
    }
    while (codec.output_scanline < codec.output_height) {
        JSAMPROW row = samples + (size_t)codec.output_scanline * width;
        if (jpeg_read_scanlines(&codec, &row, 1) != 1) break;
        if (trap.truncated) break;
    }
    if (trap.truncated) {
        cellhub_set_message(message, capacity, "truncated JPEG data");
        longjmp(trap.jump, 1);
    }
    jpeg_finish_decompress(&codec);
    jpeg_destroy_decompress(&codec);
    out->width = width;
    out->height = height;
    out->channels = 1;
    out->bits_per_sample = 8;
    out->samples = samples;
    return CELLHUB_IMAGE_OK;
}

cellhub_image_status cellhub_jpeg_encode(const uint8_t *samples, uint32_t width, uint32_t height, uint32_t channels,
                                         int quality, cellhub_encoded_file *out, char *message, size_t capacity) {
    out->bytes = NULL;
    out->size = 0;
    if ((channels != 1 && channels != 3) || width == 0 || height == 0 || width > 65500 || height > 65500) {
        cellhub_set_message(message, capacity, "unsupported layout to encode");
        return CELLHUB_IMAGE_UNSUPPORTED;
    }
    struct jpeg_compress_struct codec;
    jpeg_error_trap trap;
    jpeg_install_trap(&trap, message, capacity);
    codec.err = &trap.manager;
    unsigned char *volatile bytes = NULL;
    unsigned long size = 0;
    if (setjmp(trap.jump)) {
        jpeg_destroy_compress(&codec);
        free(bytes);
        return CELLHUB_IMAGE_MALFORMED;
    }
    jpeg_create_compress(&codec);
    // jpeg_mem_dest stores the malloc'ed buffer through this pointer; it is volatile so the
    // cleanup above sees the latest value.
    jpeg_mem_dest(&codec, (unsigned char **)&bytes, &size);
    codec.image_width = width;
    codec.image_height = height;
    codec.input_components = (int)channels;
    codec.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&codec);
    jpeg_set_quality(&codec, quality, TRUE);
    jpeg_start_compress(&codec, TRUE);
    while (codec.next_scanline < codec.image_height) {
        JSAMPROW row = (JSAMPROW)(samples + (size_t)codec.next_scanline * width * channels);
        jpeg_write_scanlines(&codec, &row, 1);
    }
    jpeg_finish_compress(&codec);
    jpeg_destroy_compress(&codec);
    out->bytes = bytes;
    out->size = size;
    return CELLHUB_IMAGE_OK;
}
