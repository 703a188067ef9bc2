internal import CArchive

/// Reads a tar archive (ustar, pax, GNU incl. sparse), compressed as a whole with any filter
/// libarchive detects by magic bytes: gzip, zstd, xz, bzip2, or none.
///
/// Not thread-safe; use one reader from one task at a time.
public final class ArchiveReader {
    private let handle: ReadHandle
    private var state: State = .beforeFirst

    private enum State {
        case beforeFirst
        /// Positioned on an entry whose data may be read once.
        case entry(ArchiveEntryInfo, dataRead: Bool)
        /// The last header was rejected (or its data consumed); only `next()` is allowed.
        case noEntry
        case end
    }

    private static let zeros = [UInt8](repeating: 0, count: 64 * 1024)

    /// Opens `path` for reading. libarchive reads it in blocks of `blockSize` bytes.
    public convenience init(path: String, blockSize: Int = 1 << 20) throws(ArchiveError) {
        try self.init(blockSize: blockSize, source: "'\(path)'") { archive in
            archive_read_open_filename(archive, path, blockSize)
        }
    }

    /// Reads from an open descriptor (e.g. stdin). The caller keeps ownership of `fileDescriptor`:
    /// it is not closed by the reader, and must stay open while the reader is used.
    public convenience init(fileDescriptor: Int32, blockSize: Int = 1 << 20) throws(ArchiveError) {
        try self.init(blockSize: blockSize, source: "file descriptor \(fileDescriptor)") { archive in
            archive_read_open_fd(archive, fileDescriptor, blockSize)
        }
    }

    private init(blockSize: Int, source: String, open: (OpaquePointer) -> Int32) throws(ArchiveError) {
        guard blockSize > 0 else {
            throw ArchiveError(message: "open \(source): block size must be positive, got \(blockSize)")
        }
        let handle = try ReadHandle()
        let archive = handle.pointer
        try check(archive_read_support_format_tar(archive), archive, "enable tar format")
        // Explicit list rather than archive_read_support_filter_all, which also enables filters
        // that shell out to external programs (lrzip, lzop, grzip, ...).
        try check(archive_read_support_filter_gzip(archive), archive, "enable gzip")
        try check(archive_read_support_filter_zstd(archive), archive, "enable zstd")
        try check(archive_read_support_filter_xz(archive), archive, "enable xz")
        try check(archive_read_support_filter_bzip2(archive), archive, "enable bzip2")
        try check(open(archive), archive, "open \(source)")
        self.handle = handle
    }

    /// Which compression filter libarchive detected: "none", "gzip", "zstd", "xz", "bzip2".
    /// Detection happens when the archive is opened, so it is valid at any time.
    public var compression: String {
        guard let name = archive_filter_name(handle.pointer, 0) else { return "none" }
        return String(cString: name)
    }

    /// Next header, or nil at end of archive. Any unread data of the previous entry is skipped.
    ///
    /// Throws for entries whose path (or hardlink target) is absolute or contains a ".." component,
    /// and for a header whose size is negative or absurd (> 1 TiB). After such a rejection `next()`
    /// may be called again to skip the entry; after a libarchive error (corrupt/truncated input)
    /// every later call throws.
    public func next() throws(ArchiveError) -> ArchiveEntryInfo? {
        if case .end = state { return nil }
        state = .noEntry
        let archive = handle.pointer
        var entryPointer: OpaquePointer?
        let rc = try check(archive_read_next_header(archive, &entryPointer), archive, "read tar header")
        if rc == ARCHIVE_EOF {
            state = .end
            return nil
        }
        guard let entry = entryPointer else {
            throw ArchiveError(message: "read tar header: libarchive returned no entry")
        }
        let info = try Self.info(of: entry)
        state = .entry(info, dataRead: false)
        return info
    }

    private static func info(of entry: OpaquePointer) throws(ArchiveError) -> ArchiveEntryInfo {
        guard let path = entryString(archive_entry_pathname_utf8(entry), archive_entry_pathname(entry)) else {
            throw ArchiveError(message: "tar entry has no pathname")
        }
        try validateMemberPath(path, what: "entry path")

        let size: Int64 = archive_entry_size_is_set(entry) != 0 ? archive_entry_size(entry) : 0
        try validateEntrySize(size, path: path)

        if let target = entryString(archive_entry_hardlink_utf8(entry), archive_entry_hardlink(entry)) {
            // A hardlink names another member, so it gets the same checks as a member path.
            try validateMemberPath(target, what: "hardlink target of '\(path)'")
            return ArchiveEntryInfo(path: path, type: .hardlink, size: size, linkTarget: target)
        }
        let fileType = UInt32(archive_entry_filetype(entry)) & kctr_ae_ifmt()
        switch fileType {
        case kctr_ae_ifreg():
            return ArchiveEntryInfo(path: path, type: .file, size: size, sparse: archive_entry_sparse_count(entry) > 0)
        case kctr_ae_ifdir():
            return ArchiveEntryInfo(path: path, type: .directory, size: size)
        case kctr_ae_iflnk():
            // Symlink targets are not validated: absolute targets are normal in image layers.
            // Whoever extracts must resolve them safely.
            let target = entryString(archive_entry_symlink_utf8(entry), archive_entry_symlink(entry))
            return ArchiveEntryInfo(path: path, type: .symlink, size: size, linkTarget: target ?? "")
        default:
            return ArchiveEntryInfo(path: path, type: .other, size: size)
        }
    }

