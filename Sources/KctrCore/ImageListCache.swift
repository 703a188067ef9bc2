import Foundation
import KctrRPC

/// What `images ls` last read for a namespace: containerd's image records, CRI's images and snapshotter,
/// and what each target resolved to (platforms, size, config, chain ID, unpacked). It is kept with the
/// `StoreStamp` taken when it was read, and used only while the stamp is the same: the same daemon process,
/// its metadata file not written since, and that reading made at least `StoreStamp.settleNanoseconds` after
/// the file's last change. Then nothing containerd or CRI would answer has changed, and a listing makes no
/// call at all. Any write to containerd's metadata (a pull, a tag, a container created, a lease, a garbage
/// collection) changes the stamp, and the next listing reads the daemon again.
///
/// One file per namespace, `<cache directory>/image-list.<namespace>` (CacheFile: owner-only, no links,
/// `maxBytes`). It is hostile input: the whole file is ignored unless its header names this format, platform,
/// kctr build, namespace, socket and stamp, and every line parses (digests, sizes, platforms checked). Lines are
/// tab-separated fields; a field escapes `\`, tab, newline and carriage return with a backslash, and `\-`
/// alone is an absent value.
struct ImageListCache: Sendable {
    static let format = "kctr-image-list 1"
    /// 5,000 names with their labels take about 1.5 MB.
    static let maxBytes = 64 << 20

    /// What a listing read, before it is filtered and joined into rows.
    struct Reading: Sendable, Equatable {
        var records: [ImageRecord]
        /// CRI's images; nil when CRI was not asked (another namespace, names only).
        var cri: [CRIImage]?
        /// The snapshotter CRI named, when it did.
        var snapshotter: String?
        /// By target digest.
        var resolved: [String: ImageCatalog.Resolved]
    }

    let file: CacheFile
    let header: String

