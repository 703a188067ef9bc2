internal import CArchive

/// Any failure reported by KctrArchive: libarchive errors (with `archive_error_string` attached),
/// rejected entries, misuse of a reader/writer, and I/O errors.
public struct ArchiveError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}

public enum ArchiveEntryType: Sendable {
    case file, directory, symlink, hardlink, other
}

public struct ArchiveEntryInfo: Sendable, Equatable {
    /// Member path as stored in the archive (directories usually end in "/").
    public var path: String
    public var type: ArchiveEntryType
    /// Logical size of the entry's data in bytes (0 for directories, links, and entries without data).
    public var size: Int64
    /// Target of a symlink or hardlink; nil for other types.
    public var linkTarget: String?
    /// A sparse file (GNU or pax sparse): `size` is its logical size, and the archive may hold far
    /// fewer bytes (the holes are read as zeros).
    public var sparse: Bool

    public init(path: String, type: ArchiveEntryType, size: Int64, linkTarget: String? = nil, sparse: Bool = false) {
        self.path = path
        self.type = type
        self.size = size
        self.linkTarget = linkTarget
        self.sparse = sparse
    }
}

// MARK: - Internal helpers

/// Largest entry size accepted in a header, read or written: 1 TiB.
let maxEntrySize: Int64 = 1 << 40

/// The one place libarchive status codes are interpreted. Returns `rc` (ARCHIVE_OK, ARCHIVE_EOF or
/// ARCHIVE_WARN) when it is not a failure; throws with `archive_error_string` attached otherwise.
/// ARCHIVE_WARN is not a failure: libarchive still produced a usable result (e.g. a header whose
/// pathname could not be converted to the current locale).
@discardableResult
func check(_ rc: Int32, _ archive: OpaquePointer, _ what: @autoclosure () -> String) throws(ArchiveError) -> Int32 {
    if rc == ARCHIVE_OK || rc == ARCHIVE_EOF || rc == ARCHIVE_WARN {
        return rc
    }
    throw ArchiveError(message: "\(what()): \(libarchiveMessage(archive, rc))")
}

/// Overload for calls returning a byte count (`archive_write_data`): negative means failure.
@discardableResult
func check(_ count: Int, _ archive: OpaquePointer, _ what: @autoclosure () -> String) throws(ArchiveError) -> Int {
    if count >= 0 {
        return count
    }
    throw ArchiveError(message: "\(what()): \(libarchiveMessage(archive, Int32(clamping: count)))")
}

private func libarchiveMessage(_ archive: OpaquePointer, _ rc: Int32) -> String {
    let errno = archive_errno(archive)
    if let cString = archive_error_string(archive) {
        let message = String(cString: cString)
        // libarchive's I/O errors keep the cause in errno only ("Write error" for ENOSPC). Its own
        // codes (format: EILSEQ, misuse: EINVAL, misc: -1) say nothing the message does not.
        if errno > 0 && errno != EILSEQ && errno != EINVAL, let cause = kctr_strerror(errno) {
            let text = String(cString: cause)
            if !message.contains(text) { return "\(message): \(text)" }
        }
        return message
    }
    if errno != 0, let cString = kctr_strerror(errno) {
        return String(cString: cString)
    }
    return "libarchive error \(rc)"
}

/// Strings from libarchive entries: prefer the UTF-8 form; fall back to the locale (mbs) form,
/// which libarchive returns when it cannot convert (invalid bytes are repaired with U+FFFD).
func entryString(_ utf8: UnsafePointer<CChar>?, _ mbs: @autoclosure () -> UnsafePointer<CChar>?) -> String? {
    if let utf8 {
        return String(cString: utf8)
    }
    if let raw = mbs() {
        return String(cString: raw)
    }
    return nil
}

/// Archive member paths must be relative and must not climb out with "..".
func validateMemberPath(_ path: String, what: String) throws(ArchiveError) {
    if path.isEmpty {
        throw ArchiveError(message: "\(what) is empty")
    }
    if path.utf8.first == UInt8(ascii: "/") {
        throw ArchiveError(message: "\(what) '\(path)' is absolute")
    }
    let dotDot: [UInt8] = [UInt8(ascii: "."), UInt8(ascii: ".")]
    for component in path.utf8.split(separator: UInt8(ascii: "/")) where component.elementsEqual(dotDot) {
        throw ArchiveError(message: "\(what) '\(path)' contains a '..' component")
    }
}

func validateEntrySize(_ size: Int64, path: String) throws(ArchiveError) {
    if size < 0 {
        throw ArchiveError(message: "entry '\(path)' has a negative size (\(size))")
    }
    if size > maxEntrySize {
        throw ArchiveError(message: "entry '\(path)' has an absurd size (\(size) bytes, over 1 TiB)")
    }
}

/// Sole owner of one `struct archive_entry *`.
final class EntryHandle {
    let pointer: OpaquePointer

    init() throws(ArchiveError) {
        guard let pointer = archive_entry_new() else {
            throw ArchiveError(message: "archive_entry_new failed (out of memory)")
        }
        self.pointer = pointer
    }

    deinit {
        archive_entry_free(pointer)
    }
}

/// Sole owner of a file descriptor opened by KctrArchive.
final class FileDescriptor {
    private(set) var fd: Int32

    init(_ fd: Int32) {
        self.fd = fd
    }

    /// Closes now, reporting errors (a failed close can mean lost writes).
    func close(path: String) throws(ArchiveError) {
        guard fd >= 0 else { return }
        let rc = kctr_close(fd)
        fd = -1
        if rc != 0 {
            throw ArchiveError(message: "close '\(path)': \(errnoMessage(-rc))")
        }
    }

    deinit {
        if fd >= 0 {
            _ = kctr_close(fd)  // Nothing to report to from deinit.
        }
    }
}

func errnoMessage(_ err: Int32) -> String {
    if let cString = kctr_strerror(err) {
        return String(cString: cString)
    }
    return "errno \(err)"
}
