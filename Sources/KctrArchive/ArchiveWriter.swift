internal import CArchive

/// Writes an uncompressed POSIX tar (ustar headers, pax extended headers only where needed).
/// Entries get mtime 0, uid/gid 0, mode 0644 (directories 0755), so output is deterministic.
///
/// Call `finish()` to complete the archive. If any write fails after an entry's header was
/// written, the writer refuses further use (the archive would be corrupt). Without `finish()`,
/// the output is left incomplete (no end-of-archive blocks). Not thread-safe.
public final class ArchiveWriter {
    private let handle: WriteHandle
    private let destination: String
    private var state: State = .open

    private enum State {
        case open
        case failed(String)
        case finished
    }

    /// Creates or truncates `path` (mode 0644 before umask, O_NOFOLLOW|O_CLOEXEC): fails if
    /// `path` is a symlink. The descriptor is owned and closed by the writer.
    public convenience init(path: String) throws(ArchiveError) {
        let fd = kctr_open_for_write(path)
        if fd < 0 {
            let hint = kctr_errno_is_eloop(-fd) != 0 ? " (refusing to follow a symlink)" : ""
            throw ArchiveError(message: "create '\(path)': \(errnoMessage(-fd))\(hint)")
        }
        try self.init(fd: fd, owned: FileDescriptor(fd), destination: "'\(path)'")
    }

    /// Writes to an open descriptor. The caller keeps ownership: it is not closed by the writer.
    public convenience init(fileDescriptor: Int32) throws(ArchiveError) {
        try self.init(fd: fileDescriptor, owned: nil, destination: "file descriptor \(fileDescriptor)")
    }

    private init(fd: Int32, owned: FileDescriptor?, destination: String) throws(ArchiveError) {
        let handle = try WriteHandle(ownedFileDescriptor: owned)
        let archive = handle.pointer
        try check(archive_write_set_format_pax_restricted(archive), archive, "set tar format")
        try check(archive_write_add_filter_none(archive), archive, "set no compression")
        try check(archive_write_open_fd(archive, fd), archive, "open \(destination) for writing")
        self.handle = handle
        self.destination = destination
    }

    public func addDirectory(_ path: String) throws(ArchiveError) {
        try checkOpen()
        try validateMemberPath(path, what: "directory path")
        try poisoningOnError { () throws(ArchiveError) in
            try writeHeader(path: path, fileType: kctr_ae_ifdir(), permissions: 0o755, size: 0)
            try check(archive_write_finish_entry(handle.pointer), handle.pointer, "finish directory '\(path)'")
        }
    }

    /// Writes a regular file of exactly `size` bytes whose data `produce` supplies by calling
    /// `write` any number of times; throws if the total differs from `size` (a `write` that would
    /// exceed it throws immediately, writing nothing).
    public func addFile(
        _ path: String, size: Int64,
        produce: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        try checkOpen()
        try validateMemberPath(path, what: "file path")
        try validateEntrySize(size, path: path)
        let archive = handle.pointer
        do {
            try writeHeader(path: path, fileType: kctr_ae_ifreg(), permissions: 0o644, size: size)
            var written: Int64 = 0
            try produce { chunk in
                if Int64(chunk.count) > size - written {
                    throw ArchiveError(message: "file '\(path)': data exceeds the declared size of \(size) bytes")
                }
                guard let base = chunk.baseAddress, !chunk.isEmpty else { return }
                let n = try check(archive_write_data(archive, base, chunk.count), archive, "write data of '\(path)'")
                if n != chunk.count {
                    throw ArchiveError(message: "write data of '\(path)': short write (\(n) of \(chunk.count) bytes)")
                }
                written += Int64(n)
            }
            if written != size {
                throw ArchiveError(message: "file '\(path)': \(written) bytes written, declared size is \(size)")
            }
            try check(archive_write_finish_entry(archive), archive, "finish file '\(path)'")
        } catch {
            state = .failed("\(error)")
            throw error
        }
    }

    public func addFile(_ path: String, bytes: [UInt8]) throws(ArchiveError) {
        do {
            try addFile(path, size: Int64(bytes.count)) { write in
                try bytes.withUnsafeBytes { try write($0) }
            }
        } catch let error as ArchiveError {
            throw error
        } catch {
            throw ArchiveError(message: "file '\(path)': \(error)")  // Unreachable: only ArchiveError is thrown.
        }
    }

    /// Writes the end-of-archive blocks, flushes, and closes the descriptor if the writer owns it.
    public func finish() throws(ArchiveError) {
        try checkOpen()
        try poisoningOnError { () throws(ArchiveError) in
            try check(archive_write_close(handle.pointer), handle.pointer, "finish archive \(destination)")
            handle.closed = true
            try handle.ownedFileDescriptor?.close(path: destination)
        }
        state = .finished
    }

    private func checkOpen() throws(ArchiveError) {
        switch state {
        case .open:
            return
        case .finished:
            throw ArchiveError(message: "archive \(destination) is already finished")
        case .failed(let reason):
            throw ArchiveError(message: "archive \(destination) is unusable after an earlier failure: \(reason)")
        }
    }

    private func poisoningOnError(_ body: () throws(ArchiveError) -> Void) throws(ArchiveError) {
        do {
            try body()
        } catch {
            state = .failed(error.message)
            throw error
        }
    }

    private func writeHeader(path: String, fileType: UInt32, permissions: UInt32, size: Int64) throws(ArchiveError) {
        let entry = try EntryHandle()
        let e = entry.pointer
        // Gotcha (libarchive 3.6.2): archive_entry_set_pathname_utf8 with a non-ASCII name makes
        // the pax writer crash (NULL in its "Can't translate pathname" message) when the process
        // locale is "C", which is the default for Swift programs. Setting the raw UTF-8 bytes as the
        // locale ("mbs") form instead makes pax fall back to a binary `path` record
        // (hdrcharset=BINARY) with ARCHIVE_WARN: the bytes are stored unchanged. ASCII names are
        // unaffected (plain ustar, or a pax `path` record when longer than ustar allows).
        archive_entry_copy_pathname(e, path)
        archive_entry_set_filetype(e, fileType)
        archive_entry_set_perm(e, permissions)
        archive_entry_set_size(e, size)
        archive_entry_set_mtime(e, 0, 0)
        archive_entry_set_uid(e, 0)
        archive_entry_set_gid(e, 0)
        try check(archive_write_header(handle.pointer, e), handle.pointer, "write header for '\(path)'")
    }
}

/// Sole owner of a write `struct archive *` (and, through it, of the descriptor it writes to
/// when KctrArchive opened that descriptor: it is released only after the archive is freed).
private final class WriteHandle {
    let pointer: OpaquePointer
    let ownedFileDescriptor: FileDescriptor?
    /// Set once archive_write_close succeeded.
    var closed = false

    init(ownedFileDescriptor: FileDescriptor?) throws(ArchiveError) {
        guard let pointer = archive_write_new() else {
            throw ArchiveError(message: "archive_write_new failed (out of memory)")
        }
        self.pointer = pointer
        self.ownedFileDescriptor = ownedFileDescriptor
    }

    deinit {
        if !closed {
            // archive_write_free would otherwise close the archive, writing end-of-archive blocks
            // and making an incomplete archive look complete. Marking it failed frees without that.
            _ = archive_write_fail(pointer)
        }
        _ = archive_write_free(pointer)
    }
}
