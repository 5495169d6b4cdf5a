#define _GNU_SOURCE
#include <stddef.h>
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
