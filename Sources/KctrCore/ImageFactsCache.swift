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
/// not write in this run, so it is read as hostile: the directory and the file must belong to the user
/// running kctr and be writable by nobody else, the file must be a regular file (not followed as a link)
/// of at most `maxBytes`; a line that does not parse, or names a malformed digest or platform, is dropped
/// and its image read from containerd again. The file names the platform it was written for; a file of
/// another platform (or format) is ignored. Writes go to a temporary file renamed over the old one, so a
/// reader sees the old or the new file, never half of one.
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
    let euid: uid_t

    public init(directory: String, platform: Platform = .node, euid: uid_t = geteuid()) {
        self.directory = directory
        self.platform = platform.description
        self.euid = euid
    }

    var path: String { directory + "/" + Self.fileName }

    /// `KCTR_CACHE_DIR` when set (empty: no cache), else /var/cache/kctr for root, else none: a user
    /// other than root reads the blobs every time.
    public static func directory(environment: [String: String], euid: uid_t) -> String? {
        if let dir = environment["KCTR_CACHE_DIR"] { return dir.isEmpty ? nil : dir }
        return euid == 0 ? defaultDirectory : nil
    }

    /// The entries of the file; empty, with the reason, when there is no usable file.
    public func load() -> (entries: [String: Entry], note: String?) {
        if let bad = unsafeDirectory(mustExist: false) { return ([:], bad) }
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            let err = errno
            return ([:], err == ENOENT ? nil : "cannot open \(path): \(String(cString: strerror(err)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return ([:], "cannot stat \(path): \(String(cString: strerror(errno)))") }
        if let bad = unsafe(st, path, kind: S_IFREG) { return ([:], bad) }
        guard st.st_size <= Self.maxBytes else { return ([:], "\(path) is \(st.st_size) bytes, more than \(Self.maxBytes): ignored") }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var got = 0
        while got < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress?.advanced(by: got), $0.count - got) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            got += n
        }
        let parsed = Self.parse(String(decoding: bytes[..<got], as: UTF8.self), platform: platform)
        return (parsed.entries, parsed.dropped > 0 ? "\(path): \(parsed.dropped) malformed line(s) ignored" : nil)
    }

    /// Writes `entries` (at most `maxEntries`: `keep` first, then the others) in place of the file.
    public func store(_ entries: [String: Entry], keep: Set<String>) throws {
        if mkdir(directory, 0o700) != 0, errno != EEXIST {
            throw KctrError("cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        if let bad = unsafeDirectory(mustExist: true) { throw KctrError(bad) }
        let first = entries.keys.filter { keep.contains($0) }.sorted()
        let rest = entries.keys.filter { !keep.contains($0) }.sorted()
        let chosen = (first + rest).prefix(Self.maxEntries)
        var text = Self.format + " " + platform + "\n"
        for digest in chosen {
            if let e = entries[digest], let line = Self.line(digest, e) { text += line + "\n" }
        }
        var template = Array((path + ".XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buf -> Int32 in
            guard let base = buf.baseAddress else { return -1 }
            return mkstemp(base)
        }
        guard fd >= 0 else { throw KctrError("cannot create a temporary file in \(directory): \(String(cString: strerror(errno)))") }
        let temp = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var ok = fchmod(fd, 0o600) == 0
        let bytes = Array(text.utf8)
        var written = 0
        while ok, written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress?.advanced(by: written), $0.count - written) }
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
