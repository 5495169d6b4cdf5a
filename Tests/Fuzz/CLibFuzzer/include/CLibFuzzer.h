#ifndef CELLHUB_CLIBFUZZER_H
#define CELLHUB_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

// libFuzzer ships no header for its driver: this is its documented entry point
// (compiler-rt/lib/fuzzer/FuzzerInterface.h), declared here so Swift calls it with the C
// calling convention. It exists only in a build linked with -sanitize=fuzzer; a normal
// build never references it.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*userCallback)(const uint8_t *data, size_t size));

#endif
