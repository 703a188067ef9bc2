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
        var lines = parser.feed(try file.readAvailable())
        if let tail = options.tail { lines = Array(lines.suffix(max(0, tail))) }
        emit(lines, options, out)
        guard options.follow else { return }
        var lastCheck = Date()
        while true {
            try await Task.sleep(nanoseconds: pollInterval)
            let data = try file.readAvailable()
            if !data.isEmpty {
                emit(parser.feed(data), options, out)
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
                    emit(parser.feed(try file.readAvailable()), options, out)
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

/// An open log file that notices when the kubelet rotates it.
final class LogFile: @unchecked Sendable {
    // @unchecked: used by one task at a time (the logs command's loop).
    let path: String
    let container: String
    private var handle: FileHandle
    private var inode: UInt64

    init(path: String, container: String) throws {
        self.path = path
        self.container = container
        (handle, inode) = try LogFile.open(path, container: container)
    }

    static func open(_ path: String, container: String) throws -> (FileHandle, UInt64) {
        let fd = Foundation.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let err = errno
            let why = err == ENOENT ? "no such file (the container may have been removed, or its log rotated away)"
                : err == EACCES ? "permission denied" : String(cString: strerror(err))
            throw KctrError("cannot read the log of container \(container.prefix(13)) at \(path): \(why)",
                            hint: err == EACCES
                                ? "kctr reads the log file directly: run it as root (with CAP_DAC_OVERRIDE) and check the file's mode with `ls -l \(path)`"
                                : "check `kctr inspect \(container.prefix(13))` for its log path")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw KctrError("cannot read the log of container \(container.prefix(13)) at \(path): \(why)",
                            hint: "check the file with `ls -l \(path)`")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw KctrError("cannot read the log of container \(container.prefix(13)) at \(path): not a regular file",
                            hint: "the runtime writes the log there; check `ls -ld \(path)` and `kctr inspect \(container.prefix(13))`")
        }
        return (FileHandle(fileDescriptor: fd, closeOnDealloc: true), UInt64(st.st_ino))
    }

    func readAvailable() throws -> Data {
        do {
            return try handle.readToEnd() ?? Data()
        } catch {
            throw KctrError("cannot read \(path): \(error)")
        }
    }

    /// The path now names another file (renamed away and recreated), or the file shrank.
    func rotated() throws -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        if UInt64(st.st_ino) != inode { return true }
        let offset = try handle.offset()
        return UInt64(st.st_size) < offset
    }

    func reopen() throws {
        (handle, inode) = try LogFile.open(path, container: container)
    }
}
