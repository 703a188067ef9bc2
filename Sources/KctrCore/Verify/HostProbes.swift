import Foundation
#if canImport(Glibc)
import Glibc
#endif
// pipe2 and two posix_spawn file actions, which Glibc does not declare (CProcess.h says why C).
internal import CProcess

/// What verify-runtime does on the host beside reading files: find programs on PATH, decide whether
/// a file may be run, and run it. kctr runs as root and the paths come partly from the daemon's
/// reply (a runtime's BinaryName, containerd's root dir): whoever answers on the socket, or can
/// write a file or directory on the way, would otherwise choose what root runs. So a probe runs
/// only a file that root owns in directories only root can change (`untrusted`), with a fixed small
/// environment, in `/`, stdin from /dev/null, in a process group of its own that is killed whole
/// when it exits or its time is up (`run`).
enum HostProbes {
    /// The whole environment of a probe.
    static let environment = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"]
    /// Directories searched after PATH (containerd's own PATH usually has them).
    static let usualDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
    /// Output kept from a probe (a version line, xfs_info's few lines).
    static let outputLimit = 64 << 10

    // MARK: - PATH lookup

    /// An executable named `name` (or at that path): on `searchPath` (absolute entries only: a
    /// relative one would depend on the directory kctr was started in) and the usual sbin/bin dirs,
    /// then the same dirs under `root` (a host mounted into a container).
    static func findExecutable(_ name: String, root: String,
                               searchPath: String = ProcessInfo.processInfo.environment["PATH"] ?? "") -> String? {
        let fm = FileManager.default
        if name.contains("/") {
            if fm.isExecutableFile(atPath: name) { return name }
            if !root.isEmpty, fm.isExecutableFile(atPath: root + name) { return root + name }
            return nil
        }
        var dirs = searchPath.split(separator: ":").map(String.init).filter { $0.hasPrefix("/") }
        for d in usualDirectories where !dirs.contains(d) { dirs.append(d) }
        for d in dirs where fm.isExecutableFile(atPath: d + "/" + name) { return d + "/" + name }
        if !root.isEmpty {
            for d in dirs where fm.isExecutableFile(atPath: root + d + "/" + name) { return root + d + "/" + name }
        }
        return nil
    }

    // MARK: - Who could have put it there

    /// Why a path cannot be trusted: the file or directory at fault and the reason.
    struct Untrusted: Sendable, Equatable, CustomStringConvertible {
        var path: String
        var reason: String
        var description: String { "\(path) \(reason)" }
    }

    /// What the last component of a checked path may be.
    enum Kind {
        /// A program: nobody but its owner may write it.
        case program
        /// containerd's socket: its mode says who may connect (containerd makes it 0660, with the
        /// group of its grpc gid), not who answers, so a group may write it; the whole world may not.
        case socket
    }

    /// Why `path` is not safe to act on as root, or nil. Symlinks are resolved one by one: each
    /// symlink on the way, each directory of the real path and the file itself must be owned by root
    /// (or by the user kctr runs as); the file must not be writable by its group or others, a
    /// directory neither, unless it is sticky (/tmp: then only root can rename or remove root's
    /// entries in it).
    static func untrusted(_ path: String, kind: Kind = .program) -> Untrusted? {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        if let bad = checkDirectory("/") { return bad }
        // Components still to walk, last first; `real` is the symlink-free path walked so far.
        var pending = absolute.split(separator: "/").map(String.init).reversed() as [String]
        var real = "/"
        var links = 0
        while let part = pending.popLast() {
            if part == "." || part.isEmpty { continue }
            if part == ".." {
                real = (real as NSString).deletingLastPathComponent
                continue
            }
            let next = real == "/" ? "/" + part : real + "/" + part
            var st = stat()
            guard lstat(next, &st) == 0 else {
                return Untrusted(path: next, reason: "cannot be checked: \(String(cString: strerror(errno)))")
            }
            if st.st_mode & S_IFMT == S_IFLNK {
                if let bad = owner(next, st, what: "is a symlink") { return bad }
                links += 1
                guard links <= 40, let target = linkTarget(next) else {
                    return Untrusted(path: next, reason: links > 40 ? "is one symlink too many (a loop?)" : "cannot be read as a symlink")
                }
                if target.hasPrefix("/") { real = "/" }
                pending += target.split(separator: "/").map(String.init).reversed()
                continue
            }
            if pending.isEmpty {
                if let bad = checkFile(next, st, kind: kind) { return bad }
            } else {
                guard st.st_mode & S_IFMT == S_IFDIR else { return Untrusted(path: next, reason: "is not a directory") }
                if let bad = checkDirectory(next, st) { return bad }
            }
            real = next
        }
        return nil
    }

