import Foundation
import KctrRPC

/// One row of `kctr images ls`: containerd's record joined with what the
/// content store, the snapshotter and CRI say about it.
public struct ImageSummary: Codable, Sendable, Equatable {
    public struct CRIView: Codable, Sendable, Equatable {
        /// CRI lists the image (the kubelet can use it by this name).
        public var known: Bool
        /// CRI's image ID (the config digest).
        public var id: String?
        public var pinned: Bool
    }

    public var name: String
    public var digest: String
    public var mediaType: String
    /// Bytes of content for the node's platform: index, manifest, config, layers.
    public var size: Int64
    public var platforms: [String]
    /// The config digest: what CRI calls the image ID.
    public var configDigest: String?
    public var chainID: String?
    public var snapshotter: String
    /// A committed snapshot of the whole layer stack exists.
    public var unpacked: Bool
    public var cri: CRIView?
    public var labels: [String: String]
    public var createdAt: String?
    /// Why the image could not be read completely (missing content...).
    public var problem: String?
}

/// Reads the store and builds `ImageSummary` rows.
public struct ImageCatalog: Sendable {
    public let session: Session
    /// How many reads are in flight at once on the channel.
    public var concurrency = 64

    public init(session: Session) { self.session = session }

    /// CRI's duplicate `sha256:<config>` image records.
    public static func isDigestName(_ name: String) -> Bool { Digest.isValid(name) }

    /// - Parameter resolve: false for names only (`-q`): no content, CRI or snapshot reads.
    public func list(includeDigestNames: Bool, pattern: String?, resolve: Bool = true) async throws -> [ImageSummary] {
        let start = StoreStamp.now()
        let listCache = session.config.cacheDirectory.flatMap {
            ImageListCache(directory: $0, namespace: session.config.namespace, address: session.config.endpoint.path)
        }
        var stamp: StoreStamp?
        if listCache != nil {
            do {
                stamp = try session.storeStamp.stamp()
            } catch {
                session.debug("image list cache: not used: \(error.message)")
            }
        }
        let wantCRI = session.config.namespace == "k8s.io" && resolve
        if let listCache, let stamp {
            let (kept, note) = listCache.load(stamp: stamp)
            if let note { session.debug("image list cache: \(note)") }
            if let kept, kept.cri != nil || !wantCRI {
                let ms = Double((StoreStamp.now() - start) / 100_000) / 10
                session.debug("image list cache: containerd (pid \(stamp.pid)) has not written its metadata since \(Timestamps.utc(Double(stamp.modified) / 1e9)): \(kept.records.count) name(s) from \(listCache.path) in \(ms) ms, no call made")
                return rows(kept, includeDigestNames: includeDigestNames, pattern: pattern, resolve: resolve)
            }
        }
        // Without a pattern every image is resolved, so that the reading can be kept whole.
        let reading = try await read(wantCRI: wantCRI, resolve: resolve, pattern: pattern)
        if let listCache, let stamp, resolve, pattern == nil, reading.resolved.values.allSatisfy({ $0.problem == nil }),
           reading.cri != nil || !wantCRI {
            keep(reading, in: listCache, stamp: stamp, readSince: start)
        }
        return rows(reading, includeDigestNames: includeDigestNames, pattern: pattern, resolve: resolve)
    }

    /// Keeps `reading` when the daemon's metadata was settled before the reading began and did not change
    /// while it was read.
    private func keep(_ reading: ImageListCache.Reading, in listCache: ImageListCache, stamp: StoreStamp, readSince start: Int64) {
        guard stamp.settled(at: start) else {
            session.debug("image list cache: containerd wrote its metadata less than \(StoreStamp.settleNanoseconds / 1_000_000) ms before this listing: not kept")
            return
        }
        do {
            guard try session.storeStamp.stamp() == stamp else {
                session.debug("image list cache: containerd wrote its metadata during this listing: not kept")
                return
            }
            try listCache.store(reading, stamp: stamp)
        } catch {
            session.debug("image list cache: not kept: \(error)")
        }
    }

