import Foundation

/// Standard input copied to a private temp file, so that an archive can be
/// read twice (metadata, then blobs) whatever its order. The file is unlinked
/// as soon as it is created and read through its open descriptor
/// (/proc/self/fd/N), so no exit, not even SIGKILL, leaves it behind, and no
/// other process can find it by name.
public final class StandardInput: Sendable {
    /// A path that opens the spooled copy (valid while this object lives).
    public let path: String
    /// How messages name it.
    public let source = "standard input"
    private let fd: Int32

    private init(fd: Int32) {
        self.fd = fd
        path = "/proc/self/fd/\(fd)"
    }

    deinit { close(fd) }

    public static func spool() throws -> StandardInput {
        let dir = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/var/tmp"
        var template = Array("\(dir)/kctr-stdin-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buf in buf.baseAddress.map { mkstemp($0) } ?? -1 }
        guard fd >= 0 else {
            throw KctrError("cannot create a temp file in \(dir) for standard input: \(String(cString: strerror(errno)))",
                            hint: "set TMPDIR to a writable directory with room for the archive")
        }
        let name = template.withUnsafeBufferPointer { buf in buf.baseAddress.map { String(cString: $0) } ?? "" }
        let spooled = StandardInput(fd: fd)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        guard unlink(name) == 0 else {
            let cause = String(cString: strerror(errno))
            throw KctrError("cannot unlink the temp file \(name) for standard input: \(cause)",
                            hint: "remove \(name) by hand, and set TMPDIR to a directory where kctr may create and remove files")
        }
        let out = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
        do {
            while let chunk = try FileHandle.standardInput.read(upToCount: 1 << 20), !chunk.isEmpty {
                try out.write(contentsOf: chunk)
            }
        } catch {
            throw KctrError("cannot copy standard input to a temp file in \(dir): \(error)", hint: "check free space in \(dir) (or set TMPDIR)")
        }
        return spooled
    }
}
