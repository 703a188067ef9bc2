#ifndef KCTR_CARCHIVE_H
#define KCTR_CARCHIVE_H

// Exposes libarchive (Debian libarchive-dev) to the KctrArchive Swift target.
// Only KctrArchive may import this module.

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

// AE_IF* are defined as casts, which Swift does not import as constants.
static inline unsigned int kctr_ae_ifmt(void) { return (unsigned int)AE_IFMT; }
static inline unsigned int kctr_ae_ifreg(void) { return (unsigned int)AE_IFREG; }
static inline unsigned int kctr_ae_ifdir(void) { return (unsigned int)AE_IFDIR; }
static inline unsigned int kctr_ae_iflnk(void) { return (unsigned int)AE_IFLNK; }

// open(2) is variadic in C. Creates/truncates `path` for writing with mode 0644,
// refusing to follow a symlink at the final component (O_NOFOLLOW|O_CLOEXEC).
// Returns the fd, or -errno. Defined in shim.c (needs POSIX.1-2008 under -std=c11).
int kctr_open_for_write(const char *path);

int kctr_errno_is_eloop(int err);

// close(2); returns 0, or -errno.
static inline int kctr_close(int fd) {
    return close(fd) == 0 ? 0 : -errno;
}

// strerror(3), so the Swift side needs no Glibc import.
static inline const char *kctr_strerror(int err) { return strerror(err); }

#endif
