import Foundation

/// Which containerd answers at the socket, and the state of its metadata database (the bolt file
/// `<root>/io.containerd.metadata.v1.bolt/meta.db`, which holds every namespace's images, content and
/// snapshot records, and whose every write changes the file's modification time). Two equal stamps, the
/// first one settled, mean that nothing containerd keeps there changed in between: what was read from
/// the daemon then is still what it would answer.
public struct StoreStamp: Sendable, Equatable {
    /// The daemon: its PID and start time (clock ticks after boot, /proc/PID/stat), so that a restarted
    /// daemon (another config, another CRI view) never matches.
    public var pid: Int32
    public var started: UInt64
    /// The metadata file as the daemon has it open.
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    /// Modification and status-change times, nanoseconds since 1970.
    public var modified: Int64
    public var changed: Int64

    public init(pid: Int32, started: UInt64, device: UInt64, inode: UInt64, size: Int64, modified: Int64, changed: Int64) {
        self.pid = pid
        self.started = started
        self.device = device
        self.inode = inode
        self.size = size
        self.modified = modified
        self.changed = changed
    }

    /// How long the file must have been left alone before a reading of it is kept: the kernel stamps a
    /// write with a clock that moves in ticks of a few milliseconds, so a write in the same tick as the
    /// last one before a reading would leave the time as it was; and CRI applies containerd's image events
    /// to its own view a moment after the write.
    public static let settleNanoseconds: Int64 = 1_000_000_000

    /// The file was last changed at least `settleNanoseconds` before `now` (nanoseconds since 1970).
    public func settled(at now: Int64) -> Bool {
        max(modified, changed) <= now - Self.settleNanoseconds
    }

    /// Space-separated, for a cache file's header.
    var text: String { "\(pid) \(started) \(device) \(inode) \(size) \(modified) \(changed)" }

    init?(text: Substring) {
        let f = text.split(separator: " ", omittingEmptySubsequences: false)
        guard f.count == 7, let pid = Int32(f[0]), let started = UInt64(f[1]), let device = UInt64(f[2]), let inode = UInt64(f[3]),
              let size = Int64(f[4]), let modified = Int64(f[5]), let changed = Int64(f[6]) else { return nil }
        self.init(pid: pid, started: started, device: device, inode: inode, size: size, modified: modified, changed: changed)
    }

    /// Nanoseconds since 1970 on the wall clock.
    public static func now() -> Int64 {
        var ts = timespec()
        guard clock_gettime(CLOCK_REALTIME, &ts) == 0 else { return 0 }
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// Reads the stamp of the daemon behind the session's socket (a seam: the unit tests' fake daemon has its own).
public protocol StoreStampReading: Sendable {
    /// The stamp now; throws with the reason when it cannot be told (then nothing read is kept).
    func stamp() throws(KctrError) -> StoreStamp
}

/// A stamp that is never known: sessions whose daemon kctr cannot see from here.
public struct NoStoreStamp: StoreStampReading {
    let reason: String
    public init(reason: String) { self.reason = reason }
    public func stamp() throws(KctrError) -> StoreStamp { throw KctrError(reason) }
}

/// The stamp from the kernel: the PID of the process listening on the unix socket (SO_PEERCRED of a
/// connection that sends nothing), and the metadata file among that process's open files
/// (/proc/PID/fd). Only root (or the daemon's own user) can look there; a daemon in another PID namespace,
/// a TCP endpoint or another user give no stamp.
public struct ProcStoreStamp: StoreStampReading {
    static let boltSuffix = "/io.containerd.metadata.v1.bolt/meta.db"
    let socketPath: String
    let proc: String

    public init(socketPath: String, proc: String = "/proc") {
        self.socketPath = socketPath
        self.proc = proc
    }

    public func stamp() throws(KctrError) -> StoreStamp {
        let pid = try peerPID()
        let started = try startTime(pid)
        let (fdPath, st) = try metadataFile(pid)
        // The PID could have been reused, or the descriptor closed and reopened, while we looked.
        guard try startTime(pid) == started, linkTarget(fdPath)?.hasSuffix(Self.boltSuffix) == true else {
            throw KctrError("containerd (pid \(pid)) changed while kctr read its metadata file")
        }
        return StoreStamp(pid: pid, started: started, device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                          modified: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                          changed: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
    }

    /// The PID of the peer of a connection to the socket.
    func peerPID() throws(KctrError) -> Int32 {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard !path.isEmpty, path.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw KctrError("\(socketPath) is not a unix socket path kctr can connect to")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.enumerated() { raw[i] = b }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw KctrError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw KctrError("cannot connect to \(socketPath): \(String(cString: strerror(errno)))") }
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (Glibc's module leaves it out: it is _GNU_SOURCE).
        var cred = [Int32](repeating: 0, count: 3)
        var len = socklen_t(MemoryLayout<Int32>.size * 3)
        let got = cred.withUnsafeMutableBytes { getsockopt(fd, SOL_SOCKET, SO_PEERCRED, $0.baseAddress, &len) }
        guard got == 0, len == socklen_t(MemoryLayout<Int32>.size * 3) else {
            throw KctrError("SO_PEERCRED on \(socketPath): \(String(cString: strerror(errno)))")
        }
        let pid = cred[0]
        guard pid > 0 else { throw KctrError("the process behind \(socketPath) is in another PID namespace") }
        return pid
    }

    /// Field 22 of /proc/PID/stat: when the process started, in clock ticks after boot.
    func startTime(_ pid: Int32) throws(KctrError) -> UInt64 {
        let path = "\(proc)/\(pid)/stat"
        // One read: the kernel writes the line whole (a few hundred bytes).
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KctrError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { throw KctrError("cannot read \(path)") }
        let text = String(decoding: buf[..<n], as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { throw KctrError("\(path) does not parse") }
        // Fields after the command's closing parenthesis start at field 3 (the state).
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let started = UInt64(fields[19]) else { throw KctrError("\(path) does not parse") }
        return started
    }

    /// The descriptor path (/proc/PID/fd/N) of the daemon's metadata file, and the file's status.
    func metadataFile(_ pid: Int32) throws(KctrError) -> (String, stat) {
        let dir = "\(proc)/\(pid)/fd"
        guard let d = opendir(dir) else { throw KctrError("cannot list \(dir): \(String(cString: strerror(errno)))") }
        defer { closedir(d) }
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.first?.isNumber == true else { continue }
            let fdPath = dir + "/" + name
            guard let target = linkTarget(fdPath), target.hasSuffix(Self.boltSuffix) else { continue }
            var st = stat()
            guard stat(fdPath, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
            return (fdPath, st)
        }
        throw KctrError("containerd (pid \(pid)) has no \(Self.boltSuffix.dropFirst()) open")
    }
}
