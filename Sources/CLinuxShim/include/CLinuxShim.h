// Linux system calls the event loop needs, in a form Swift can import.
//
// Why a shim: `struct epoll_event` is declared `__attribute__((packed))` on x86_64, which
// Swift cannot import faithfully; the wrappers below copy events into a plain struct.
// The rest re-exports headers Glibc's Swift module does not cover (eventfd, epoll, TCP
// options) so the event loop has one C module to import.
#ifndef CLINUXSHIM_H
#define CLINUXSHIM_H

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>

/// An epoll event without the packed layout.
typedef struct {
    uint32_t events;
    uint64_t token;
} cellhub_epoll_event;

/// epoll_ctl with the event's data as a 64-bit token.
int cellhub_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token);

/// accept4 (declared by glibc only under _GNU_SOURCE, which Swift's import does not set).
int cellhub_accept4(int fd, int flags);

/// epoll_wait into `out` (at most `max` events); returns what epoll_wait returns.
int cellhub_epoll_wait(int epfd, cellhub_epoll_event *out, int max, int timeout_ms);

/// Involuntary context switches of the calling thread so far (getrusage RUSAGE_THREAD,
/// Linux-only and declared only under _GNU_SOURCE); -1 when unavailable.
long cellhub_thread_preemptions(void);

/// The lowest CPU the calling thread may run on (sched_getaffinity); -1 on failure.
int cellhub_first_allowed_cpu(void);

/// Restricts the calling thread to `cpu` (sched_setaffinity); returns what it returns.
int cellhub_pin_thread(int cpu);

/// How many CPUs the calling thread may run on (sched_getaffinity); -1 on failure.
int cellhub_allowed_cpu_count(void);

/// The CPU quota of the process's cgroup (v2 cpu.max or v1 cpu.cfs_quota_us over
/// cpu.cfs_period_us, the smallest along its ancestors), rounded up to whole CPUs; 0 when
/// there is none.
int cellhub_cgroup_cpu_limit(void);

/// The same from a membership file in /proc/PID/cgroup's format and cgroup file systems
/// mounted at `root` (tests).
int cellhub_cgroup_cpu_limit_at(const char *membership, const char *root);

/// Atomic access to a counter in memory shared between processes (a MAP_SHARED file
/// mapping): Swift's own atomics cannot be placed on memory it did not allocate.
static inline uint64_t cellhub_shared_load(const uint64_t *counter) {
    return __atomic_load_n(counter, __ATOMIC_ACQUIRE);
}

/// Adds one to a shared counter (see `cellhub_shared_load`).
static inline void cellhub_shared_increment(uint64_t *counter) {
    __atomic_add_fetch(counter, 1, __ATOMIC_ACQ_REL);
}

#endif
