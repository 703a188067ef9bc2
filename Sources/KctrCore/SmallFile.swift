#if canImport(Glibc)
import Glibc
#endif

/// A configuration file of the node (crictl.yaml, the kubelet's config, containerd's config.toml),
/// read whole but only when it is a regular file of at most `limit` bytes: a file of gigabytes, or a
/// device or FIFO put in its place, is refused with a message instead of being read into memory.
public enum SmallFile {
    /// Configurations are a few KiB; the largest containerd config.toml seen is under 100 KiB.
    public static let limit = 1 << 20

    /// The file's text; nil when nothing is at `path`.
    public static func text(_ path: String, limit: Int = SmallFile.limit) throws(KctrError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if fd < 0 {
            let e = errno
            if e == ENOENT || e == ENOTDIR { return nil }
            throw failure(path, e)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw failure(path, errno) }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw KctrError("\(path) is not a regular file", hint: "ls -l \(path): a configuration file is expected there")
        }
        guard st.st_size <= limit else {
            throw KctrError("\(path) is \(Render.size(Int64(st.st_size))), more than the \(Render.size(Int64(limit))) a configuration file may have",
                            hint: "check what was written there: ls -l \(path)")
        }
        // To the end, even if the file grew since fstat, but never past the limit.
        guard let bytes = readToEnd(fd, limit: limit, chunk: min(Int(st.st_size), limit) + 1) else { throw failure(path, errno) }
        guard bytes.count <= limit else {
            throw KctrError("\(path) grew past \(Render.size(Int64(limit))) while it was read", hint: "check what writes to \(path)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KctrError("\(path) is not UTF-8 text", hint: "check what was written there: file \(path)")
        }
        return text
    }

    /// `fd` read to its end, or to `limit` + 1 bytes (more than `limit`: the caller refuses it), in reads
    /// of at most `chunk` bytes; nil, with errno set, when a read fails.
    static func readToEnd(_ fd: Int32, limit: Int, chunk size: Int) -> [UInt8]? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: max(size, 1))
        while bytes.count <= limit {
            let want = min(chunk.count, limit + 1 - bytes.count)
            let n = chunk.withUnsafeMutableBytes { buf -> Int in
                guard let base = buf.baseAddress else { return 0 }
                return read(fd, base, want)
            }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes
    }

    private static func failure(_ path: String, _ e: Int32) -> KctrError {
        KctrError("cannot read \(path): \(String(cString: strerror(e)))",
                  hint: e == EACCES ? "run as root, or check the permissions: ls -l \(path)"
                      : "check the file and the file system under it: ls -l \(path); dmesg | tail")
    }
}
