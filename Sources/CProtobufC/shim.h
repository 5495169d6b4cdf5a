// libprotobuf-c's public API, for the generated message layer (CellHubProto), its only
// Swift importer. The header is already plain C; the shim exists because a system-library
// target needs a header of its own to name in its module map.
#ifndef CPROTOBUFC_SHIM_H
#define CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif
