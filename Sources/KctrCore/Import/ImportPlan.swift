import Foundation
import KctrRPC

/// What to import from an archive, decided from its metadata alone.
public struct ImportPlan: Sendable {
    public struct Manifest: Sendable {
        public var descriptor: OCIDescriptor
        public var platform: Platform?
        public var config: OCIDescriptor
        public var diffIDs: [String]
        public var layers: [OCIDescriptor]
    }

    public struct Image: Sendable {
        /// Normalised references; empty for an unnamed image.
        public var names: [String]
        /// The image record's target: an index or a manifest (nil until a
        /// docker-save manifest has been built after its layers are uploaded).
        public var target: OCIDescriptor?
        /// Intermediate indexes from the target down, for GC labels.
        public var indexes: [OCIDescriptor]
        public var manifests: [Manifest]
        public var skippedPlatforms: [String]
        /// docker-save: layer paths in order, digests known after upload.
        public var dockerLayerPaths: [String]
        public var dockerConfig: OCIDescriptor?
        /// `--digests` on a docker-save image with no tag: "import-<date>@", completed with
        /// the manifest digest once kctr has built the manifest.
        public var digestNamePrefix: String? = nil
        /// Names the archive gives this image that are not valid references, each with the reason.
        public var invalidNames: [String] = []
    }

    /// A blob to stream from the archive: its path and, when the archive
    /// names it, its digest (docker-save layers are digested while read).
    public struct Blob: Sendable, Equatable {
        public var path: String
        public var digest: String?
        public var size: Int64
        /// The entry's first bytes (gzip or not), from the first pass.
        public var magic: [UInt8] = []
        /// docker save: the diff ID the (verified) config names for this layer, which an
        /// uncompressed layer's bytes must hash to.
        public var diffID: String? = nil
    }

    /// The one refusal for bytes that do not hash to the digest naming them, whoever finds it
    /// (the plan for documents, the uploader for blobs) and whatever the store already holds.
    static func mismatch(source: String, _ what: String, expected: String, computed: String) -> KctrError {
        let named = what.contains(expected) ? "" : " \(expected)"
        return KctrError("\(source): \(what) does not match its digest\(named) (its bytes hash to \(computed))",
                         hint: "the archive is corrupt or was modified; kctr imported nothing from it: get the archive again from a source you trust")
    }

    public var format: String
    public var images: [Image]
    public var blobs: [String: Blob]

    /// The images an import takes: those with a name (or a digest name to come).
    var named: [Image] { images.filter { !$0.names.isEmpty || $0.digestNamePrefix != nil } }

    /// What the named images need from the archive: docker layers and configs, or every planned
    /// blob of an OCI layout.
    var neededBlobs: [String: Blob] {
        guard format == "docker" else { return blobs }
        let wanted = Set(named.flatMap { image -> [String] in
            var paths = image.dockerLayerPaths
            if let c = image.dockerConfig, let p = blobs.first(where: { $0.value.digest == c.digest })?.key { paths.append(p) }
            return paths
        })
        return blobs.filter { wanted.contains($0.key) }
    }

    /// Which platforms to take from a multi-platform index.
    public enum PlatformChoice: Sendable {
        case node
        case some([Platform])
        case all

        /// From `--platform` values and `--all-platforms` (unparsable values are dropped: validate first).
        public static func from(platforms: [String], all: Bool) -> PlatformChoice {
            if all { return .all }
            let parsed = platforms.compactMap(Platform.parse)
            return parsed.isEmpty ? .node : .some(parsed)
        }

        /// "linux/amd64" and "linux/arm/v7" are platforms; "amd64" is not.
        public static func isPlatform(_ text: String) -> Bool { Platform.parse(text) != nil }

        func accepts(_ p: Platform?) -> Bool {
            switch self {
            case .all: return true
            case .node: return p.map { $0.matches(.node) } ?? true
            case .some(let list): return p.map { p in list.contains { $0.matches(p) } } ?? true
            }
        }
    }

