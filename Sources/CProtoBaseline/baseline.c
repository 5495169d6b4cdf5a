#include "CProtoBaseline.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "CellHubProtoC.h"

static const ProtobufCMessageDescriptor *descriptor_named(const char *name) {
    if (strcmp(name, "cellhub.v1.ProjectStats") == 0) return &cellhub__v1__project_stats__descriptor;
    if (strcmp(name, "cellhub.v1.DashboardMetrics") == 0) return &cellhub__v1__dashboard_metrics__descriptor;
    if (strcmp(name, "cellhub.v1.ProjectEvent") == 0) return &cellhub__v1__project_event__descriptor;
    return NULL;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int raw_protobuf_timing(const char *message_name, const uint8_t *const *encodings, const size_t *lengths,
                        size_t count, size_t iterations, RawProtobufTiming *out) {
    const ProtobufCMessageDescriptor *descriptor = descriptor_named(message_name);
    if (descriptor == NULL || count == 0 || iterations == 0) return -1;

    // The structs to pack, built once (as a C program holding its data in structs would).
    ProtobufCMessage **messages = calloc(count, sizeof *messages);
    uint8_t *buffer = NULL;
    size_t capacity = 0;
    int status = -1;
    if (messages == NULL) return -1;
    for (size_t i = 0; i < count; i++) {
        messages[i] = protobuf_c_message_unpack(descriptor, NULL, lengths[i], encodings[i]);
        if (messages[i] == NULL) goto done;
        size_t size = protobuf_c_message_get_packed_size(messages[i]);
        if (size > capacity) capacity = size;
    }
    buffer = malloc(capacity ? capacity : 1);
    if (buffer == NULL) goto done;

    size_t bytes = 0;
    double start = now_ns();
    for (size_t round = 0; round < iterations; round++) {
        for (size_t i = 0; i < count; i++) {
            // Sizing then packing is what any caller that allocates the output must do.
            if (protobuf_c_message_get_packed_size(messages[i]) > capacity) goto done;
            bytes += protobuf_c_message_pack(messages[i], buffer);
        }
    }
    double packed = now_ns();
    for (size_t round = 0; round < iterations; round++) {
        for (size_t i = 0; i < count; i++) {
            ProtobufCMessage *m = protobuf_c_message_unpack(descriptor, NULL, lengths[i], encodings[i]);
            if (m == NULL) goto done;
            protobuf_c_message_free_unpacked(m, NULL);
        }
    }
    double unpacked = now_ns();
    out->pack_ns = (packed - start) / (double)iterations;
    out->unpack_ns = (unpacked - packed) / (double)iterations;
    out->bytes = bytes / iterations;
    status = 0;
done:
    for (size_t i = 0; i < count; i++) {
        if (messages[i] != NULL) protobuf_c_message_free_unpacked(messages[i], NULL);
    }
    free(messages);
    free(buffer);
    return status;
}
