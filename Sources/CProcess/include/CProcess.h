#ifndef KCTR_CPROCESS_H
#define KCTR_CPROCESS_H

// Three glibc functions that Swift's Glibc module does not declare (unistd.h and spawn.h declare
// them only under _GNU_SOURCE), for KctrCore's HostProbes, the only importer. They used to be
// looked up with dlsym at run time, which finds nothing in the static dist/kctr (no dynamic symbol
// table): linked here, they are resolved by the linker like any other libc function. They take and
// return plain values; nothing here owns a resource.

#include <spawn.h>

// pipe2(fds, O_CLOEXEC): 0, or -1 with errno set.
int kctr_pipe2_cloexec(int fds[2]);

// posix_spawn_file_actions_addchdir_np (glibc 2.29): 0 or an error number.
int kctr_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

// posix_spawn_file_actions_addclosefrom_np (glibc 2.34): 0 or an error number.
int kctr_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);

#endif
