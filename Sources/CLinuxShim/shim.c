#define _GNU_SOURCE
#include <stddef.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "CLinuxShim.h"

int cellhub_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event event = { .events = events, .data = { .u64 = token } };
    return epoll_ctl(epfd, op, fd, &event);
}

int cellhub_epoll_wait(int epfd, cellhub_epoll_event *out, int max, int timeout_ms) {
    struct epoll_event events[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, events, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        out[i].events = events[i].events;
        out[i].token = events[i].data.u64;
    }
    return n;
}

int cellhub_accept4(int fd, int flags) {
    return accept4(fd, NULL, NULL, flags);
}

long cellhub_thread_preemptions(void) {
    struct rusage usage;
    if (getrusage(RUSAGE_THREAD, &usage) != 0) return -1;
    return usage.ru_nivcsw;
}

int cellhub_first_allowed_cpu(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &set)) return cpu;
    }
    return -1;
}

int cellhub_pin_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

int cellhub_allowed_cpu_count(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    return CPU_COUNT(&set);
}

/* Whole CPUs of a CFS quota (rounded up); 0 for none. */
static int quota_cpus(long quota, long period) {
    if (quota <= 0 || period <= 0) return 0;
    return (int)((quota + period - 1) / period);
}

/* cgroup v2: `directory`'s cpu.max ("max 100000" or "QUOTA PERIOD"), under `root`. */
static int v2_quota_cpus(const char *root, const char *directory) {
    char path[4200];
    snprintf(path, sizeof path, "%s%s/cpu.max", root, directory);
    FILE *file = fopen(path, "r");
    if (!file) return 0;
    char quota[32] = "";
    long period = 0;
    int fields = fscanf(file, "%31s %ld", quota, &period);
    fclose(file);
    if (fields != 2 || strcmp(quota, "max") == 0) return 0;
    return quota_cpus(atol(quota), period);
}

/* cgroup v1: `directory`'s cpu.cfs_quota_us (-1 = none) over cpu.cfs_period_us. */
static int v1_quota_cpus(const char *root, const char *directory) {
    char path[4200];
    long quota = 0, period = 0;
    snprintf(path, sizeof path, "%s/cpu%s/cpu.cfs_quota_us", root, directory);
    FILE *file = fopen(path, "r");
    if (!file) return 0;
    int read = fscanf(file, "%ld", &quota);
    fclose(file);
    snprintf(path, sizeof path, "%s/cpu%s/cpu.cfs_period_us", root, directory);
    if (read != 1 || !(file = fopen(path, "r"))) return 0;
    read = fscanf(file, "%ld", &period);
    fclose(file);
    return read == 1 ? quota_cpus(quota, period) : 0;
}

/* Whether a v1 hierarchy's controller list ("cpu", "cpu,cpuacct", ...) names cpu. */
static int lists_cpu(const char *controllers) {
    char wrapped[4200];
    snprintf(wrapped, sizeof wrapped, ",%s,", controllers);
    return strstr(wrapped, ",cpu,") != NULL;
}

/* The smallest quota from `directory` up to the root (a quota may sit on any ancestor). */
static int smallest_quota(const char *root, char *directory, int (*quota)(const char *, const char *)) {
    int limit = 0;
    for (;;) {
        int cpus = quota(root, strcmp(directory, "/") == 0 ? "" : directory);
        if (cpus > 0 && (limit == 0 || cpus < limit)) limit = cpus;
        char *slash = strrchr(directory, '/');
        if (!slash) break;
        if (slash == directory) {
            if (directory[1] == 0) break;
            directory[1] = 0;  /* the root next */
        } else {
            *slash = 0;
        }
    }
    return limit;
}

int cellhub_cgroup_cpu_limit(void) {
    return cellhub_cgroup_cpu_limit_at("/proc/self/cgroup", "/sys/fs/cgroup");
}

int cellhub_cgroup_cpu_limit_at(const char *membership, const char *root) {
    FILE *file = fopen(membership, "r");
    if (!file) return 0;
    char line[4096];
    int limit = 0;
    while (fgets(line, sizeof line, file)) {
        line[strcspn(line, "\n")] = 0;
        /* "ID:CONTROLLERS:PATH": v2 is "0::PATH"; v1's cpu controller lists "cpu". */
        char *controllers = strchr(line, ':');
        char *path = controllers ? strchr(controllers + 1, ':') : NULL;
        if (!path) continue;
        *path++ = 0;
        *controllers++ = 0;  /* `line` is now the hierarchy ID alone */
        int cpus = 0;
        if (strcmp(line, "0") == 0 && *controllers == 0) {
            cpus = smallest_quota(root, path, v2_quota_cpus);
        } else if (lists_cpu(controllers)) {
            cpus = smallest_quota(root, path, v1_quota_cpus);
        }
        if (cpus > 0 && (limit == 0 || cpus < limit)) limit = cpus;
    }
    fclose(file);
    return limit;
}
