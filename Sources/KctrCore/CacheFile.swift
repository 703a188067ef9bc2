import Foundation

/// One file of kctr's cache directory (/var/cache/kctr for root, `KCTR_CACHE_DIR`). What is in it is
/// input kctr did not write in this run, so it is read as hostile: the directory and the file must belong
/// to the user running kctr and be writable by nobody else, the file must be a regular file (not followed
/// as a link) of at most `maxBytes`. Writes go to a temporary file renamed over the old one, so a reader
/// sees the old or the new file, never half of one. The callers parse what `read` returns as hostile too.
struct CacheFile: Sendable {
    let directory: String
    let name: String
    let maxBytes: Int
    let euid: uid_t

    var path: String { directory + "/" + name }

    /// The file's bytes; nil, with the reason, when there is no usable file (no reason: there is no file).
    func read() -> (bytes: [UInt8]?, note: String?) {
        if let bad = unsafeDirectory(mustExist: false) { return (nil, bad) }
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            let err = errno
            return (nil, err == ENOENT ? nil : "cannot open \(path): \(String(cString: strerror(err)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return (nil, "cannot stat \(path): \(String(cString: strerror(errno)))") }
        if let bad = unsafe(st, path, kind: S_IFREG) { return (nil, bad) }
        guard st.st_size <= maxBytes else { return (nil, "\(path) is \(st.st_size) bytes, more than \(maxBytes): ignored") }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var got = 0
        while got < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress?.advanced(by: got), $0.count - got) }
            if n < 0, errno == EINTR { continue }
            if n < 0 { return (nil, "cannot read \(path): \(String(cString: strerror(errno)))") }
            guard n > 0 else { break }
            got += n
        }
        return (Array(bytes[..<got]), nil)
    }

    /// Puts `bytes` in place of the file (creating the directory, mode 0700, when missing).
    func write(_ bytes: [UInt8]) throws {
        guard bytes.count <= maxBytes else { throw KctrError("\(path) would be \(bytes.count) bytes, more than \(maxBytes): not written") }
        if mkdir(directory, 0o700) != 0, errno != EEXIST {
            throw KctrError("cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        if let bad = unsafeDirectory(mustExist: true) { throw KctrError(bad) }
        var template = Array((path + ".XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buf -> Int32 in
            guard let base = buf.baseAddress else { return -1 }
            return mkstemp(base)
        }
        guard fd >= 0 else { throw KctrError("cannot create a temporary file in \(directory): \(String(cString: strerror(errno)))") }
        let temp = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var ok = fchmod(fd, 0o600) == 0
        var written = 0
        while ok, written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress?.advanced(by: written), $0.count - written) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { ok = false } else { written += n }
        }
        let err = errno
        close(fd)
        guard ok, rename(temp, path) == 0 else {
            let cause = String(cString: strerror(ok ? errno : err))
            unlink(temp)
            throw KctrError("cannot write \(path): \(cause)")
        }
    }

    /// Why the directory cannot be trusted, or nil.
    private func unsafeDirectory(mustExist: Bool) -> String? {
        var st = stat()
        guard lstat(directory, &st) == 0 else {
            let err = errno
            return err == ENOENT && !mustExist ? nil : "cannot use \(directory): \(String(cString: strerror(err)))"
        }
        return unsafe(st, directory, kind: S_IFDIR)
    }

    /// Why a file with status `st` cannot be trusted, or nil: another kind, another owner, writable by others.
    private func unsafe(_ st: stat, _ path: String, kind: mode_t) -> String? {
        if st.st_mode & S_IFMT != kind { return "\(path) is not a \(kind == S_IFDIR ? "directory" : "regular file"): ignored" }
        if st.st_uid != euid { return "\(path) belongs to uid \(st.st_uid), not \(euid): ignored" }
        if st.st_mode & 0o022 != 0 { return "\(path) is writable by others (mode \(String(st.st_mode & 0o777, radix: 8))): ignored" }
        return nil
    }
}
