// SQLite 3's C API for the storage layer (CellHubStore), its only Swift importer.
#ifndef CSQLITE_SHIM_H
#define CSQLITE_SHIM_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT is the macro `((sqlite3_destructor_type)-1)`: a cast of an integer to a
/// function pointer, which Swift cannot import. Binding text and blobs with it makes SQLite
/// copy the bytes before the bind call returns, so Swift buffers need only live for the call.
static inline sqlite3_destructor_type cellhub_sqlite_transient(void) {
    return SQLITE_TRANSIENT;
}
#endif