    /// Images.List, CRI's view and what the images' targets resolve to (only the targets of names that
    /// match `pattern`).
    private func read(wantCRI: Bool, resolve: Bool, pattern: String?) async throws -> ImageListCache.Reading {
        let store = session.store
        async let recordsCall = store.images()
        // CRI only knows the k8s.io namespace; a disabled CRI plugin leaves the CRI columns empty.
        async let criCall: (images: [CRIImage], snapshotter: String?)? = wantCRI ? criView() : nil
        // Read while the daemon answers.
        let cache = resolve ? session.config.cacheDirectory.map { ImageFactsCache(directory: $0) } : nil
        async let cacheLoad = cache?.load() ?? ([:], nil)
        let records: [ImageRecord]
        do {
            records = try await recordsCall
        } catch {
            throw session.explain(error, doing: "listing images in namespace \(session.config.namespace)")
        }
        let criState = try await criCall
        let snapshotter = criState?.snapshotter ?? "overlayfs"
        // Many names share few targets: resolve each target once.
        var targets: [String: Descriptor] = [:]
        for r in records where pattern.map({ ImageCatalog.matches(r.name, pattern: $0) }) ?? true { targets[r.target.digest] = r.target }
        let resolved = resolve ? await resolveAll(Array(targets.values), snapshotter: snapshotter, cache: cache, loaded: await cacheLoad) : [:]
        return ImageListCache.Reading(records: records, cri: criState?.images, snapshotter: criState?.snapshotter, resolved: resolved)
    }

    /// The rows of a reading: names filtered, each joined with its target and CRI's image.
    private func rows(_ reading: ImageListCache.Reading, includeDigestNames: Bool, pattern: String?, resolve: Bool) -> [ImageSummary] {
        let snapshotter = reading.snapshotter ?? "overlayfs"
        let criImages = resolve ? reading.cri : nil
        var byTag: [String: CRIImage] = [:]
        var byID: [String: CRIImage] = [:]
        for image in criImages ?? [] {
            byID[image.id] = image
            for n in image.repoTags { byTag[n] = image }
            for n in image.repoDigests { byTag[n] = image }
        }
        // Thousands of names share a few targets, and tags made together share their creation second.
        let platforms = reading.resolved.mapValues { $0.platforms.map(\.description) }
        var seconds: [Double: String] = [:]
        var rows: [ImageSummary] = []
        rows.reserveCapacity(reading.records.count)
        for record in reading.records {
            if !includeDigestNames, ImageCatalog.isDigestName(record.name) { continue }
            if let pattern, !ImageCatalog.matches(record.name, pattern: pattern) { continue }
            let r = resolve ? reading.resolved[record.target.digest] ?? Resolved(problem: "not resolved") : Resolved()
            var cri: ImageSummary.CRIView?
            if criImages != nil {
                let match = byTag[record.name] ?? byID[record.name]
                cri = ImageSummary.CRIView(known: match != nil, id: match?.id ?? r.configDigest, pinned: match?.pinned ?? false)
            }
            var created: String?
            if let at = record.createdAt {
                let second = ((at * 1000).rounded() / 1000).rounded(.down)
                created = seconds[second] ?? Timestamps.utc(second)
                seconds[second] = created
            }
            rows.append(ImageSummary(
                name: record.name, digest: record.target.digest, mediaType: record.target.mediaType,
                size: r.size, platforms: resolve ? platforms[record.target.digest] ?? [] : [], configDigest: r.configDigest,
                chainID: r.chainID, snapshotter: snapshotter, unpacked: r.unpacked, cri: cri, labels: record.labels,
                createdAt: created, problem: r.problem))
        }
        // containerd lists names in byte order already: then there is nothing to sort.
        if zip(rows, rows.dropFirst()).allSatisfy({ $0.name <= $1.name }) { return rows }
        return rows.sorted { $0.name < $1.name }
    }

    private func criView() async throws -> (images: [CRIImage], snapshotter: String?)? {
        do {
            async let images = session.cri.listImages()
            async let status = session.cri.status(verbose: true)
            let snapshotter = await session.criSnapshotter(status: try await status)
            return (try await images, snapshotter)
        } catch where Session.isCRIUnavailable(error) {
            session.debug("CRI is not serving: the CRI columns stay empty")
            return nil
        } catch {
            throw session.explain(error, doing: "reading CRI's image list")
        }
    }

    struct Resolved: Sendable, Equatable {
        var size: Int64 = 0
        var platforms: [Platform] = []
        var manifestDigest: String?
        var configDigest: String?
        var chainID: String?
        var unpacked = false
        var problem: String?
    }

