import Foundation
import KctrArchive

/// What the first pass over an image archive finds: every file entry, the
/// JSON documents (index.json, manifest.json, manifests, configs) kept in
/// memory, and the first bytes of every other entry (to tell gzip layers).
public struct ArchiveCatalog: Sendable {
    public struct Entry: Sendable, Equatable {
        public var size: Int64
        /// First bytes of the entry (up to 8), for format detection.
        public var magic: [UInt8]
        /// A symlink or hardlink's target, as a path inside the archive.
        public var link: String?

        public init(size: Int64, magic: [UInt8], link: String? = nil) {
            self.size = size
            self.magic = magic
            self.link = link
        }
    }

    public var entries: [String: Entry] = [:]
    public var json: [String: [UInt8]] = [:]
    public var compression = "none"
    /// The archive's path, for messages.
    public var source = ""

    /// JSON entries larger than this are not metadata.
    public static let maxJSONEntry = 4 << 20
    /// All JSON kept in memory at once.
    public static let maxJSONTotal = 64 << 20
    /// Files and links catalogued (directories are not kept): a real image archive holds a few
    /// per blob, so this is far above any, and bounds the catalogue of a tar of millions of entries.
    public static let maxEntries = 100_000
    /// Bytes of member paths and link targets kept in the catalogue (a pax header can make one
    /// path a megabyte long).
    public static let maxNameBytes = 16 << 20

    public init() {}

    /// Catalogues the archive at `path`; `source` names it in messages (default: the path).
    public static func scan(path: String, source: String? = nil, maxEntries: Int = maxEntries,
                            maxNameBytes: Int = maxNameBytes) throws -> ArchiveCatalog {
        let source = source ?? path
        var st = stat()
        // stat, not FileManager's lstat: the path may be a link (/proc/self/fd/N for standard input).
        let fileSize: Int64? = stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? Int64(st.st_size) : nil
        if fileSize == 0 {
            throw KctrError("\(source) is empty", hint: "give a tar written by docker save, ctr export, skopeo or kctr export")
        }
        let reader = try open(path, source: source)
        var catalog = ArchiveCatalog()
        catalog.source = source
        var jsonTotal = 0
        var nameBytes = 0
        while let info = try next(reader, path: source) {
            let name = normalize(info.path)
            try refuseUntrustworthy(info, name: name, catalog: catalog, archiveSize: reader.compression == "none" ? fileSize : nil)
            switch info.type {
            case .directory, .other:
                continue
            case .symlink, .hardlink, .file:
                nameBytes += name.utf8.count + (info.linkTarget?.utf8.count ?? 0)
                let hint = "an image archive holds a few files per blob: this is not one kctr can import safely"
                let at = name.utf8.count > 200 ? String(decoding: name.utf8.prefix(200), as: UTF8.self) + "..." : name
                guard catalog.entries.count < maxEntries else {
                    throw KctrError("\(source) holds more than \(maxEntries) files and links (kctr stopped reading at \(at))", hint: hint)
                }
                guard nameBytes <= maxNameBytes else {
                    throw KctrError("\(source): its member names add up to more than \(maxNameBytes) bytes (kctr stopped reading at \(at))", hint: hint)
                }
            }
            switch info.type {
            case .directory, .other:
                continue
            case .symlink, .hardlink:
                let target = info.linkTarget.map { resolveLink($0, from: name, hard: info.type == .hardlink) }
                catalog.entries[name] = Entry(size: 0, magic: [], link: target)
                continue
            case .file:
                break
            }
            var head: [UInt8] = []
            var body: [UInt8] = []
            var isJSON = false
            try readData(reader, path: source, entry: name) { chunk in
                if head.count < 8 { head += chunk.prefix(8 - head.count) }
                if body.isEmpty && !isJSON {
                    guard let first = chunk.first(where: { !($0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09) }) else { return }
                    isJSON = (first == UInt8(ascii: "{") || first == UInt8(ascii: "[")) && info.size <= Int64(maxJSONEntry)
                    if !isJSON { throw StopReading() }
                }
                body += chunk
                if body.count > maxJSONEntry { throw StopReading() }
            }
            catalog.entries[name] = Entry(size: info.size, magic: head)
            if isJSON && body.count == Int(info.size) {
                jsonTotal += body.count
                guard jsonTotal <= maxJSONTotal else {
                    throw KctrError("\(source): more than \(maxJSONTotal >> 20) MiB of JSON metadata",
                                    hint: "this is not an image archive kctr can import safely")
                }
                catalog.json[name] = body
            }
        }
        catalog.compression = reader.compression
        return catalog
    }

