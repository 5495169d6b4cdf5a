// Raw libprotobuf-c timings: the baseline the Swift message layer is benchmarked against.
// Written in C so that the baseline pays nothing for Swift: it times protobuf-c exactly as a
// C program would use it (pack from a prebuilt struct; unpack with the default allocator,
// then free_unpacked).
#ifndef CPROTOBASELINE_H
#define CPROTOBASELINE_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    double pack_ns;    ///< nanoseconds to pack all `count` messages once
    double unpack_ns;  ///< nanoseconds to unpack and free all `count` messages once
    size_t bytes;      ///< total packed bytes of the `count` messages
} RawProtobufTiming;

/// Times `iterations` rounds over `count` encodings of the message named `message_name`
/// (cellhub.v1.ProjectStats, cellhub.v1.DashboardMetrics or cellhub.v1.ProjectEvent).
/// Returns 0 on success, -1 for an unknown name or bytes protobuf-c cannot unpack.
int raw_protobuf_timing(const char *message_name, const uint8_t *const *encodings, const size_t *lengths,
                        size_t count, size_t iterations, RawProtobufTiming *out);

#endif