    private static func checkDirectory(_ path: String, _ known: stat? = nil) -> Untrusted? {
        var st = stat()
        if let known {
            st = known
        } else if lstat(path, &st) != 0 {
            return Untrusted(path: path, reason: "cannot be checked: \(String(cString: strerror(errno)))")
        }
        if let bad = owner(path, st, what: "is a directory") { return bad }
        if st.st_mode & S_ISVTX != 0 { return nil }
        return writable(path, st, groupAllowed: false)
    }

    private static func checkFile(_ path: String, _ st: stat, kind: Kind) -> Untrusted? {
        if let bad = owner(path, st, what: "is a file") { return bad }
        return writable(path, st, groupAllowed: kind == .socket)
    }

    private static func owner(_ path: String, _ st: stat, what: String) -> Untrusted? {
        let me = geteuid()
        guard st.st_uid != 0 && st.st_uid != me else { return nil }
        return Untrusted(path: path, reason: "\(what) owned by uid \(st.st_uid), not by root" + (me == 0 ? "" : " or uid \(me)"))
    }

    private static func writable(_ path: String, _ st: stat, groupAllowed: Bool) -> Untrusted? {
        let mode = String(st.st_mode & 0o7777, radix: 8)
        if st.st_mode & S_IWOTH != 0 { return Untrusted(path: path, reason: "is writable by every user (mode \(mode))") }
        if !groupAllowed && st.st_mode & S_IWGRP != 0 {
            return Untrusted(path: path, reason: "is writable by group \(st.st_gid) (mode \(mode))")
        }
        return nil
    }

    // MARK: - Running a probe

    /// How a probe ended, and what it wrote (stdout and stderr together, at most `outputLimit` bytes).
    struct Run {
        enum Outcome: Equatable {
            case exited(Int32)
            case signaled(Int32)
            /// Still running after the timeout: its process group was killed.
            case timedOut
            /// Not run: the file could be changed by someone other than root.
            case refused(Untrusted)
            case notStarted(String)
        }

        var outcome: Outcome
        var output: String

        var ok: Bool { outcome == .exited(0) }
        var firstLine: String { output.split(separator: "\n").first.map(String.init) ?? "" }
    }