    public static func make(_ catalog: ArchiveCatalog, source: String, platforms: PlatformChoice) throws -> ImportPlan {
        if catalog.entries["index.json"] != nil {
            var plan = try oci(catalog, source: source, platforms: platforms)
            // Docker 25+ `docker save` writes an OCI layout and a manifest.json whose RepoTags may name
            // more tags than index.json: every one is imported, as `docker load` does.
            if catalog.entries["manifest.json"] != nil { try addDockerTags(&plan, catalog, source: source) }
            return plan
        }
        if catalog.entries["manifest.json"] != nil {
            return try docker(catalog, source: source)
        }
        if catalog.entries.isEmpty {
            throw KctrError("\(source) is empty or not an archive", hint: "give a tar written by docker save, ctr export, skopeo or kctr export")
        }
        throw KctrError("\(source) holds neither index.json (OCI layout) nor manifest.json (docker save)",
                        hint: "give a tar written by docker save, ctr export, skopeo or kctr export")
    }

    /// References (index entries, manifests, layers, docker-save images and layers) one archive may
    /// name in all: far more than any real archive, few enough to plan in well under a second.
    public static let maxReferences = 100_000
    /// The largest blob a descriptor may claim, as for a tar entry: 1 TiB.
    public static let maxBlobSize: Int64 = 1 << 40

    /// One `make`'s walk over the archive's documents: each document is decoded (and hashed) once
    /// however often it is named, and references are counted, so that a small archive whose
    /// indexes name the same index thousands of times cannot keep kctr busy for hours.
    final class Walk {
        let catalog: ArchiveCatalog
        let source: String
        private var references = 0
        private var decoded: [String: Any] = [:]
        private var digests: [String: String] = [:]

        init(_ catalog: ArchiveCatalog, source: String) {
            self.catalog = catalog
            self.source = source
        }

        func count(_ n: Int) throws {
            references += n
            guard references <= ImportPlan.maxReferences else {
                throw KctrError("\(source): the archive names more than \(ImportPlan.maxReferences) manifests and layers",
                                hint: "kctr refuses it as malformed or hostile; if it is genuine, split it into smaller archives")
            }
        }

        func decode<T: Decodable>(_ type: T.Type, _ path: String, what: String, present: Bool = false) throws -> T {
            let key = "\(T.self) \(path)"
            if let value = decoded[key] as? T { return value }
            let value = try ImportPlan.decode(T.self, try catalog.document(path), what: what, source: source, present: present)
            decoded[key] = value
            return value
        }

        func sha256(_ path: String, _ bytes: [UInt8]) -> String {
            if let digest = digests[path] { return digest }
            let digest = Digest.sha256(bytes)
            digests[path] = digest
            return digest
        }

        /// The document a descriptor names, decoded only once its bytes hash to the descriptor's
        /// digest and have its size: nothing is believed (planned, labelled) from unverified bytes.
        func verified<T: Decodable>(_ type: T.Type, _ d: OCIDescriptor, what: String) throws -> T {
            let path = try ImportPlan.blobPath(d.digest, source: source)
            guard let (real, _) = try catalog.resolve(path) else {
                throw KctrError("\(source): \(what) is missing from the archive", hint: "the archive is incomplete: export it again")
            }
            if let bytes = catalog.json[real] {
                let key = "\(real) \(d.digest)"
                let computed = digests[key] ?? Digest.of(bytes, like: d.digest)
                digests[key] = computed
                guard computed == d.digest else { throw ImportPlan.mismatch(source: source, what, expected: d.digest, computed: computed) }
                guard Int64(bytes.count) == d.size else {
                    throw KctrError("\(source): \(what) is \(bytes.count) bytes in the archive but its descriptor says \(d.size)",
                                    hint: "the archive is corrupt or was modified; kctr imported nothing from it: get the archive again from a source you trust")
                }
            }
            return try decode(T.self, path, what: what, present: true)
        }

        /// A descriptor's size must be one a tar entry can have; sums of sizes then cannot overflow.
        func checkSize(_ d: OCIDescriptor) throws {
            guard d.size >= 0 && d.size <= ImportPlan.maxBlobSize else {
                throw KctrError("\(source): the descriptor of \(d.digest) claims \(d.size) bytes, outside 0 to 1 TiB",
                                hint: "the archive is corrupt or crafted: do not import it")
            }
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]?, what: String, source: String,
                                     present: Bool = false) throws -> T {
        guard let bytes else {
            if present {
                throw KctrError("\(source): \(what) is not a JSON document of at most \(ArchiveCatalog.maxJSONEntry >> 20) MiB",
                                hint: "the archive is corrupt or not an image archive")
            }
            throw KctrError("\(source): \(what) is missing from the archive", hint: "the archive is incomplete: export it again")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw KctrError("\(source): \(what) is not valid JSON of the expected shape (\(error))", hint: "the archive is corrupt or not an image archive")
        }
    }