    /// nil for a namespace that is not a plain file name (containerd's own rule for namespaces makes them
    /// one, but the name comes from the command line).
    init?(directory: String, namespace: String, address: String, platform: Platform = .node, euid: uid_t = geteuid()) {
        let allowed = { (b: UInt8) in (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x2E || b == 0x5F || b == 0x2D }
        guard !namespace.isEmpty, namespace.utf8.count <= 76, namespace.utf8.allSatisfy(allowed), namespace.first != "." else { return nil }
        file = CacheFile(directory: directory, name: "image-list." + namespace, maxBytes: Self.maxBytes, euid: euid)
        // The build too: what a reading's targets resolved to is what this kctr's code made of their blobs.
        var h: [UInt8] = Array((Self.format + "\t" + platform.description + "\t").utf8)
        Self.put(KctrVersion.revision, &h)
        h.append(0x09)
        Self.put(namespace, &h)
        h.append(0x09)
        Self.put(address, &h)
        header = String(decoding: h, as: UTF8.self)
    }

    var path: String { file.path }

    /// The reading kept under `stamp`; nil with the reason when there is none (no reason: no file).
    func load(stamp: StoreStamp) -> (reading: Reading?, note: String?) {
        let (bytes, note) = file.read()
        guard let bytes else { return (nil, note) }
        switch Self.decode(bytes, header: header + "\t" + stamp.text) {
        case .success(let reading): return (reading, nil)
        case .failure(let why): return (nil, "\(path): \(why.message)")
        }
    }

    func store(_ reading: Reading, stamp: StoreStamp) throws {
        try file.write(Self.encode(reading, header: header + "\t" + stamp.text))
    }

    // MARK: the file's lines
    //
    // header
    // N  snapshotter  cri(0|1)
    // D  mediaType  digest  size                      a target; the n-th D line is target n
    // L  key value [key value]...                     a label set; the n-th L line is set n
    // I  name  target  labelSet  created              an image record; created: the Double's bits in hex, or \-
    // C  id  size  pinned(0|1)  tags  name...         a CRI image: `tags` repo tags, then its repo digests
    // T  digest  size  platforms  manifest  config  chainID  unpacked(0|1)   what a target resolved to
    //
    // A listing has thousands of names and few targets and label sets: each I line holds only its name.

    static func encode(_ r: Reading, header: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(r.records.count * 64 + 4096)
        out += Array(header.utf8)
        out.append(0x0A)
        line(&out, ["N", r.snapshotter, r.cri == nil ? "0" : "1"])
        var targets: [Descriptor: Int] = [:]
        var labelSets: [[String: String]: Int] = [:]
        for rec in r.records {
            let target = Descriptor(mediaType: rec.target.mediaType, digest: rec.target.digest, size: rec.target.size)
            if targets[target] == nil {
                targets[target] = targets.count
                line(&out, ["D", target.mediaType, target.digest, String(target.size)])
            }
            if labelSets[rec.labels] == nil {
                labelSets[rec.labels] = labelSets.count
                line(&out, ["L"] + rec.labels.keys.sorted().flatMap { [$0, rec.labels[$0]] })
            }
            line(&out, ["I", rec.name, String(targets[target] ?? 0), String(labelSets[rec.labels] ?? 0),
                        rec.createdAt.map { String($0.bitPattern, radix: 16) }])
        }
        for image in r.cri ?? [] {
            let names: [String?] = (image.repoTags + image.repoDigests).map { $0 }
            line(&out, ["C", image.id, String(image.size), image.pinned ? "1" : "0", String(image.repoTags.count)] + names)
        }
        for digest in r.resolved.keys.sorted() {
            guard let t = r.resolved[digest] else { continue }
            line(&out, ["T", digest, String(t.size), t.platforms.map(\.description).joined(separator: ","), t.manifestDigest,
                        t.configDigest, t.chainID, t.unpacked ? "1" : "0"])
        }
        return out
    }

    struct Malformed: Error { let message: String }

    static func decode(_ bytes: [UInt8], header: String) -> Result<Reading, Malformed> {
        bytes.withUnsafeBufferPointer { decode($0, header: Array(header.utf8)) }
    }

    private static func decode(_ buf: UnsafeBufferPointer<UInt8>, header: [UInt8]) -> Result<Reading, Malformed> {
        var r = Reading(records: [], cri: nil, snapshotter: nil, resolved: [:])
        var targets: [Descriptor] = []
        var labelSets: [[String: String]] = []
        var sawSettings = false
        var f: [Range<Int>] = []  // the fields of the current line
        var start = 0
        var number = 0
        func bad() -> Result<Reading, Malformed> { .failure(Malformed(message: "line \(number) does not parse: the file is ignored")) }
        /// Field i: nil for `\-` or a malformed escape (use `opt` where `\-` is allowed).
        func text(_ i: Int) -> String? { string(buf, f[i]) ?? nil }
        func opt(_ i: Int) -> String?? { string(buf, f[i]) }
        func int(_ i: Int) -> Int? {
            let range = f[i]
            guard !range.isEmpty, range.count <= 18 else { return nil }
            var v = 0
            for k in range {
                let c = buf[k]
                guard c >= 0x30, c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
        while start < buf.count {
            number += 1
            var end = start
            while end < buf.count, buf[end] != 0x0A { end += 1 }
            defer { start = end + 1 }
            if number == 1 {
                guard UnsafeBufferPointer(rebasing: buf[start..<end]).elementsEqual(header) else {
                    return .failure(Malformed(message: "written for another daemon state, namespace or socket: not used"))
                }
                continue
            }
            f.removeAll(keepingCapacity: true)
            var fieldStart = start
            for k in start..<end where buf[k] == 0x09 {
                f.append(fieldStart..<k)
                fieldStart = k + 1
            }
            f.append(fieldStart..<end)
            guard f[0].count == 1 else { return bad() }
            switch buf[f[0].lowerBound] {
            case 0x49:  // I
                guard sawSettings, f.count == 5, let name = text(1), let t = int(2), t < targets.count, let l = int(3), l < labelSets.count,
                      let createdField = opt(4) else { return bad() }
                var created: Double?
                if let c = createdField {
                    guard c.utf8.count <= 16, let bits = UInt64(c, radix: 16), Double(bitPattern: bits).isFinite else { return bad() }
                    created = Double(bitPattern: bits)
                }
                r.records.append(ImageRecord(name: name, labels: labelSets[l], target: targets[t], createdAt: created))
            case 0x44:  // D
                guard f.count == 4, let mediaType = text(1), let digest = text(2), Digest.isValid(digest), let size = int(3) else { return bad() }
                targets.append(Descriptor(mediaType: mediaType, digest: digest, size: Int64(size)))
            case 0x4C:  // L
                guard f.count % 2 == 1 else { return bad() }
                var labels: [String: String] = [:]
                for i in stride(from: 1, to: f.count, by: 2) {
                    guard let k = text(i), let v = text(i + 1) else { return bad() }
                    labels[k] = v
                }
                labelSets.append(labels)
            case 0x4E:  // N
                guard f.count == 3, !sawSettings, let snapshotter = opt(1), let cri = text(2), cri == "0" || cri == "1" else { return bad() }
                sawSettings = true
                r.snapshotter = snapshotter
                r.cri = cri == "1" ? [] : nil
            case 0x43:  // C
                guard r.cri != nil, f.count >= 5, let id = text(1), let size = int(2), let pinned = text(3), pinned == "0" || pinned == "1",
                      let tags = int(4), tags <= f.count - 5 else { return bad() }
                var names: [String] = []
                names.reserveCapacity(f.count - 5)
                for i in 5..<f.count {
                    guard let n = text(i) else { return bad() }
                    names.append(n)
                }
                r.cri?.append(CRIImage(id: id, repoTags: Array(names[..<tags]), repoDigests: Array(names[tags...]), size: UInt64(size),
                                       pinned: pinned == "1"))
            case 0x54:  // T
                guard f.count == 8, let digest = text(1), Digest.isValid(digest), let size = int(2), let platformText = text(3),
                      let manifest = opt(4), let config = opt(5), let chain = opt(6), let unpacked = text(7), unpacked == "0" || unpacked == "1",
                      [manifest, config, chain].allSatisfy({ $0.map(Digest.isValid) ?? true }) else { return bad() }
                let platforms = platformText.isEmpty ? [] : platformText.split(separator: ",", omittingEmptySubsequences: false)
                    .map { ImageFactsCache.parsePlatform(String($0)) }
                guard platforms.allSatisfy({ $0 != nil }) else { return bad() }
                r.resolved[digest] = ImageCatalog.Resolved(size: Int64(size), platforms: platforms.compactMap { $0 }, manifestDigest: manifest,
                                                           configDigest: config, chainID: chain, unpacked: unpacked == "1")
            default:
                return bad()
            }
        }
        guard number > 0 else { return .failure(Malformed(message: "is empty: not used")) }
        guard sawSettings else { return .failure(Malformed(message: "has no settings line: the file is ignored")) }
        // Every record's target must be there: the reading was whole when it was kept.
        guard r.records.allSatisfy({ r.resolved[$0.target.digest] != nil }) else {
            return .failure(Malformed(message: "names an image whose target it does not describe: the file is ignored"))
        }
        return .success(r)
    }

    /// The field's text: `.some(nil)` for `\-`, nil for a malformed escape.
    private static func string(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String?? {
        let raw = UnsafeBufferPointer(rebasing: buf[range])
        guard raw.contains(0x5C) else { return .some(String(decoding: raw, as: UTF8.self)) }
        if raw.count == 2, raw[1] == 0x2D { return .some(nil) }
        var bytes: [UInt8] = []
        var escaped = false
        for b in raw {
            if escaped {
                switch b {
                case 0x5C: bytes.append(0x5C)
                case 0x74: bytes.append(0x09)
                case 0x6E: bytes.append(0x0A)
                case 0x72: bytes.append(0x0D)
                default: return nil
                }
                escaped = false
            } else if b == 0x5C {
                escaped = true
            } else {
                bytes.append(b)
            }
        }
        return escaped ? nil : .some(String(decoding: bytes, as: UTF8.self))
    }

    private static func line(_ out: inout [UInt8], _ fields: [String?]) {
        for (i, f) in fields.enumerated() {
            if i > 0 { out.append(0x09) }
            if let f { put(f, &out) } else { out += [0x5C, 0x2D] }
        }
        out.append(0x0A)
    }

    /// `s` with `\`, tab, newline and carriage return escaped.
    private static func put(_ s: String, _ out: inout [UInt8]) {
        for b in s.utf8 {
            switch b {
            case 0x5C: out += [0x5C, 0x5C]
            case 0x09: out += [0x5C, 0x74]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x0D: out += [0x5C, 0x72]
            default: out.append(b)
            }
        }
    }
}

/// The `cache` fuzz target (Sources/KctrFuzz): the bytes are a file of kctr's cache directory, parsed as
/// `images ls` parses its two files. The listing's header is whatever the input's first line is, so that
/// inputs get past it.
public enum CacheFileFuzzing {
    public static func parse(_ bytes: [UInt8]) {
        let header = bytes.split(separator: 0x0A, maxSplits: 1, omittingEmptySubsequences: false).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        if case .success(let reading) = ImageListCache.decode(bytes, header: header) {
            // What is decoded encodes back to what decodes the same.
            let again = ImageListCache.encode(reading, header: header)
            guard case .success(let second) = ImageListCache.decode(again, header: header), second == reading else {
                fatalError("an image listing does not round-trip through its file format")
            }
        }
        _ = ImageFactsCache.parse(String(decoding: bytes, as: UTF8.self), platform: "linux/amd64")
    }
}