    /// Runs `path args` if `untrusted(path)` finds nothing, and waits at most `timeout` seconds for it
    /// to exit. Its output is read until it exits, not until the pipe closes: a child it left
    /// behind may hold the pipe open. Then its process group is killed (what it left behind, or
    /// everything on timeout) and it is reaped.
    static func run(_ path: String, _ args: [String], timeout: Double = 2) -> Run {
        if let bad = untrusted(path) { return Run(outcome: .refused(bad), output: "") }
        var fds: [Int32] = [-1, -1]
        guard kctr_pipe2_cloexec(&fds) == 0 else {
            return Run(outcome: .notStarted("cannot make a pipe: \(String(cString: strerror(errno)))"), output: "")
        }
        let readEnd = fds[0], writeEnd = fds[1]
        defer { close(readEnd) }
        let spawned = spawn(path, args, stdout: writeEnd)
        close(writeEnd)
        let pid: pid_t
        switch spawned {
        case .success(let p): pid = p
        case .failure(let why): return Run(outcome: .notStarted(why.message), output: "")
        }

        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
        var output: [UInt8] = []
        var open = true
        var timedOut = false
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9)
        while true {
            if exited(pid) {
                // What it wrote before it exited is in the pipe; a child it left behind may write on.
                if open { _ = drain(readEnd, into: &output, atMost: 4 * outputLimit) }
                break
            }
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= deadline {
                timedOut = true
                break
            }
            let waitMs = Int32(min(20, (deadline - now) / 1_000_000 + 1))
            if open {
                var pfd = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
                if poll(&pfd, 1, waitMs) > 0 { open = drain(readEnd, into: &output, atMost: outputLimit) }
            } else {
                usleep(UInt32(waitMs) * 1_000)
            }
        }
        // The child is not reaped yet, so its pid (the group's id) cannot have been reused.
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = String(decoding: output.prefix(outputLimit), as: UTF8.self)
        if timedOut { return Run(outcome: .timedOut, output: text) }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import (macros).
        let signal = status & 0x7f
        return Run(outcome: signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal), output: text)
    }

    /// Whether `pid` has exited, without reaping it (WNOWAIT).
    private static func exited(_ pid: pid_t) -> Bool {
        var info = siginfo_t()
        while true {
            if waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 {
                // Linux zeroes si_signo when no child has changed state; SIGCHLD when one has.
                return info.si_signo == SIGCHLD
            }
            if errno != EINTR { return true }  // ECHILD: nothing left to wait for
        }
    }

    /// Reads what is available now; false at end of file or on error. At most `atMost` bytes are
    /// read in one call (a writer that never stops cannot keep it here), at most `outputLimit` kept.
    private static func drain(_ fd: Int32, into output: inout [UInt8], atMost: Int) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        var total = 0
        while total < atMost {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { return false }
            if n < 0 { return errno == EAGAIN || errno == EINTR }
            total += n
            if output.count < outputLimit { output += chunk[0..<min(n, outputLimit - output.count)] }
        }
        return true
    }

    /// posix_spawn with the probe's environment, cwd `/`, stdin /dev/null, stdout and stderr on
    /// `stdout`, a new process group, default signal handling and an empty signal mask.
    private static func spawn(_ path: String, _ args: [String], stdout: Int32) -> Result<pid_t, KctrError> {
        func failed(_ what: String, _ rc: Int32) -> Result<pid_t, KctrError> {
            .failure(KctrError("cannot run \(path): \(what): \(String(cString: strerror(rc)))"))
        }
        var actions = posix_spawn_file_actions_t()
        var rc = posix_spawn_file_actions_init(&actions)
        guard rc == 0 else { return failed("posix_spawn_file_actions_init", rc) }
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attr = posix_spawnattr_t()
        rc = posix_spawnattr_init(&attr)
        guard rc == 0 else { return failed("posix_spawnattr_init", rc) }
        defer { posix_spawnattr_destroy(&attr) }

        for (step, code) in [
            ("stdin", posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)),
            ("stdout", posix_spawn_file_actions_adddup2(&actions, stdout, 1)),
            ("stderr", posix_spawn_file_actions_adddup2(&actions, stdout, 2)),
            ("chdir /", kctr_spawn_addchdir(&actions, "/")),
            // Nothing of kctr's beyond 0-2 (most is close-on-exec already; this is sure).
            ("close fds", kctr_spawn_addclosefrom(&actions, 3)),
            ("flags", posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))),
            ("process group", posix_spawnattr_setpgroup(&attr, 0)),
        ] where code != 0 {
            return failed(step, code)
        }
        var mask = sigset_t()
        sigemptyset(&mask)
        rc = posix_spawnattr_setsigmask(&attr, &mask)
        guard rc == 0 else { return failed("signal mask", rc) }
        var defaults = sigset_t()
        sigfillset(&defaults)
        rc = posix_spawnattr_setsigdefault(&attr, &defaults)
        guard rc == 0 else { return failed("signal defaults", rc) }

        let argv = ([path] + args).map { strdup($0) }
        let envp = environment.map { strdup($0) }
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        guard !argv.contains(nil), !envp.contains(nil) else { return failed("strdup", ENOMEM) }
        var pid = pid_t()
        rc = posix_spawn(&pid, path, &actions, &attr, argv + [nil], envp + [nil])
        guard rc == 0 else { return failed("posix_spawn", rc) }
        return .success(pid)
    }
}
