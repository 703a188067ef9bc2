import Foundation
import KctrRPC

/// What `kctr import --dry-run` finds: the archive read and verified whole (every document and
/// every blob hashed against its descriptor) without writing to containerd, and what an import
/// would do on this node.
public struct ImportDryRun: Codable, Sendable, Equatable {
    public struct Image: Codable, Sendable, Equatable {
        /// The names an import would give it.
        public var names: [String]
        /// The image record's target (a docker-save image's is the manifest kctr would build).
        public var digest: String
        public var platforms: [String]
        /// Platforms a multi-platform index names whose manifests the archive does not hold.
        public var missingPlatforms: [String]
        public var blobs: Int
        public var size: Int64
        /// Of `blobs`, how many the node's content store already has (nil when that is unknown).
        public var blobsOnNode: Int?
    }

    public var archive: String
    /// "oci" or "docker".
    public var format: String
    public var images: [Image]
    /// Images of the archive an import would not take, and why.
    public var notImported: [String]
    /// Every blob read and hashed.
    public var blobs: Int
    public var bytes: Int64
    /// The digests the node's content store already has (nil when that is unknown).
    public var onNode: [String]?
    /// Why kctr cannot tell what the node has (no daemon, an RPC error), else nil.
    public var nodeUnknown: String?
    /// True when an import would take every image of the archive under every name it gives.
    public var complete: Bool

    /// 0 when an import would take everything the archive names; 1 otherwise (a refusal is thrown).
    public var exitCode: Int32 { complete ? 0 : 1 }
}

extension ImageImporter {
    /// Reads and verifies the archive at `path` as an import would, writes nothing. `session` is
    /// nil when no daemon could be set up (`unreachable` says why): then what is present is unknown.
    public static func dryRun(path: String, source: String? = nil, options: ImportOptions, session: Session?,
                              unreachable: String? = nil, progress: ProgressSink? = nil) async throws -> ImportDryRun {
        let source = source ?? path
        let (plan, notImported) = try plan(path: path, source: source, options: options)
        progress?(.job(bytes: plan.neededBlobs.values.reduce(0) { $0 + $1.size }, images: plan.named.count))
        progress?(.step("verifying"))
        let verified = try await BlobUploader(api: nil, session: session, progress: progress)
            .upload(path: path, archive: source, blobs: plan.neededBlobs)
        var onNode: Set<String>?
        var unknown = unreachable
        if let session {
            do {
                var found: Set<String> = []
                for digest in Set(verified.blobs.values.map(\.digest)).sorted()
                where try await session.store.contentInfo(digest: digest) != nil {
                    found.insert(digest)
                }
                onNode = found
            } catch {
                unknown = "\(session.explain(error, doing: "asking containerd which blobs the node has"))"
            }
        }
        var images: [ImportDryRun.Image] = []
        for image in plan.named {
            var digests: [String]
            var size: Int64
            var target = image.target?.digest ?? ""
            if plan.format == "docker" {
                let layers = image.dockerLayerPaths.compactMap { verified.blobs[$0] }
                digests = (image.dockerConfig.map { [$0.digest] } ?? []) + layers.map(\.digest)
                size = (image.dockerConfig?.size ?? 0) + layers.reduce(0) { $0 + $1.size }
                target = image.dockerConfig.map { "config " + $0.digest } ?? ""
            } else {
                digests = image.indexes.map(\.digest) + image.manifests.flatMap { [$0.descriptor.digest, $0.config.digest] + $0.layers.map(\.digest) }
                size = image.indexes.reduce(0) { $0 + $1.size }
                    + image.manifests.reduce(0) { $0 + $1.descriptor.size + $1.config.size + $1.layers.reduce(0) { $0 + $1.size } }
            }
            digests = Array(Set(digests)).sorted()
            var names = image.names
            if names.isEmpty, let prefix = image.digestNamePrefix { names = [prefix + "<the manifest kctr builds>"] }
            images.append(.init(names: names, digest: target, platforms: image.manifests.compactMap { $0.platform?.description },
                                missingPlatforms: image.skippedPlatforms, blobs: digests.count, size: size,
                                blobsOnNode: onNode.map { on in digests.filter(on.contains).count }))
        }
        let invalid = plan.images.flatMap(\.invalidNames)
        return ImportDryRun(archive: source, format: plan.format, images: images, notImported: notImported,
                            blobs: verified.blobs.count, bytes: verified.blobs.values.reduce(0) { $0 + $1.size },
                            onNode: onNode.map { Array($0).sorted() }, nodeUnknown: unknown,
                            complete: notImported.isEmpty && invalid.isEmpty)
    }
}
