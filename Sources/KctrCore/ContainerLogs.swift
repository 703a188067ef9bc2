import Foundation
import KctrRPC

public struct LogOptions: Sendable {
    public var follow = false
    public var tail: Int?
    public var since: Double?
    public var timestamps = false
    public var stream: String?
    public var previous = false

    public init() {}
}

/// `kctr logs`: reads a container's CRI log file (path from ContainerStatus),
/// joins partial lines, and follows it across the kubelet's rotations.
public struct ContainerLogs: Sendable {
    public let session: Session
    public var pollInterval: UInt64 = 200_000_000

    public init(session: Session) { self.session = session }

    /// Writes each line to `out(stream, text)`; stdout lines to "stdout", stderr lines to "stderr".
    public func run(_ prefix: String, options: LogOptions, out: @Sendable (String, String) -> Void) async throws {
        let (id, path) = try await logPath(prefix, previous: options.previous)
        var parser = CRILogParser(stream: options.stream, since: options.since)
        let file = try LogFile(path: path, container: id)
        if let tail = options.tail {
            emit(try file.tail(max(0, tail), parser: &parser), options, out)
        } else {
            try file.readToEnd { emit(parser.feed($0), options, out) }
        }
        guard options.follow else { return }
        var lastCheck = Date()
        while true {
            try await Task.sleep(nanoseconds: pollInterval)
            if try file.readToEnd({ emit(parser.feed($0), options, out) }) > 0 {
                continue
            }
            if try file.rotated() {
                try file.reopen()
                continue
            }
            if Date().timeIntervalSince(lastCheck) >= 1 {
                lastCheck = Date()
                let status: ContainerStatusReport
                do {
                    status = try await session.cri.containerStatus(id: id, verbose: false)
                } catch {
                    throw session.explain(error, doing: "following the log of container \(id.prefix(13))")
                }
                if status.state != "Running" && status.state != "Created" {
                    try file.readToEnd { emit(parser.feed($0), options, out) }
                    return
                }
            }
        }
    }

    private func emit(_ lines: [CRILogLine], _ options: LogOptions, _ out: @Sendable (String, String) -> Void) {
        for line in lines {
            out(line.stream, options.timestamps ? "\(line.time) \(line.text)" : line.text)
        }
    }

    /// The container's ID and log path; with `previous`, those of the attempt before it.
    func logPath(_ prefix: String, previous: Bool) async throws -> (String, String) {
        let all: [ContainerSummary]
        do {
            all = try await session.cri.listContainers()
        } catch {
            throw session.explain(error, doing: "listing containers")
        }
        let id = try Workloads.unique(prefix, all.map(\.id), what: "container", list: "kctr ps -a -q")
        var target = id
        if previous, let current = all.first(where: { $0.id == id }) {
            guard current.attempt > 0,
                  let before = all.first(where: { $0.podSandboxID == current.podSandboxID && $0.name == current.name && $0.attempt == current.attempt - 1 })
            else {
                throw KctrError("container \(current.name) (\(id.prefix(13))) has no previous attempt kept (attempt \(current.attempt))",
                                hint: "the kubelet keeps one previous attempt; list them with `kctr ps -a --name \(current.name)`")
            }
            target = before.id
        }
        let status: ContainerStatusReport
        do {
            status = try await session.cri.containerStatus(id: target, verbose: false)
        } catch {
            throw session.explain(error, doing: "reading container \(target.prefix(13))")
        }
        guard !status.logPath.isEmpty else {
            throw KctrError("container \(target.prefix(13)) has no log file (created without a log path)",
                            hint: "its output is not kept by the runtime; `kctr inspect \(target.prefix(13))` shows its config")
        }
        return (target, status.logPath)
    }
}

/// An open log file that notices when the kubelet rotates it. Read in chunks: memory never grows with
/// the file (`--tail` reads it backwards from the end, see CRILogTail).
final class LogFile: @unchecked Sendable {
    // @unchecked: used by one task at a time (the logs command's loop).
    let path: String
    let container: String
    private var fd: Int32
    private var inode: UInt64
    /// Bytes read so far (tests check that --tail reads the end only).
    private(set) var bytesRead: Int64 = 0

    init(path: String, container: String) throws {
        self.path = path
        self.container = container
        (fd, inode) = try LogFile.open(path, container: container)
    }

