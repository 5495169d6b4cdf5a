#ifndef CSTOREBASELINE_H
#define CSTOREBASELINE_H

#include <stddef.h>
#include <stdint.h>

// The plain-C floors cellhub-store-bench measures CellHub's store against, in the same run:
// what an upload costs written directly (files + one SQLite transaction, no domain), and what
// stats cost when recounted from the images table on every read (what CellHub's counters avoid).

typedef struct StoreBaseline StoreBaseline;

// Creates `directory`/baseline.sqlite (WAL, synchronous=FULL, the images table and indexes of
// CellHub's schema without foreign keys) and `directory`/files. NULL on failure.
StoreBaseline *store_baseline_open(const char *directory);
void store_baseline_close(StoreBaseline *baseline);

// One upload batch done the plain way: when `unique`, `count` files, each written to a temporary
// name, fsynced, renamed and its directory fsynced (identical content is already stored: no
// file), then one transaction inserting `count` image rows. 0 or -1.
int store_baseline_upload(StoreBaseline *baseline, const uint8_t *content, size_t size, size_t count, int unique);

// Recounts, read-only on CellHub's own database, what stats and dashboards report, with one
// aggregate query over the images rows each time. 0 or -1; `out` gets (images, bytes, segmented).
void *store_baseline_open_readonly(const char *database_path);
void store_baseline_close_readonly(void *db);
int store_baseline_recount_project(void *db, const char *project_id, int64_t out[3]);
int store_baseline_recount_dashboard(void *db, const char *user_id, int64_t out[3]);

#endif
