// libpq, PostgreSQL's C client library, for the PostgreSQL store (CellHubPostgres), its only
// Swift importer.
//
// Why a shim at all: Debian installs the header under /usr/include/postgresql (pkg-config
// "libpq" adds that directory), and a module map needs one header to name. libpq's API is
// plain functions and enums, so nothing else needs wrapping.
#ifndef CLIBPQ_SHIM_H
#define CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