    static func blobPath(_ digest: String, source: String? = nil) throws -> String {
        guard Digest.isVerifiable(digest) else {
            let shown = digest.utf8.count > 140 ? String(decoding: digest.utf8.prefix(140), as: UTF8.self) + "..." : digest
            throw KctrError("\(source.map { "\($0): " } ?? "")invalid digest \(shown) in the archive: kctr verifies every blob and knows sha256, sha384 and sha512 digests only",
                            hint: "the archive is corrupt or crafted: do not import it")
        }
        let parts = digest.split(separator: ":", maxSplits: 1)
        return "blobs/\(parts[0])/\(parts[1])"
    }

    // MARK: OCI image layout

    static func oci(_ catalog: ArchiveCatalog, source: String, platforms: PlatformChoice) throws -> ImportPlan {
        let walk = Walk(catalog, source: source)
        let index = try walk.decode(OCIIndex.self, "index.json", what: "index.json", present: try catalog.resolve("index.json") != nil)
        var plan = ImportPlan(format: "oci", images: [], blobs: [:])
        try walk.count(index.manifests.count)
        for entry in index.manifests {
            var image = Image(names: [], target: entry, indexes: [], manifests: [], skippedPlatforms: [],
                              dockerLayerPaths: [], dockerConfig: nil)
            switch imageName(entry.annotations) {
            case .name(let name): image.names = [name]
            case .invalid(let why): image.invalidNames = [why]
            case .none: break
            }
            try collect(entry, platform: entry.platform?.platform, into: &image, plan: &plan, walk: walk,
                        platforms: platforms, depth: 0)
            plan.images.append(image)
        }
        return plan
    }

    enum Naming: Equatable {
        case name(String)
        /// The archive names the image, but not with a valid reference: what it says and why.
        case invalid(String)
        case none
    }

    /// `io.containerd.image.name`, else `org.opencontainers.image.ref.name`
    /// when it is a whole reference (a bare tag such as "1.0" is not a name).
    static func imageName(_ annotations: [String: String]?) -> Naming {
        var found = Naming.none
        let candidates = [annotations?["io.containerd.image.name"], annotations?["org.opencontainers.image.ref.name"]]
        for case let c? in candidates where c.contains("/") || c.contains(":") || c.contains("@") {
            if let ref = ImageReference.parse(c) { return .name(ref.description) }
            if found == .none { found = .invalid(invalidName(c)) }
        }
        return found
    }

    /// "\"NAME\" is not a valid image reference: WHY", the name cut to 200 characters.
    static func invalidName(_ text: String) -> String {
        let shown = text.utf8.count > 200 ? String(decoding: text.utf8.prefix(200), as: UTF8.self) + "..." : text
        return "\"\(shown)\" is not a valid image reference: \(ImageReference.problem(text) ?? "it does not parse")"
    }

    /// A docker-save manifest.json next to an OCI layout: its RepoTags are added to the images whose
    /// config they name (the config's digest is in its member name, blobs/sha256/<hex>).
    static func addDockerTags(_ plan: inout ImportPlan, _ catalog: ArchiveCatalog, source: String) throws {
        let walk = Walk(catalog, source: source)
        let entries = try walk.decode([DockerManifest].self, "manifest.json", what: "manifest.json",
                                      present: try catalog.resolve("manifest.json") != nil)
        try walk.count(entries.count)
        for entry in entries {
            guard let config = dockerNamedDigest(entry.Config) else { continue }
            let names = try dockerNames(entry, source: source)
            for i in plan.images.indices where plan.images[i].manifests.contains(where: { $0.config.digest == config }) {
                for name in names where !plan.images[i].names.contains(name) { plan.images[i].names.append(name) }
            }
        }
    }

