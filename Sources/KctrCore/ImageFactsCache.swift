import Foundation
import KctrRPC

/// What `images ls` read from an image's blobs (index, manifest, config), kept on disk by the image's
/// target digest: content is addressed by its digest, so what was read for one never changes. A warm
/// listing reads none of those blobs again. What can change is asked every time, in one call each for all
/// images: whether the namespace still has the three blobs (Content.List; a missing one sends the image down
/// the reading path, which reports it), and whether the image is unpacked (Snapshots.List).
///
/// One file, `<directory>/image-facts`; the default directory is /var/cache/kctr (root only; see
/// `directory(environment:euid:)`), and `rm -rf /var/cache/kctr` clears it. The file is input kctr did
/// not write in this run: CacheFile checks its owner, mode, kind and size, and a line that does not parse,
/// or names a malformed digest or platform, is dropped and its image read from containerd again. The file
/// names the platform it was written for; a file of another platform (or format) is ignored.
public struct ImageFactsCache: Sendable {
    public static let defaultDirectory = "/var/cache/kctr"
    static let fileName = "image-facts"
    static let format = "kctr-image-facts 2"
    /// A line is ~300 bytes: `maxEntries` of them fit in `maxBytes`.
    static let maxBytes = 8 << 20
    static let maxEntries = 20_000

    /// What one target digest resolved to on the node's platform.
    public struct Entry: Sendable, Equatable {
        public var size: Int64
        public var platforms: [Platform]
        /// The node's manifest: the target itself, or the one its index names for the node.
        public var manifestDigest: String
        public var configDigest: String
        public var chainID: String?

        public init(size: Int64, platforms: [Platform], manifestDigest: String, configDigest: String, chainID: String?) {
            self.size = size
            self.platforms = platforms
            self.manifestDigest = manifestDigest
            self.configDigest = configDigest
            self.chainID = chainID
        }
    }

    public let directory: String
    let platform: String
    let file: CacheFile

    public init(directory: String, platform: Platform = .node, euid: uid_t = geteuid()) {
        self.directory = directory
        self.platform = platform.description
        self.file = CacheFile(directory: directory, name: Self.fileName, maxBytes: Self.maxBytes, euid: euid)
    }

    var path: String { file.path }

    /// `KCTR_CACHE_DIR` when set (empty: no cache), else /var/cache/kctr for root, else none: a user
    /// other than root reads the blobs every time.
    public static func directory(environment: [String: String], euid: uid_t) -> String? {
        if let dir = environment["KCTR_CACHE_DIR"] { return dir.isEmpty ? nil : dir }
        return euid == 0 ? defaultDirectory : nil
    }

    /// The entries of the file; empty, with the reason, when there is no usable file.
    public func load() -> (entries: [String: Entry], note: String?) {
        let (bytes, note) = file.read()
        guard let bytes else { return ([:], note) }
        let parsed = Self.parse(String(decoding: bytes, as: UTF8.self), platform: platform)
        return (parsed.entries, parsed.dropped > 0 ? "\(path): \(parsed.dropped) malformed line(s) ignored" : nil)
    }

    /// Writes `entries` (at most `maxEntries`: `keep` first, then the others) in place of the file.
    public func store(_ entries: [String: Entry], keep: Set<String>) throws {
        let first = entries.keys.filter { keep.contains($0) }.sorted()
        let rest = entries.keys.filter { !keep.contains($0) }.sorted()
        let chosen = (first + rest).prefix(Self.maxEntries)
        var text = Self.format + " " + platform + "\n"
        for digest in chosen {
            if let e = entries[digest], let line = Self.line(digest, e) { text += line + "\n" }
        }
        try file.write(Array(text.utf8))
    }

    // MARK: the file's lines

    /// `<target digest> <size> <manifest digest> <config digest> <chain ID or -> <platform>[,<platform>...]`; nil for an
    /// entry whose strings could break the format (they came from an image's JSON).
    static func line(_ digest: String, _ e: Entry) -> String? {
        guard Digest.isValid(digest), Digest.isValid(e.manifestDigest), Digest.isValid(e.configDigest), e.size >= 0,
              e.chainID.map(Digest.isValid) ?? true, !e.platforms.isEmpty,
              e.platforms.allSatisfy({ parsePlatform($0.description) == $0 }) else { return nil }
        return "\(digest) \(e.size) \(e.manifestDigest) \(e.configDigest) \(e.chainID ?? "-") "
            + e.platforms.map(\.description).joined(separator: ",")
    }

    /// The entries of a file written for `platform`, and how many lines were dropped.
    static func parse(_ text: String, platform: String) -> (entries: [String: Entry], dropped: Int) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        guard let header = lines.first, header == Substring(format + " " + platform) else {
            return ([:], lines.isEmpty ? 0 : lines.count)
        }
        var out: [String: Entry] = [:]
        var dropped = 0
        for line in lines.dropFirst() {
            let f = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 6, Digest.isValid(f[0]), let size = Int64(f[1]), size >= 0, Digest.isValid(f[2]),
                  Digest.isValid(f[3]), f[4] == "-" || Digest.isValid(f[4]) else {
                dropped += 1
                continue
            }
            let platforms = f[5].split(separator: ",", omittingEmptySubsequences: false).map { parsePlatform(String($0)) }
            guard !platforms.isEmpty, platforms.allSatisfy({ $0 != nil }) else {
                dropped += 1
                continue
            }
            out[f[0]] = Entry(size: size, platforms: platforms.compactMap { $0 }, manifestDigest: f[2], configDigest: f[3],
                              chainID: f[4] == "-" ? nil : f[4])
        }
        return (out, dropped)
    }

    /// "os/arch" or "os/arch/variant" of [a-z0-9._-], as a platform; nil otherwise.
    static func parsePlatform(_ s: String) -> Platform? {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let allowed = { (p: String) in !p.isEmpty && p.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D } }
        guard parts.count == 2 || parts.count == 3, parts.allSatisfy(allowed) else { return nil }
        return Platform(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : "")
    }
}
