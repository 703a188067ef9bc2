// The package builds C with -std=c11: _GNU_SOURCE here, for this file only, declares the three
// functions (see CProcess.h).
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include "CProcess.h"

int kctr_pipe2_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int kctr_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int kctr_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}