    deinit { close(fd) }

    /// Opens without following a symlink and without blocking (a FIFO put at the path would block open(2)
    /// until a writer came), refuses anything but a regular file, then reads blocking.
    static func open(_ path: String, container: String) throws -> (Int32, UInt64) {
        let what = "cannot read the log of container \(container.prefix(13)) at \(path)"
        let fd = Foundation.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard fd >= 0 else {
            let err = errno
            if err == ELOOP {
                throw KctrError("\(what): it is a symbolic link, and kctr reads only regular log files (it does not follow links there)",
                                hint: "the runtime writes the log at that path itself; check what replaced it: ls -l \(path)")
            }
            let why = err == ENOENT ? "no such file (the container may have been removed, or its log rotated away)"
                : err == EACCES ? "permission denied" : String(cString: strerror(err))
            throw KctrError("\(what): \(why)",
                            hint: err == EACCES
                                ? "kctr reads the log file directly: run it as root (with CAP_DAC_OVERRIDE) and check the file's mode with `ls -l \(path)`"
                                : "check `kctr inspect \(container.prefix(13))` for its log path")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw KctrError("\(what): \(why)", hint: "check the file with `ls -l \(path)`")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw KctrError("\(what): it is \(describe(st.st_mode)), and kctr reads only regular log files",
                            hint: "the runtime writes the log there as a regular file; check what replaced it with `ls -l \(path)`, and `kctr inspect \(container.prefix(13))`")
        }
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw KctrError("\(what): cannot make its descriptor blocking: \(why)", hint: "check the file with `ls -l \(path)`")
        }
        return (fd, UInt64(st.st_ino))
    }

    /// "a FIFO (named pipe)", "a directory", ...: what a path holds instead of a regular file.
    static func describe(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }

    /// Hands each chunk from the current offset to the end to `body`; the number of bytes read.
    @discardableResult
    func readToEnd(_ body: (Data) throws -> Void) throws -> Int {
        var total = 0
        while true {
            let chunk = try read(at: nil, count: CRILogTail.chunk)
            if chunk.isEmpty { return total }
            total += chunk.count
            try body(Data(chunk))
        }
    }

    /// The last `n` lines `parser` gives, reading the end of the file only; the file is then at its end,
    /// and `parser` in the state a read of the whole file leaves it in (for --follow).
    func tail(_ n: Int, parser: inout CRILogParser) throws -> [CRILogLine] {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw KctrError("cannot read \(path): \(String(cString: strerror(errno)))") }
        let start = try CRILogTail.start(size: Int64(st.st_size), want: n, stream: parser.stream, since: parser.since) {
            try read(at: $0, count: $1)
        }
        guard lseek(fd, off_t(start), SEEK_SET) >= 0 else {
            throw KctrError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        // Only the last n are kept: at most 2n (plus one chunk's worth) at any time.
        var last: [CRILogLine] = []
        try readToEnd { data in
            last += parser.feed(data)
            if last.count > 2 * n { last.removeFirst(last.count - n) }
        }
        return Array(last.suffix(n))
    }

    /// Up to `count` bytes at `offset` (pread), or from the current offset (read) when nil.
    private func read(at offset: Int64?, count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = buffer.withUnsafeMutableBytes { buf -> Int in
                guard let base = buf.baseAddress else { return 0 }
                if let offset { return pread(fd, base + filled, count - filled, off_t(offset) + off_t(filled)) }
                return Foundation.read(fd, base + filled, count - filled)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw KctrError("cannot read \(path): \(String(cString: strerror(errno)))",
                                hint: "check the file and the file system under it: ls -l \(path); dmesg | tail")
            }
            if n == 0 { break }
            filled += n
        }
        bytesRead += Int64(filled)
        buffer.removeLast(count - filled)
        return buffer
    }

    /// The path now names another file (renamed away and recreated), or the file shrank.
    func rotated() throws -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        if UInt64(st.st_ino) != inode { return true }
        let offset = lseek(fd, 0, SEEK_CUR)
        return offset >= 0 && Int64(st.st_size) < Int64(offset)
    }

    func reopen() throws {
        let (newFD, newInode) = try LogFile.open(path, container: container)
        close(fd)
        (fd, inode) = (newFD, newInode)
    }
}
