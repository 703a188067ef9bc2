import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The probes that only read the host: PID 1, the cgroup hierarchy, mounts, sockets, /proc files of a
/// process. `root` / `VerifyPaths` prefix /proc and /sys (a host mounted into a container).
extension HostProbes {
    // MARK: - PID 1 and cgroups

    /// `<root>/proc/1/comm` is "systemd".
    static func pid1IsSystemd(root: String) -> Bool {
        ((try? String(contentsOfFile: root + "/proc/1/comm", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines) == "systemd"
    }

    /// The unified hierarchy has `cgroup.controllers` at /sys/fs/cgroup; cgroup v1 mounts one directory
    /// per controller there (hybrid: a cgroup2 at /sys/fs/cgroup/unified beside them).
    static func cgroupMode(_ paths: VerifyPaths) -> CgroupMode {
        let fm = FileManager.default
        if fm.fileExists(atPath: paths.sys("fs/cgroup/cgroup.controllers")) { return .v2 }
        let controllers = ["memory", "cpu", "cpuset", "pids", "devices"]
        guard controllers.contains(where: { fm.fileExists(atPath: paths.sys("fs/cgroup/" + $0)) }) else { return .unknown }
        return .v1(hybrid: fm.fileExists(atPath: paths.sys("fs/cgroup/unified/cgroup.controllers")))
    }

    // MARK: - Mounts

    /// The mount holding `path` (as this process sees it): its mount point and filesystem type, from
    /// `mountinfo` read whole (symlinks in `path` resolved first). One parser with `kctr df`'s.
    static func mount(_ path: String, mountinfo: String = "/proc/self/mountinfo") -> (point: String, type: String)? {
        FilesystemUsage.mountOf(path, mountinfo: mountinfo)
    }

    // MARK: - Sockets

    /// `path` is a unix socket (following symlinks). stat(2), not FileManager.attributesOfItem, which
    /// also looks up the owner's user and group names (NSS), which the static dist/kctr avoids.
    static func isSocket(_ path: String) -> Bool {
        var st = stat()
        return stat(resolved(path), &st) == 0 && st.st_mode & S_IFMT == S_IFSOCK
    }

    /// `path` with every symlink along it resolved, even when the last parts do not exist
    /// (/var/run/containerd/containerd.sock -> /run/containerd/containerd.sock).
    static func resolved(_ path: String, depth: Int = 0) -> String {
        guard depth < 16 else { return path }
        var current = "/"
        let parts = (path as NSString).standardizingPath.split(separator: "/").map(String.init)
        for (i, part) in parts.enumerated() {
            let candidate = (current as NSString).appendingPathComponent(part)
            if let dest = try? FileManager.default.destinationOfSymbolicLink(atPath: candidate) {
                let target = dest.hasPrefix("/") ? dest : (current as NSString).appendingPathComponent(dest)
                let rest = parts[(i + 1)...].joined(separator: "/")
                return resolved(rest.isEmpty ? target : target + "/" + rest, depth: depth + 1)
            }
            current = candidate
        }
        return current
    }

    // MARK: - A process's /proc files

    /// A /proc file read whole (they report size 0, so SmallFile's size test does not apply), at most
    /// `limit` bytes; nil when it cannot be opened.
    static func procFile(_ path: String, limit: Int = 1 << 20) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while bytes.count < limit {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { break }
            bytes += chunk[0..<min(n, limit - bytes.count)]
        }
        return bytes
    }

    /// NUL-separated strings (environ, cmdline).
    static func nulSeparated(_ bytes: [UInt8]) -> [String] {
        bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The process listening on the unix socket `socket`: its inode from `<root>/proc/net/unix`, then the
    /// process holding that inode among `<root>/proc/<pid>/fd`. For daemons that do not report their PID
    /// (containerd before 1.7); nil when not visible from here.
    static func socketOwner(_ socket: String, paths: VerifyPaths) -> UInt64? {
        guard let table = procFile(paths.proc("net/unix"), limit: 16 << 20) else { return nil }
        let wanted = [socket, resolved(socket)]
        var inode: String?
        for line in String(decoding: table, as: UTF8.self).split(separator: "\n").dropFirst() {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            // Num RefCount Protocol Flags Type St Inode Path; St 01 is listening.
            guard f.count >= 8, f[5] == "01", wanted.contains(String(f[7])) else { continue }
            inode = String(f[6])
            break
        }
        guard let inode, let pids = try? FileManager.default.contentsOfDirectory(atPath: paths.proc("")) else { return nil }
        let target = "socket:[\(inode)]"
        for pid in pids.sorted() where pid.allSatisfy(\.isNumber) {
            let fdDir = paths.proc("\(pid)/fd")
            guard let fds = try? FileManager.default.contentsOfDirectory(atPath: fdDir) else { continue }
            for fd in fds where (try? FileManager.default.destinationOfSymbolicLink(atPath: fdDir + "/" + fd)) == target {
                return UInt64(pid)
            }
        }
        return nil
    }

    /// containerd's environment, read from `<root>/proc/<pid>/environ` after checking that the process
    /// is containerd (its command line); each of `helpers` looked up on its PATH (under `root`).
    static func daemonEnvironment(pid: UInt64, paths: VerifyPaths, helpers: [String]) -> Result<DaemonEnvironment, KctrError> {
        let cmdlinePath = paths.proc("\(pid)/cmdline")
        guard let cmdline = procFile(cmdlinePath) else {
            return .failure(KctrError("cannot read \(cmdlinePath): containerd's PID \(pid) is not visible from here (another PID namespace?)",
                                      hint: "run kctr on the host, or in a container with the host's PID namespace and --root"))
        }
        let argv0 = nulSeparated(cmdline).first ?? ""
        guard (argv0 as NSString).lastPathComponent.hasPrefix("containerd") else {
            return .failure(KctrError("PID \(pid) is \(argv0.isEmpty ? "no process" : argv0), not containerd, as seen here (another PID namespace?)",
                                      hint: "run kctr in containerd's PID namespace"))
        }
        let environPath = paths.proc("\(pid)/environ")
        guard let environ = procFile(environPath) else {
            return .failure(KctrError("cannot read \(environPath): \(String(cString: strerror(errno)))", hint: "run kctr as root"))
        }
        var variables: [String: String] = [:]
        for entry in nulSeparated(environ) {
            guard let eq = entry.firstIndex(of: "=") else { continue }
            variables[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
        }
        let path = variables["PATH"].map { $0.split(separator: ":").map(String.init).filter { $0.hasPrefix("/") } }
        var found: [String: String] = [:]
        for helper in helpers {
            for dir in path ?? [] where FileManager.default.isExecutableFile(atPath: paths.root + dir + "/" + helper) {
                found[helper] = dir + "/" + helper
                break
            }
        }
        return .success(DaemonEnvironment(pid: pid, path: path, disablePigz: variables["CONTAINERD_DISABLE_PIGZ"], helpers: found))
    }

    /// `path` inside a container's root (`/proc/PID/root`), symlinks followed as the container sees them:
    /// relative ones within it; an absolute one, or `..` above the root, would resolve on the host (the
    /// magic link is not a chroot for kctr), so the path is refused (nil). ConfigMap files are relative
    /// symlinks (config.conf -> ..data/config.conf).
    static func insideContainer(root: String, path: String) -> String? {
        var pending = path.split(separator: "/").map(String.init).reversed() as [String]
        var parts: [String] = []
        var links = 0
        while let part = pending.popLast() {
            if part == "." || part.isEmpty { continue }
            if part == ".." {
                guard !parts.isEmpty else { return nil }
                parts.removeLast()
                continue
            }
            let candidate = root + "/" + (parts + [part]).joined(separator: "/")
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: candidate) {
                links += 1
                guard links <= 40, !target.hasPrefix("/") else { return nil }
                pending += target.split(separator: "/").map(String.init).reversed()
                continue
            }
            parts.append(part)
        }
        return root + "/" + parts.joined(separator: "/")
    }

    // MARK: - The kubelet

    /// `kubelet --version`, when a kubelet is on PATH and kctr may run it.
    static func kubeletVersion(root: String) -> Result<KubeletRelease, KctrError> {
        guard let path = findExecutable("kubelet", root: root) else {
            return .failure(KctrError("no kubelet on PATH"))
        }
        if !root.isEmpty, path.hasPrefix(root + "/") {
            return .failure(KctrError("the kubelet is the host's \(path), not run from here under --root"))
        }
        let run = run(path, ["--version"])
        guard run.ok, let release = KubeletRelease(versionOutput: run.firstLine) else {
            if case .refused(let why) = run.outcome { return .failure(KctrError("kctr does not run \(path) as root: \(why)")) }
            return .failure(KctrError("\(path) --version did not print a version (\(run.firstLine.isEmpty ? "\(run.outcome)" : run.firstLine))"))
        }
        return .success(release)
    }
}
