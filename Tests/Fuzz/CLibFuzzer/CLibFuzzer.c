// A C target needs one source file; everything it offers is the declaration in
// include/CLibFuzzer.h.
#include "CLibFuzzer.h"
