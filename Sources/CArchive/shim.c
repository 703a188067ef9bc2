// The package builds C with -std=c11 (no POSIX feature macros), so request POSIX.1-2008 here
// for O_NOFOLLOW / O_CLOEXEC / ELOOP rather than in the shared header.
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>

#include "CArchive.h"

int kctr_open_for_write(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    return fd >= 0 ? fd : -errno;
}

int kctr_errno_is_eloop(int err) { return err == ELOOP; }