    /// Reads the current entry's data in chunks, zero-copy: `body` sees libarchive's own buffer,
    /// valid only during the call. Holes of sparse entries are delivered as zero-filled chunks, so
    /// `body` always sees the entry's full logical content, in order. `body` may throw to abort;
    /// the rest of the entry is skipped by the next `next()`. Data can be read once per entry.
    public func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let info = try takeCurrentEntry()
        let archive = handle.pointer
        var position: Int64 = 0
        while true {
            var buffer: UnsafeRawPointer?
            var length = 0
            var offset: Int64 = 0
            let rc = try check(
                archive_read_data_block(archive, &buffer, &length, &offset), archive,
                "read data of '\(info.path)'")
            if rc == ARCHIVE_EOF {
                // A sparse entry may end in a hole.
                if info.size > position {
                    try Self.zeroFill(count: info.size - position, body)
                }
                return
            }
            if offset < position {
                throw ArchiveError(message: "read data of '\(info.path)': block at offset \(offset) overlaps data already read (\(position) bytes)")
            }
            if offset > position {
                try Self.zeroFill(count: offset - position, body)
                position = offset
            }
            if length > 0 {
                guard let buffer else {
                    throw ArchiveError(message: "read data of '\(info.path)': libarchive returned a null block")
                }
                try body(UnsafeRawBufferPointer(start: buffer, count: length))
                position += Int64(length)
            }
            if position > info.size {
                throw ArchiveError(message: "read data of '\(info.path)': more data (\(position) bytes) than the header size \(info.size)")
            }
        }
    }

    /// Reads the current entry fully into memory, refusing more than `limit` bytes: checked
    /// against the header size before anything is read or allocated (the entry stays readable
    /// after that refusal), and again while reading.
    public func readAll(limit: Int) throws(ArchiveError) -> [UInt8] {
        guard case .entry(let info, dataRead: false) = state else {
            _ = try takeCurrentEntry()  // Throws the right misuse error.
            return []
        }
        if limit < 0 || info.size > Int64(limit) {
            throw ArchiveError(message: "entry '\(info.path)' is \(info.size) bytes, over the limit of \(limit) bytes")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.size))
        do {
            try readData { chunk in
                if chunk.count > limit - bytes.count {
                    throw ArchiveError(message: "entry '\(info.path)' has more than \(limit) bytes of data, over the limit")
                }
                bytes.append(contentsOf: chunk)
            }
        } catch let error as ArchiveError {
            throw error
        } catch {
            throw ArchiveError(message: "read data of '\(info.path)': \(error)")  // Unreachable: the closure only throws ArchiveError.
        }
        return bytes
    }

    private func takeCurrentEntry() throws(ArchiveError) -> ArchiveEntryInfo {
        switch state {
        case .entry(let info, dataRead: false):
            state = .entry(info, dataRead: true)
            return info
        case .entry(let info, dataRead: true):
            throw ArchiveError(message: "data of '\(info.path)' was already read")
        case .beforeFirst, .noEntry:
            throw ArchiveError(message: "no current entry: call next() first")
        case .end:
            throw ArchiveError(message: "no current entry: end of archive")
        }
    }

    private static func zeroFill(count: Int64, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var remaining = count
        try zeros.withUnsafeBytes { zeros in
            while remaining > 0 {
                let n = Int(min(remaining, Int64(zeros.count)))
                try body(UnsafeRawBufferPointer(rebasing: zeros[..<n]))
                remaining -= Int64(n)
            }
        }
    }
}

/// Sole owner of a read `struct archive *`.
private final class ReadHandle {
    let pointer: OpaquePointer

    init() throws(ArchiveError) {
        guard let pointer = archive_read_new() else {
            throw ArchiveError(message: "archive_read_new failed (out of memory)")
        }
        self.pointer = pointer
    }

    deinit {
        // Also closes; an fd passed in by the caller is not closed by libarchive.
        _ = archive_read_free(pointer)
    }
}