    /// What no genuine image archive holds, refused before anything is read from the entry:
    /// - a path twice (a reader that keeps the last copy and one that keeps the first would see
    ///   different images, so the plan and the store could disagree);
    /// - a sparse file (image blobs never are: a 20 KiB archive could otherwise claim a 1 TiB blob
    ///   and stream zeros into the content store until the disk is full);
    /// - in an uncompressed archive, an entry larger than the archive itself.
    static func refuseUntrustworthy(_ info: ArchiveEntryInfo, name: String, catalog: ArchiveCatalog, archiveSize: Int64?) throws {
        let source = catalog.source
        guard info.type != .directory && info.type != .other else { return }
        if catalog.entries[name] != nil {
            throw KctrError("\(source): the member \(name) appears twice in the archive",
                            hint: "a genuine image archive names each file once: this one was crafted or badly concatenated; do not import it")
        }
        guard info.type == .file else { return }
        if info.sparse {
            throw KctrError("\(source): \(name) is a sparse file in the archive (\(Render.size(info.size)) with holes)",
                            hint: "image blobs are never sparse: the archive was crafted; do not import it")
        }
        if let archiveSize, info.size > archiveSize {
            throw KctrError("\(source): \(name) claims \(Render.size(info.size)), more than the whole archive (\(Render.size(archiveSize))) holds",
                            hint: "the archive is truncated or crafted: copy it again from its source")
        }
    }

    /// The entry at `path`, following links inside the archive.
    public func resolve(_ path: String) throws -> (path: String, entry: Entry)? {
        var current = Self.normalize(path)
        var seen: Set<String> = []
        while let entry = entries[current] {
            guard let link = entry.link else { return (current, entry) }
            guard seen.insert(current).inserted, seen.count <= 16 else {
                throw KctrError("\(source): the archive's links loop at \(path)", hint: "the archive is malformed: export it again")
            }
            current = link
        }
        return nil
    }

    public func document(_ path: String) throws -> [UInt8]? {
        guard let (real, _) = try resolve(path) else { return nil }
        return json[real]
    }

    static func normalize(_ path: String) -> String {
        var p = path
        while p.hasPrefix("./") { p.removeFirst(2) }
        return p
    }

    static func resolveLink(_ target: String, from name: String, hard: Bool) -> String {
        if hard { return normalize(target) }
        var parts = name.split(separator: "/").dropLast().map(String.init)
        for component in target.split(separator: "/") {
            if component == ".." { if !parts.isEmpty { parts.removeLast() } } else if component != "." { parts.append(String(component)) }
        }
        return parts.joined(separator: "/")
    }

    // MARK: archive access with kctr's messages

    static func open(_ path: String, source: String? = nil) throws -> ArchiveReader {
        do {
            return try ArchiveReader(path: path)
        } catch {
            throw KctrError("cannot read \(source ?? path): \(error.message)", hint: "check the path and that it is an image archive (.tar, .tar.gz, .tar.zst)")
        }
    }

    static func next(_ reader: ArchiveReader, path: String) throws -> ArchiveEntryInfo? {
        do {
            return try reader.next()
        } catch {
            throw KctrError("\(path) is not a readable image archive: \(error.message)",
                            hint: "kctr imports tar archives (OCI layout or docker save), optionally gzip or zstd compressed; the file may be truncated or corrupt")
        }
    }

    static func readData(_ reader: ArchiveReader, path: String, entry: String,
                         _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        do {
            try reader.readData(body)
        } catch is StopReading {
            return
        } catch let e as ArchiveError {
            throw KctrError("\(path): cannot read \(entry): \(e.message)", hint: "the archive is truncated or corrupt")
        }
    }
}

/// Thrown by a readData body to stop reading an entry early.
struct StopReading: Error {}