    /// An entry's RepoTags as normalised references; an invalid one refuses the archive, naming why.
    static func dockerNames(_ entry: DockerManifest, source: String) throws -> [String] {
        try (entry.RepoTags ?? []).map { tag in
            guard let ref = ImageReference.parse(tag) else {
                throw KctrError("\(source): \(invalidName(tag)) (in manifest.json)", hint: "fix the tag or pass --name")
            }
            return ref.description
        }
    }

    static func collect(_ d: OCIDescriptor, platform: Platform?, into image: inout Image, plan: inout ImportPlan,
                        walk: Walk, platforms: PlatformChoice, depth: Int) throws {
        let catalog = walk.catalog, source = walk.source
        try walk.checkSize(d)
        guard depth < 4 else { throw KctrError("\(source): indexes nested more than 4 deep", hint: "the archive is malformed") }
        let mediaType = d.mediaType ?? ""
        let path = try blobPath(d.digest, source: source)
        let present = try catalog.resolve(path) != nil
        if MediaType.isIndex(mediaType) {
            guard present else { throw KctrError("\(source): index \(d.digest) is missing from the archive", hint: "the archive is incomplete: export it again") }
            let index = try walk.verified(OCIIndex.self, d, what: "index \(d.digest)")
            try walk.count(index.manifests.count)
            image.indexes.append(d)
            plan.blobs[path] = Blob(path: path, digest: d.digest, size: d.size)
            for child in index.manifests {
                let p = child.platform?.platform
                if MediaType.isManifest(child.mediaType ?? "") && !platforms.accepts(p) { continue }
                if MediaType.isManifest(child.mediaType ?? ""), try catalog.resolve(try blobPath(child.digest, source: source)) == nil {
                    image.skippedPlatforms.append(p?.description ?? child.digest)
                    continue
                }
                try collect(child, platform: p, into: &image, plan: &plan, walk: walk, platforms: platforms, depth: depth + 1)
            }
            return
        }
        guard MediaType.isManifest(mediaType) else {
            throw KctrError("\(source): unsupported media type \(mediaType) for \(d.digest)",
                            hint: "kctr imports OCI and docker schema 2 images (manifests and indexes)")
        }
        guard present else {
            throw KctrError("\(source): manifest \(d.digest) is missing from the archive", hint: "the archive is incomplete: export it again")
        }
        let manifest = try walk.verified(OCIManifest.self, d, what: "manifest \(d.digest)")
        try walk.count(manifest.layers.count)
        try walk.checkSize(manifest.config)
        let configPath = try blobPath(manifest.config.digest, source: source)
        let config = try walk.verified(OCIImageConfig.self, manifest.config, what: "config \(manifest.config.digest)")
        var blobs = [Blob(path: path, digest: d.digest, size: d.size),
                     Blob(path: configPath, digest: manifest.config.digest, size: manifest.config.size)]
        for layer in manifest.layers {
            try walk.checkSize(layer)
            let lp = try blobPath(layer.digest, source: source)
            guard try catalog.resolve(lp) != nil else {
                throw KctrError("\(source): manifest \(d.digest) names layer \(layer.digest), which the archive does not contain",
                                hint: "the archive is incomplete: export it again (with ctr, add --all-platforms or the node's --platform)")
            }
            blobs.append(Blob(path: lp, digest: layer.digest, size: layer.size))
        }
        for b in blobs { plan.blobs[b.path] = b }
        let diffIDs = config.rootfs?.diffIDs ?? []
        guard diffIDs.count == manifest.layers.count else {
            throw KctrError("\(source): image \(d.digest) has \(manifest.layers.count) layers but its config lists \(diffIDs.count) diff IDs",
                            hint: "the image is malformed")
        }
        let configPlatform = config.os.map { Platform(os: $0, architecture: config.architecture ?? "", variant: config.variant ?? "") }
        image.manifests.append(Manifest(descriptor: d, platform: platform ?? configPlatform, config: manifest.config,
                                        diffIDs: diffIDs, layers: manifest.layers))
    }

    // MARK: docker save

    /// One entry of `docker save`'s manifest.json (read on import, written on export).
    struct DockerManifest: Codable {
        var Config: String
        var RepoTags: [String]?
        var Layers: [String]
    }