    /// What each target's blobs say (from ImageFactsCache where it has the target; the targets read from
    /// containerd are added to it), then which of their layer stacks are unpacked. For the known ones, the
    /// check that their blobs are still there and the unpacked check are asked at once, while the others
    /// are read: a warm listing makes one round of calls after Images.List.
    private func resolveAll(_ targets: [Descriptor], snapshotter: String, cache: ImageFactsCache?,
                            loaded: (entries: [String: ImageFactsCache.Entry], note: String?)) async -> [String: Resolved] {
        var (entries, note) = loaded
        if let note { session.debug("image cache: \(note)") }
        let hits = targets.filter { entries[$0.digest] != nil }
        if let cache { session.debug("image cache \(cache.directory): \(hits.count) of \(targets.count) image(s) known") }
        async let absentCall = absentBlobs(hits.compactMap { t in entries[t.digest].map { (t.digest, $0) } })
        let knownChains = Set(hits.compactMap { entries[$0.digest]?.chainID })
        async let knownUnpacked = unpacked(knownChains, snapshotter: snapshotter)
        var out = await readAll(targets.filter { entries[$0.digest] == nil })
        let absent = await absentCall
        if !absent.isEmpty {
            session.debug("image cache: \(absent.count) known image(s) miss a blob in the namespace: read again")
            for d in absent { entries[d] = nil }
            out.merge(await readAll(hits.filter { absent.contains($0.digest) })) { _, new in new }
        }
        var added = 0
        for t in targets {
            if let e = entries[t.digest] {
                out[t.digest] = Resolved(size: e.size, platforms: e.platforms, manifestDigest: e.manifestDigest,
                                         configDigest: e.configDigest, chainID: e.chainID)
            } else if let r = out[t.digest], r.problem == nil, let manifest = r.manifestDigest, let config = r.configDigest {
                entries[t.digest] = ImageFactsCache.Entry(size: r.size, platforms: r.platforms, manifestDigest: manifest,
                                                          configDigest: config, chainID: r.chainID)
                added += 1
            }
        }
        if let cache, added > 0 || note != nil {
            do {
                try cache.store(entries, keep: Set(targets.map(\.digest)))
            } catch {
                session.debug("image cache: \(error)")
            }
        }
        let chains = Set(out.values.compactMap { $0.problem == nil ? $0.chainID : nil })
        var present = await knownUnpacked
        if case .success(let known) = present, !chains.isSubset(of: knownChains) {
            let more = await unpacked(chains.subtracting(knownChains), snapshotter: snapshotter)
            present = more.map { known.union($0) }
        }
        switch present {
        case .success(let names):
            for (digest, r) in out where r.problem == nil { out[digest]?.unpacked = r.chainID.map(names.contains) ?? false }
        case .failure(let error):
            for (digest, r) in out where r.problem == nil && r.chainID != nil { out[digest]?.problem = "\(error)" }
        }
        return out
    }

    /// Which of `chains` the snapshotter has (one Snapshots.List).
    private func unpacked(_ chains: Set<String>, snapshotter: String) async -> Result<Set<String>, Error> {
        guard !chains.isEmpty else { return .success([]) }
        do {
            return .success(try await session.store.existingSnapshots(snapshotter: snapshotter, keys: chains.sorted()))
        } catch {
            return .failure(error)
        }
    }

    /// The targets (of `known`) whose target, manifest or config blob the namespace no longer has: one
    /// Content.List naming them all (filters are ORed). All of them when the call fails.
    private func absentBlobs(_ known: [(String, ImageFactsCache.Entry)]) async -> Set<String> {
        guard !known.isEmpty else { return [] }
        let wanted = Set(known.flatMap { [$0.0, $0.1.manifestDigest, $0.1.configDigest] })
        do {
            // Quoted: a digest's ':' is not a bare filter value; digests hold no quote to escape.
            let present = Set(try await session.store.contentList(filters: wanted.sorted().map { "digest==\"\($0)\"" }).map(\.digest))
            return Set(known.filter { d, e in ![d, e.manifestDigest, e.configDigest].allSatisfy(present.contains) }.map(\.0))
        } catch {
            session.debug("image cache: cannot check the blobs of known images: \(error)")
            return Set(known.map(\.0))
        }
    }

