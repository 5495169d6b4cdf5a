// libpng 1.6 from Debian (libpng-dev); ImageDecoding is its only Swift importer.
//
// Why a shim and not Swift calls: libpng reports every error by longjmp out of the failing call,
// and Swift frames cannot be unwound by a longjmp (it skips releases and defers). So the decode
// itself lives in C behind setjmp (Sources/CImageDecode, which includes <png.h> directly and
// returns error codes); Swift imports this module only for what cannot longjmp: the signature
// check and the version of the library actually loaded (the C helper is compiled against the
// header version, and libpng refuses a mismatched runtime, so both are worth reporting).
#ifndef CPNG_SHIM_H
#define CPNG_SHIM_H
#include <png.h>

/// PNG_LIBPNG_VER is a macro Swift imports, but as the header's number: this names it as
/// what the C helper was compiled against.
static inline unsigned long cellhub_png_header_version(void) { return PNG_LIBPNG_VER; }
#endif
