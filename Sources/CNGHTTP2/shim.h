// libnghttp2's public API, for the HTTP/2 transport (RPCHTTP2), its only Swift importer.
#ifndef CNGHTTP2_SHIM_H
#define CNGHTTP2_SHIM_H
#include <nghttp2/nghttp2.h>
#endif
