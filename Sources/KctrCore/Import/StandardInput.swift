import Foundation

/// Standard input copied to a private temp file, so that an archive can be
/// read twice (metadata, then blobs) whatever its order.
public struct StandardInput: Sendable {
    public let path: String

    public static func spool() throws -> StandardInput {
        let dir = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/var/tmp"
        var template = Array("\(dir)/kctr-stdin-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buf in buf.baseAddress.map { mkstemp($0) } ?? -1 }
        guard fd >= 0 else {
            throw KctrError("cannot create a temp file in \(dir) for standard input: \(String(cString: strerror(errno)))",
                            hint: "set TMPDIR to a writable directory with room for the archive")
        }
        let path = template.withUnsafeBufferPointer { buf in buf.baseAddress.map { String(cString: $0) } ?? "" }
        let out = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        let input = FileHandle.standardInput
        do {
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                try out.write(contentsOf: chunk)
            }
            try out.close()
        } catch {
            unlink(path)
            throw KctrError("cannot copy standard input to \(path): \(error)", hint: "check free space in \(dir) (or set TMPDIR)")
        }
        return StandardInput(path: path)
    }

    public func remove() { unlink(path) }
}
