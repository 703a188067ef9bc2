// Build information that `make dist` links in (scripts/release/dist.py writes and compiles
// an object defining kctr_build_commit_string). Weak, so that `swift build`,
// which links no such object, still links: the symbol is then NULL.
#include "kctr_shim.h"

extern const char kctr_build_commit_string[] __attribute__((weak));

const char *kctr_build_commit(void) { return kctr_build_commit_string; }
