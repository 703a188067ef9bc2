import Foundation
import KctrRPC

extension ImageCatalog {
    /// The image `ref` names: the exact record, its normalised name, or the
    /// one image a short form (`pause:3.9`, `kctr/multi`) matches.
    public func record(named ref: String) async throws -> ImageRecord {
        var candidates = [ref]
        if let normal = ImageReference.parse(ref)?.description, normal != ref { candidates.append(normal) }
        for name in candidates {
            do {
                if let record = try await session.store.image(named: name) { return record }
            } catch {
                throw session.explain(error, doing: "looking up image \(name)")
            }
        }
        let all: [ImageRecord]
        do {
            all = try await session.store.images()
        } catch {
            throw session.explain(error, doing: "listing images")
        }
        let matches = all.filter { !Digest.isValid($0.name) && ImageCatalog.matches($0.name, pattern: ref) }
        if matches.count == 1, let only = matches.first { return only }
        if matches.count > 1 {
            throw KctrError("\(ref) names several images: \(matches.map(\.name).sorted().joined(separator: ", "))",
                            hint: "give the full name")
        }
        throw KctrError("image \(ref) not found in namespace \(session.config.namespace)",
                        hint: "list the images with `kctr images ls`, or pass -n for another namespace")
    }

    /// Removes each image; keeps going past failures. Returns (removed names, errors). `check` may refuse
    /// a record (by throwing) before it is removed.
    public func remove(_ refs: [String], sync: Bool,
                       check: (ImageRecord) throws -> Void = { _ in }) async -> (removed: [String], failures: [Error]) {
        var removed: [String] = []
        var failures: [Error] = []
        for ref in refs {
            do {
                let record = try await record(named: ref)
                try check(record)
                do {
                    try await session.containerd.deleteImage(name: record.name, sync: sync)
                } catch where error.code == .notFound {
                    // Found, then gone: another client removed it in between.
                    throw KctrError("image \(record.name) not found in namespace \(session.config.namespace): another client removed it first",
                                    hint: "list the images with `kctr images ls`")
                } catch {
                    throw session.explain(error, doing: "removing image \(record.name)")
                }
                removed.append(record.name)
            } catch {
                failures.append(error)
            }
        }
        return (removed, failures)
    }

    /// Gives the image `source` more names. An existing name is an error
    /// unless `force`, which points it at the source's target.
    public func tag(_ source: String, as targets: [String], force: Bool) async throws -> [String] {
        let record = try await record(named: source)
        var done: [String] = []
        for target in targets {
            guard let ref = ImageReference.parse(target) else {
                throw KctrError.usage("\(target) is not a valid image reference", hint: "e.g. registry.example.com/team/app:1.0")
            }
            let copy = ImageRecord(name: ref.description, labels: record.labels, target: record.target)
            do {
                _ = try await session.containerd.createImage(copy)
            } catch where error.code == .alreadyExists && force {
                do {
                    _ = try await session.containerd.updateImage(copy, fields: ["target"])
                } catch {
                    throw session.explain(error, doing: "retargeting \(copy.name)")
                }
            } catch where error.code == .alreadyExists {
                throw KctrError("image \(copy.name) already exists", hint: "pass --force to point it at \(record.name)")
            } catch {
                throw session.explain(error, doing: "creating image \(copy.name)")
            }
            done.append(copy.name)
        }
        return done
    }

    /// crictl's `inspecti` document for `ref`: `status` (CRI's Image) and each entry of the runtime's verbose info, with
    /// kctr's inspection (record, index, manifests, configs, layers, unpacked) under `kctr`. Without `status` and
    /// `info` when CRI does not know the image (another containerd namespace than k8s.io, or no CRI plugin).
    public func inspectDocument(_ ref: String) async throws -> JSONValue {
        let inspection = try await inspect(ref)
        let mine = try CRIDocument.encoded(inspection)
        let out: [String: JSONValue] = ["kctr": mine]
        guard session.config.namespace == Workloads.criNamespace else { return .object(out) }
        let report: ImageStatusReport
        do {
            report = try await session.cri.imageStatus(inspection.name, verbose: true)
        } catch where Session.isCRIUnavailable(error) {
            return .object(out)
        } catch {
            throw session.explain(error, doing: "reading CRI's status of image \(inspection.name)")
        }
        guard let image = report.image else { return .object(out) }
        return CRIDocument.adding(mine.object ?? [:], to: CRIDocument.status(CRIDocument.message(image), info: report.info))
    }

    /// Everything about an image: record, index, each platform's manifest,
    /// config and layers, and what CRI and the snapshotter say.
    public func inspect(_ ref: String) async throws -> ImageInspection {
        let record = try await record(named: ref)
        let reader = BlobJSONReader(api: session.store)
        let top = OCIDescriptor(mediaType: record.target.mediaType, digest: record.target.digest, size: record.target.size)
        var result = ImageInspection(name: record.name, labels: record.labels, target: top, index: nil, manifests: [])
        var entries: [OCIDescriptor] = [top]
        do {
            if MediaType.isIndex(record.target.mediaType) {
                let index: OCIIndex = try await reader.json(top)
                result.index = index
                entries = index.manifests.filter { MediaType.isManifest($0.mediaType ?? "") }
            }
            for entry in entries {
                var m = ImageInspection.PlatformManifest(descriptor: entry, platform: entry.platform?.platform.description,
                                                         present: false, config: nil, configDigest: nil, layers: [],
                                                         chainID: nil, unpacked: nil)
                guard try await session.store.contentInfo(digest: entry.digest) != nil else {
                    result.manifests.append(m)
                    continue
                }
                m.present = true
                let manifest: OCIManifest = try await reader.json(entry)
                let configBytes = try await reader.bytes(manifest.config)
                let config = JSONValue.parse(String(decoding: configBytes, as: UTF8.self))
                let parsed: OCIImageConfig = try reader.decode(configBytes, manifest.config)
                m.config = config
                m.configDigest = manifest.config.digest
                m.layers = manifest.layers
                if m.platform == nil, let os = parsed.os {
                    m.platform = Platform(os: os, architecture: parsed.architecture ?? "", variant: parsed.variant ?? "").description
                }
                m.chainID = Digest.chainID(parsed.rootfs?.diffIDs ?? [])
                if let chain = m.chainID {
                    m.unpacked = try await session.store.snapshot(snapshotter: "overlayfs", key: chain) != nil
                }
                result.manifests.append(m)
            }
        } catch let e as RPCError {
            throw session.explain(e, doing: "reading image \(record.name)")
        }
        return result
    }
}

public struct ImageInspection: Codable, Sendable, Equatable {
    public struct PlatformManifest: Codable, Sendable, Equatable {
        public var descriptor: OCIDescriptor
        public var platform: String?
        /// Whether the manifest is in the content store (other platforms often are not).
        public var present: Bool
        public var config: JSONValue?
        public var configDigest: String?
        public var layers: [OCIDescriptor]
        public var chainID: String?
        /// A committed overlayfs snapshot of the whole layer stack exists.
        public var unpacked: Bool?
    }

    public var name: String
    public var labels: [String: String]
    public var target: OCIDescriptor
    public var index: OCIIndex?
    public var manifests: [PlatformManifest]
}
