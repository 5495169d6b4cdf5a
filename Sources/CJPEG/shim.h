// libjpeg-turbo's libjpeg 6.2 API from Debian (libjpeg62-turbo-dev); ImageDecoding is its only
// Swift importer.
//
// Why a shim and not Swift calls: libjpeg's error manager must not return from error_exit, so
// every decode error leaves by longjmp, which Swift frames cannot survive. The decode lives in C
// behind setjmp (Sources/CImageDecode, returning error codes); Swift imports this module only for
// the library's identity (version macros), which never longjmp.
// <jpeglib.h> needs FILE and size_t declared before it is included (it does not include stdio.h).
#ifndef CJPEG_SHIM_H
#define CJPEG_SHIM_H
#include <stddef.h>
#include <stdio.h>
#include <jpeglib.h>

/// JPEG_LIB_VERSION (62 for the 6.2 API) and LIBJPEG_TURBO_VERSION_NUMBER are macros of
/// jconfig.h; the latter is a computed expression Swift cannot import, hence the functions.
static inline int cellhub_jpeg_api_version(void) { return JPEG_LIB_VERSION; }
static inline int cellhub_jpeg_turbo_version(void) {
#ifdef LIBJPEG_TURBO_VERSION_NUMBER
    return LIBJPEG_TURBO_VERSION_NUMBER;
#else
    return 0;
#endif
}
#endif