    /// The digest a docker-save member's name states: "blobs/sha256/<hex>" or "<hex>.json" (older
    /// docker save names configs so).
    static func dockerNamedDigest(_ path: String) -> String? {
        let name = ArchiveCatalog.normalize(path)
        if name.hasPrefix("blobs/") { return try? digestOfBlobPath(name) }
        guard name.hasSuffix(".json") else { return nil }
        let digest = "sha256:" + name.dropLast(5)
        return Digest.isValid(digest) ? digest : nil
    }

    /// "blobs/<algorithm>/<hex>" -> "<algorithm>:<hex>", for a digest kctr can verify.
    static func digestOfBlobPath(_ path: String) throws -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        let digest = parts.count == 3 ? "\(parts[1]):\(parts[2])" : ""
        guard Digest.isVerifiable(digest) else {
            throw KctrError("\(path) is not a blob kctr can verify (blobs/<sha256|sha384|sha512>/<hex>)",
                            hint: "the archive is corrupt or crafted: do not import it")
        }
        return digest
    }

    static func docker(_ catalog: ArchiveCatalog, source: String) throws -> ImportPlan {
        let walk = Walk(catalog, source: source)
        let entries = try walk.decode([DockerManifest].self, "manifest.json", what: "manifest.json",
                                      present: try catalog.resolve("manifest.json") != nil)
        var plan = ImportPlan(format: "docker", images: [], blobs: [:])
        try walk.count(entries.count)
        for entry in entries {
            try walk.count(entry.Layers.count)
            let configBytes = try catalog.document(entry.Config)
            let config = try walk.decode(OCIImageConfig.self, entry.Config, what: "config \(entry.Config)")
            guard let configBytes, let (configPath, _) = try catalog.resolve(entry.Config) else {
                throw KctrError("\(source): config \(entry.Config) is missing", hint: "the archive is incomplete")
            }
            let configDescriptor = OCIDescriptor(mediaType: MediaType.dockerConfig, digest: walk.sha256(configPath, configBytes),
                                                 size: Int64(configBytes.count))
            // docker save names the config by its digest ("<hex>.json", or blobs/sha256/<hex> since Docker 25).
            if let named = dockerNamedDigest(entry.Config), named != configDescriptor.digest {
                throw mismatch(source: source, "config \(entry.Config)", expected: named, computed: configDescriptor.digest)
            }
            plan.blobs[configPath] = Blob(path: configPath, digest: configDescriptor.digest, size: configDescriptor.size)
            let diffIDs = config.rootfs?.diffIDs ?? []
            guard diffIDs.count == entry.Layers.count else {
                throw KctrError("\(source): \(entry.Config) lists \(diffIDs.count) diff IDs for \(entry.Layers.count) layers", hint: "the image is malformed")
            }
            var layerPaths: [String] = []
            for (layer, diffID) in zip(entry.Layers, diffIDs) {
                guard let (real, e) = try catalog.resolve(layer) else {
                    throw KctrError("\(source): layer \(layer) named by manifest.json is missing from the archive", hint: "the archive is incomplete")
                }
                layerPaths.append(real)
                let digest = real.hasPrefix("blobs/") ? try digestOfBlobPath(real) : nil
                if let known = plan.blobs[real], known.diffID != diffID {
                    throw KctrError("\(source): layer \(real) is named with two diff IDs, \(known.diffID ?? "none") and \(diffID)",
                                    hint: "the archive is corrupt or crafted: do not import it")
                }
                plan.blobs[real] = Blob(path: real, digest: digest, size: e.size, magic: e.magic, diffID: diffID)
            }
            let names = try dockerNames(entry, source: source)
            let platform = config.os.map { Platform(os: $0, architecture: config.architecture ?? "", variant: config.variant ?? "") }
            plan.images.append(Image(names: names, target: nil, indexes: [], manifests: [
                Manifest(descriptor: OCIDescriptor(mediaType: MediaType.dockerManifest, digest: "", size: 0), platform: platform,
                         config: configDescriptor, diffIDs: diffIDs, layers: []),
            ], skippedPlatforms: [], dockerLayerPaths: layerPaths, dockerConfig: configDescriptor))
        }
        return plan
    }
}
