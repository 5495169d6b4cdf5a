#include "CStoreBaseline.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct StoreBaseline {
    sqlite3 *db;
    sqlite3_stmt *insert;
    char files[4096];
    uint64_t next;
    uint64_t random;
};

static const char *schema =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = FULL;"
    "CREATE TABLE IF NOT EXISTS images ("
    " id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL, name_folded TEXT NOT NULL,"
    " content_type TEXT NOT NULL, size_bytes INTEGER NOT NULL, sha256 TEXT NOT NULL, status INTEGER NOT NULL,"
    " uploaded_at_ms INTEGER NOT NULL, uploader_id TEXT NOT NULL, status_changed_at_ms INTEGER NOT NULL,"
    " segmented_at_ms INTEGER NOT NULL DEFAULT 0, job_id TEXT, cell_count INTEGER NOT NULL DEFAULT 0,"
    " failure_reason TEXT NOT NULL DEFAULT '') STRICT;"
    "CREATE INDEX IF NOT EXISTS images_by_upload ON images(project_id, uploaded_at_ms DESC, id DESC);"
    "CREATE INDEX IF NOT EXISTS images_by_status ON images(project_id, status, uploaded_at_ms DESC, id DESC);"
    "CREATE INDEX IF NOT EXISTS images_by_blob ON images(sha256);";

StoreBaseline *store_baseline_open(const char *directory) {
    StoreBaseline *b = calloc(1, sizeof *b);
    if (b == NULL) return NULL;
    b->random = 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)b;
    char path[4096];
    snprintf(path, sizeof path, "%s/baseline.sqlite", directory);
    snprintf(b->files, sizeof b->files, "%s/files", directory);
    mkdir(directory, 0755);
    mkdir(b->files, 0755);
    if (sqlite3_open(path, &b->db) != SQLITE_OK || sqlite3_exec(b->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(b->db,
                           "INSERT INTO images (id, project_id, name, name_folded, content_type, size_bytes, sha256,"
                           " status, uploaded_at_ms, uploader_id, status_changed_at_ms)"
                           " VALUES (?, 'project', ?, ?, 'image/png', ?, ?, 1, ?, 'user', ?)",
                           -1, &b->insert, NULL) != SQLITE_OK) {
        store_baseline_close(b);
        return NULL;
    }
    // Continue after the rows of an earlier run (ids are serials).
    sqlite3_stmt *last = NULL;
    if (sqlite3_prepare_v2(b->db, "SELECT coalesce(max(rowid), 0) FROM images", -1, &last, NULL) == SQLITE_OK &&
        sqlite3_step(last) == SQLITE_ROW) {
        b->next = (uint64_t)sqlite3_column_int64(last, 0) + 1;
    }
    sqlite3_finalize(last);
    return b;
}

void store_baseline_close(StoreBaseline *b) {
    if (b == NULL) return;
    sqlite3_finalize(b->insert);
    sqlite3_close(b->db);
    free(b);
}

static int write_file(const char *directory, uint64_t serial, const uint8_t *content, size_t size) {
    char temporary[4200], final[4200];
    snprintf(temporary, sizeof temporary, "%s/.tmp-%016llx", directory, (unsigned long long)serial);
    snprintf(final, sizeof final, "%s/%016llx", directory, (unsigned long long)serial);
    int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    size_t written = 0;
    while (written < size) {
        ssize_t n = write(fd, content + written, size - written);
        if (n <= 0) { close(fd); return -1; }
        written += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(temporary, final) != 0) return -1;
    int dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -1;
    int ok = fsync(dir);
    close(dir);
    return ok;
}

static uint64_t next_random(StoreBaseline *b) {
    b->random ^= b->random << 13;
    b->random ^= b->random >> 7;
    b->random ^= b->random << 17;
    return b->random;
}

int store_baseline_upload(StoreBaseline *b, const uint8_t *content, size_t size, size_t count, int unique) {
    for (size_t i = 0; i < (unique ? count : 0); i++) {
        if (write_file(b->files, b->next + i, content, size) != 0) return -1;
    }
    if (sqlite3_exec(b->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) return -1;
    for (size_t i = 0; i < count; i++) {
        char id[40], name[40], hash[65];
        uint64_t serial = b->next++;
        // Random ids, as CellHub's UUIDs: inserts land all over the primary-key B-tree.
        snprintf(id, sizeof id, "%016llx%016llx", (unsigned long long)next_random(b), (unsigned long long)serial);
        snprintf(name, sizeof name, "image-%llu.png", (unsigned long long)serial);
        snprintf(hash, sizeof hash, "%064llx", (unsigned long long)(unique ? serial : 0));
        sqlite3_bind_text(b->insert, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(b->insert, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(b->insert, 3, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(b->insert, 4, (sqlite3_int64)size);
        sqlite3_bind_text(b->insert, 5, hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(b->insert, 6, (sqlite3_int64)serial);
        sqlite3_bind_int64(b->insert, 7, (sqlite3_int64)serial);
        int rc = sqlite3_step(b->insert);
        sqlite3_reset(b->insert);
        if (rc != SQLITE_DONE) {
            sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return sqlite3_exec(b->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

void *store_baseline_open_readonly(const char *database_path) {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(database_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

void store_baseline_close_readonly(void *db) { sqlite3_close(db); }

static int aggregate(sqlite3 *db, const char *sql, const char *key, int64_t out[3]) {
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, NULL) != SQLITE_OK) return -1;
    sqlite3_bind_text(statement, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(statement);
    if (rc == SQLITE_ROW) {
        for (int i = 0; i < 3; i++) out[i] = sqlite3_column_int64(statement, i);
    }
    sqlite3_finalize(statement);
    return rc == SQLITE_ROW ? 0 : -1;
}

int store_baseline_recount_project(void *db, const char *project_id, int64_t out[3]) {
    return aggregate(db,
                     "SELECT count(*), coalesce(sum(size_bytes), 0), coalesce(sum(status = 4), 0)"
                     " FROM images WHERE project_id = ?",
                     project_id, out);
}

int store_baseline_recount_dashboard(void *db, const char *user_id, int64_t out[3]) {
    return aggregate(db,
                     "SELECT count(*), coalesce(sum(i.size_bytes), 0), coalesce(sum(i.status = 4), 0)"
                     " FROM project_members m JOIN images i ON i.project_id = m.project_id WHERE m.user_id = ?",
                     user_id, out);
}
