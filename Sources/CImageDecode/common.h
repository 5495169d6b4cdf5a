// Helpers shared by the PNG and JPEG translation units (not part of the public header).
#ifndef CIMAGEDECODE_COMMON_H
#define CIMAGEDECODE_COMMON_H
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "CImageDecode.h"

/// Copies `text` into the caller's message buffer (NULL-safe, always terminated).
static inline void cellhub_set_message(char *message, size_t capacity, const char *text) {
    if (message == NULL || capacity == 0) return;
    snprintf(message, capacity, "%s", text);
}

/// The dimension bounds, checked from a file's header before any pixel buffer exists.
static inline int cellhub_within_bounds(uint64_t width, uint64_t height, uint32_t max_side, uint64_t max_pixels) {
    return width > 0 && height > 0 && width <= max_side && height <= max_side && width * height <= max_pixels;
}

static inline void cellhub_too_large_message(char *message, size_t capacity, uint64_t width, uint64_t height,
                                             uint32_t max_side, uint64_t max_pixels) {
    if (message == NULL || capacity == 0) return;
    snprintf(message, capacity, "%llux%llu exceeds the limits (%u per side, %llu pixels)", (unsigned long long)width,
             (unsigned long long)height, max_side, (unsigned long long)max_pixels);
}
#endif
