import Dispatch
import Foundation

/// The FIFOs an exec process's stdio goes through, made by kctr in a private directory (0700) and
/// removed with it; containerd's shim opens the other ends by path.
final class ExecFIFOs: @unchecked Sendable {
    // @unchecked: the descriptors are set once in init and closed once in close(), under `lock`.
    let dir: String
    let stdinPath: String
    let stdoutPath: String
    let stderrPath: String
    private(set) var stdinFD: Int32 = -1
    private(set) var stdoutFD: Int32 = -1
    private(set) var stderrFD: Int32 = -1
    private let lock = NSLock()

    /// Under /run/kctr/exec (tmpfs, root's), else $TMPDIR: `<dir>/<execID>/{stdin,stdout,stderr}`.
    init(execID: String, stdin: Bool, stderr: Bool) throws {
        let parent = access("/run", W_OK) == 0 ? "/run/kctr/exec" : (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/kctr-exec"
        mkdir("/run/kctr", 0o711)
        mkdir(parent, 0o711)
        dir = "\(parent)/\(execID)"
        stdinPath = stdin ? dir + "/stdin" : ""
        stdoutPath = dir + "/stdout"
        stderrPath = stderr ? dir + "/stderr" : ""
        guard mkdir(dir, 0o700) == 0 else {
            throw KctrError("cannot create \(dir) for the exec process's FIFOs: \(String(cString: strerror(errno)))",
                            hint: "kctr exec needs a writable /run (or TMPDIR) as root")
        }
        do {
            for path in [stdinPath, stdoutPath, stderrPath] where !path.isEmpty {
                guard mkfifo(path, 0o600) == 0 else {
                    throw KctrError("cannot create the FIFO \(path): \(String(cString: strerror(errno)))")
                }
            }
            // Reading ends never block on open; the writing end is opened read-write so that it does
            // not wait for the shim either.
            stdoutFD = try Self.open(stdoutPath, O_RDONLY | O_NONBLOCK)
            if !stderrPath.isEmpty { stderrFD = try Self.open(stderrPath, O_RDONLY | O_NONBLOCK) }
            if !stdinPath.isEmpty { stdinFD = try Self.open(stdinPath, O_RDWR) }
        } catch {
            remove()
            throw error
        }
    }

    private static func open(_ path: String, _ flags: Int32) throws -> Int32 {
        let fd = Foundation.open(path, flags | O_CLOEXEC)
        guard fd >= 0 else { throw KctrError("cannot open the FIFO \(path): \(String(cString: strerror(errno)))") }
        return fd
    }

    /// Closes kctr's end of stdin: the process reads EOF once the shim's CloseIO closes its end too.
    func closeStdin() {
        lock.lock()
        defer { lock.unlock() }
        if stdinFD >= 0 { close(stdinFD); stdinFD = -1 }
    }

    /// Closes every descriptor and removes the FIFOs and their directory.
    func remove() {
        lock.lock()
        for fd in [stdinFD, stdoutFD, stderrFD] where fd >= 0 { close(fd) }
        stdinFD = -1; stdoutFD = -1; stderrFD = -1
        lock.unlock()
        for path in [stdinPath, stdoutPath, stderrPath] where !path.isEmpty { unlink(path) }
        rmdir(dir)
    }
}

/// Copies bytes between kctr's stdio and the FIFOs, each direction on a thread of its own.
enum ExecCopy {
    /// Copies everything the process writes to `fifo` onto `out` until the shim closes its end
    /// (POLLHUP after the process exits) or `stop` is signalled; then `done` is signalled.
    static func drain(_ fifo: Int32, to out: Int32, done: DispatchSemaphore, stop: StopFlag) {
        Thread.detachNewThread {
            defer { done.signal() }
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            var fds = pollfd(fd: fifo, events: Int16(POLLIN), revents: 0)
            while !stop.isSet {
                fds.revents = 0
                let ready = poll(&fds, 1, 100)
                if ready < 0 { if errno == EINTR { continue } else { return } }
                if ready == 0 { continue }
                let n = buffer.withUnsafeMutableBytes { read(fifo, $0.baseAddress, $0.count) }
                if n > 0 {
                    if !writeAll(out, buffer, n) { return }
                    continue
                }
                if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                // n == 0 with POLLHUP: the writer (the shim) has closed its end.
                if fds.revents & Int16(POLLHUP) != 0 || n == 0 { return }
                return
            }
        }
    }

    /// Copies kctr's stdin into the stdin FIFO until EOF, then calls `eof`.
    static func feed(from input: Int32, to fifos: ExecFIFOs, eof: @escaping @Sendable () -> Void) {
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 32 << 10)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                let fd = fifos.stdinFD
                if fd < 0 || !writeAll(fd, buffer, n) { break }
            }
            fifos.closeStdin()
            eof()
        }
    }

    static func writeAll(_ fd: Int32, _ buffer: [UInt8], _ count: Int) -> Bool {
        var offset = 0
        while offset < count {
            let w = buffer.withUnsafeBytes { write(fd, $0.baseAddress.map { $0 + offset }, count - offset) }
            if w < 0 && errno == EINTR { continue }
            if w < 0 && errno == EAGAIN { usleep(1000); continue }
            if w <= 0 { return false }
            offset += w
        }
        return true
    }
}

/// A flag set once, read from copy threads.
final class StopFlag: @unchecked Sendable {
    // @unchecked: `value` is guarded by `lock`.
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

/// The local terminal in raw mode for `exec -t`, restored on every exit path: normal return,
/// error, cancellation, and exit() (an atexit hook; a second Ctrl-C or the 5 s grace exits at once).
enum RawTerminal {
    // The saved settings, for the atexit hook, which cannot capture context. Written once on entry.
    nonisolated(unsafe) private static var saved = termios()
    nonisolated(unsafe) private static var active = false
    private static let lock = NSLock()

    static func enter() throws {
        lock.lock()
        defer { lock.unlock() }
        guard !active else { return }
        var t = termios()
        guard tcgetattr(0, &t) == 0 else {
            throw KctrError("cannot read the terminal's settings: \(String(cString: strerror(errno)))")
        }
        saved = t
        cfmakeraw(&t)
        guard tcsetattr(0, TCSANOW, &t) == 0 else {
            throw KctrError("cannot put the terminal in raw mode: \(String(cString: strerror(errno)))")
        }
        active = true
        struct Once { nonisolated(unsafe) static var registered = false }
        if !Once.registered {
            Once.registered = true
            atexit { RawTerminal.restore() }
        }
    }

    static func restore() {
        lock.lock()
        defer { lock.unlock() }
        guard active else { return }
        _ = tcsetattr(0, TCSANOW, &saved)
        active = false
    }

    /// The terminal's size (columns, rows), or nil.
    static func size() -> (UInt32, UInt32)? {
        var w = winsize()
        guard ioctl(0, UInt(TIOCGWINSZ), &w) == 0, w.ws_col > 0, w.ws_row > 0 else { return nil }
        return (UInt32(w.ws_col), UInt32(w.ws_row))
    }
}