    /// `readBlobs` of each target, `concurrency` at a time, by target digest.
    private func readAll(_ targets: [Descriptor]) async -> [String: Resolved] {
        // readBlobs reports what went wrong in its Resolved and never throws, so neither does this map.
        let byTarget = (try? await boundedMap(targets, limit: concurrency) { await readBlobs($0) }) ?? [:]
        return Dictionary(byTarget.map { ($0.key.digest, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// Walks index -> node manifest -> config, then looks for the snapshot.
    func resolve(_ target: Descriptor, snapshotter: String) async -> Resolved {
        var r = await readBlobs(target)
        if r.problem == nil, let chain = r.chainID {
            do {
                r.unpacked = try await session.store.snapshot(snapshotter: snapshotter, key: chain) != nil
            } catch {
                r.problem = "\(error)"
            }
        }
        return r
    }

    /// What the index, the node's manifest and its config say: the cacheable part of `Resolved`.
    private func readBlobs(_ target: Descriptor) async -> Resolved {
        var r = Resolved()
        let reader = BlobJSONReader(api: session.store)
        do {
            var manifestDescriptor = OCIDescriptor(mediaType: target.mediaType, digest: target.digest, size: target.size)
            r.size = 0
            if MediaType.isIndex(target.mediaType) {
                let index: OCIIndex = try await reader.json(manifestDescriptor)
                r.size += target.size
                let entries = index.manifests.filter { $0.mediaType.map(MediaType.isManifest) ?? true }
                r.platforms = entries.compactMap { $0.platform?.platform }
                guard let pick = entries.first(where: { $0.platform.map { $0.platform.matches(.node) } ?? false })
                    ?? (entries.count == 1 ? entries.first : nil) else {
                    r.problem = "no manifest for \(Platform.node)"
                    return r
                }
                manifestDescriptor = pick
            } else if !MediaType.isManifest(target.mediaType) {
                r.problem = "unsupported media type \(target.mediaType)"
                return r
            }
            let manifest: OCIManifest = try await reader.json(manifestDescriptor)
            let config: OCIImageConfig = try await reader.json(manifest.config)
            r.size += manifestDescriptor.size + manifest.config.size + manifest.layers.reduce(0) { $0 + $1.size }
            if r.platforms.isEmpty, let os = config.os, let arch = config.architecture {
                r.platforms = [Platform(os: os, architecture: arch, variant: config.variant ?? "")]
            }
            r.manifestDigest = manifestDescriptor.digest
            r.configDigest = manifest.config.digest
            r.chainID = Digest.chainID(config.rootfs?.diffIDs ?? [])
        } catch let e as RPCError where e.code == .notFound {
            r.problem = "content missing: \(e.message)"
        } catch {
            r.problem = "\(error)"
        }
        return r
    }

    /// Glob (`*`, `?`) on the full name when the pattern has one. Otherwise
    /// the pattern matches the name, its normalised form, its repository, or
    /// a trailing part of its repository with or without the tag:
    /// `pause` and `pause:3.9` both match `registry.k8s.io/pause:3.9`.
    public static func matches(_ name: String, pattern: String) -> Bool {
        if pattern.contains("*") || pattern.contains("?") {
            return glob(Array(name), Array(pattern))
        }
        if name == pattern { return true }
        guard let have = ImageReference.parse(name) else { return false }
        if let want = ImageReference.parse(pattern) {
            if want.description == name { return true }
            if !pattern.contains(":"), !pattern.contains("@"), want.repository == have.repository { return true }
        }
        let components = ([have.domain] + have.path.split(separator: "/").map(String.init))
        for k in 1...components.count {
            let tail = components.suffix(k).joined(separator: "/")
            if pattern == tail { return true }
            if let tag = have.tag, pattern == "\(tail):\(tag)" { return true }
            if let digest = have.digest, pattern == "\(tail)@\(digest)" { return true }
        }
        return false
    }

    static func glob(_ s: [Character], _ p: [Character]) -> Bool {
        var si = 0, pi = 0, star = -1, mark = 0
        while si < s.count {
            if pi < p.count, p[pi] == "?" || p[pi] == s[si] {
                si += 1; pi += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi; mark = si; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; si = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}

/// Reads small JSON blobs (indexes, manifests, configs) and checks them.
struct BlobJSONReader: Sendable {
    let api: any ContainerdStoreCalls

    func json<T: Decodable>(_ d: OCIDescriptor) async throws -> T {
        try decode(try await bytes(d), d)
    }

    /// The blob's bytes, checked against its digest.
    func bytes(_ d: OCIDescriptor) async throws -> [UInt8] {
        let bytes = try await api.readBlob(digest: d.digest, size: d.size)
        guard Digest.sha256(bytes) == d.digest else {
            throw KctrError("content \(d.digest) does not match its digest", hint: "the content store is corrupt: remove and re-import the image")
        }
        return bytes
    }

    func decode<T: Decodable>(_ bytes: [UInt8], _ d: OCIDescriptor) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw KctrError("cannot parse \(d.mediaType ?? "blob") \(d.digest): \(error)")
        }
    }
}
