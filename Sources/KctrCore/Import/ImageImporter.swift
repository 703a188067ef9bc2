import Crypto
import Foundation
import KctrArchive
import KctrRPC

public struct ImportOptions: Sendable {
    public var platforms: ImportPlan.PlatformChoice = .node
    public var snapshotter: String?
    public var unpack = true
    public var pin = false
    public var digestNames = false
    public var name: String?

    public init() {}
}

/// One imported image, as `kctr import` reports it.
public struct ImportedImage: Codable, Sendable, Equatable {
    public var name: String
    public var digest: String
    public var mediaType: String
    public var platforms: [String]
    public var skippedPlatforms: [String]
    /// The image ID the kubelet sees (CRI ImageStatus), when CRI serves.
    public var criID: String?
    public var size: Int64
    /// The snapshotter it was unpacked for, or nil.
    public var unpackedFor: String?
    public var pinned: Bool
}

public struct ImportReport: Codable, Sendable, Equatable {
    public var images: [ImportedImage]
    /// Images the archive holds but that were not imported, and why.
    public var notImported: [String]
    public var blobsWritten: Int
    public var blobsPresent: Int
    public var bytesWritten: Int64
}

/// Imports an image archive into the namespace, the way the kubelet needs it:
/// content under a lease, GC labels as containerd's importer sets them,
/// image records, and layers unpacked for CRI's snapshotter.
public struct ImageImporter: Sendable {
    public let session: Session
    public var progress: ProgressSink?

    public init(session: Session, progress: ProgressSink? = nil) {
        self.session = session
        self.progress = progress
    }

    static let leaseExpiry: TimeInterval = 3600

    /// Imports the archive at `path`; `source` names it in messages (default: the path).
    public func run(path: String, source: String? = nil, options: ImportOptions) async throws -> ImportReport {
        let source = source ?? path
        let (plan, notImported) = try Self.plan(path: path, source: source, options: options)
        let isK8s = session.config.namespace == "k8s.io"
        let snapshotter = try await chooseSnapshotter(options)

        try await StaleImports(session: session).clean()
        let leaseID = StaleImports.name("lease")
        let expiry = Timestamps.utc(Date().timeIntervalSince1970 + Self.leaseExpiry)
        do {
            try await session.containerd.createLease(id: leaseID, labels: ["containerd.io/gc.expire": expiry])
        } catch {
            throw session.explain(error, doing: "creating a lease for the import")
        }
        let api = session.containerd.leased(leaseID)
        let created = CreatedRecords()
        do {
            let result = try await importLeased(path: path, source: source, leaseID: leaseID, plan: plan, api: api, snapshotter: snapshotter,
                                                options: options, isK8s: isK8s, notImported: notImported, created: created)
            try await releaseLease(leaseID)
            return result
        } catch {
            // Also after Ctrl-C: the lease goes, so nothing of this run survives GC.
            if Task.isCancelled {
                try? await releaseLease(leaseID)
                throw error
            }
            let cleanup = await cleanUp(leaseID)
            throw Self.annotate(KctrError.unexplained(error) ?? error, cleanup: cleanup, lease: leaseID,
                                namespace: session.config.namespace, waited: session.config.timeoutMilliseconds,
                                created: created.names)
        }
    }

    /// The archive catalogued, its documents verified, and its images named: what an import (or a
    /// dry run) will take, and the images it will not, with why.
    static func plan(path: String, source: String, options: ImportOptions) throws -> (ImportPlan, [String]) {
        let catalog = try ArchiveCatalog.scan(path: path, source: source)
        var plan = try ImportPlan.make(catalog, source: source, platforms: options.platforms)
        var notImported: [String] = []
        try name(&plan, options: options, notImported: &notImported)
        guard !plan.named.isEmpty else {
            throw KctrError("\(source): no image to import: \(notImported.joined(separator: "; "))",
                            hint: "name the image with --name REF, or import unnamed images under digest names with --digests")
        }
        return (plan, notImported)
    }

    private func releaseLease(_ id: String) async throws {
        let containerd = session.containerd
        try await Task.detached { try await containerd.deleteLease(id: id, sync: false) }.value
    }

    /// What became of the lease of a failed import.
    enum Cleanup: Equatable {
        /// Released at once (the daemon is up: a bad archive, a full disk...).
        case released
        /// The daemon went away and came back within the deadline; then released.
        case releasedAfterRestart
        /// The daemon did not come back within the deadline: the lease and its
        /// ingests stay until the next `kctr import` (StaleImports) or their expiry.
        case leftBehind
    }

    /// Releases the lease and aborts this run's ingests. When containerd went
    /// away (killed, restarting), waits for it up to the call deadline
    /// (--timeout), so that a daemon restarted by its supervisor keeps nothing
    /// of this run.
    private func cleanUp(_ leaseID: String) async -> Cleanup {
        let containerd = session.containerd
        let started = Timestamps.monotonic()
        let budget = Double(session.config.timeoutMilliseconds) / 1000
        var waited = false
        while true {
            // A daemon that stopped reading: no call can get through this connection any more.
            if containerd.rpc.channel.isWedged { return .leftBehind }
            do {
                try await releaseLease(leaseID)
                let own = StaleImports.ownPrefix
                try? await Task.detached {
                    for ref in try await containerd.activeIngests() where ref.hasPrefix(own) {
                        try? await containerd.abortIngest(ref: ref)
                    }
                }.value
                return waited ? .releasedAfterRestart : .released
            } catch let e as RPCError where e.code == .notFound {
                return waited ? .releasedAfterRestart : .released
            } catch let e as RPCError where e.code == .unavailable || e.code == .deadlineExceeded {
                let left = budget - (Timestamps.monotonic() - started)
                if left <= 0 || Task.isCancelled { return .leftBehind }
                waited = true
                session.debug("containerd is not answering (\(e.code.name)): waiting \(Int(left.rounded(.up)))s more to release lease \(leaseID)")
                try? await Task.sleep(nanoseconds: UInt64(min(0.25, left) * 1e9))
            } catch {
                session.debug("releasing lease \(leaseID): \(error)")
                return .leftBehind
            }
        }
    }


    /// Adds to the hint what became of this run's lease, when that is news.
    static func annotate(_ error: Error, cleanup: Cleanup, lease: String, namespace: String, waited: Int64,
                         created: [String] = []) -> Error {
        guard var e = error as? KctrError else { return error }
        var note: String
        let removed = created.isEmpty ? "kctr removed what this import had written"
            : "\(created.joined(separator: ", ")) had been imported whole (content, unpack and record) and stay, and kctr released the rest"
        switch cleanup {
        case .released:
            guard e.message.contains("no space left on the device") || !created.isEmpty else { return e }
            note = removed
        case .releasedAfterRestart:
            note = "containerd came back and \(removed); find out why it stopped (journalctl -u containerd), then run the import again"
        case .leftBehind:
            note = created.isEmpty ? "" : "\(created.joined(separator: ", ")) had been imported whole and stay; "
            note += "containerd did not answer again within \(DurationText.describe(milliseconds: waited))"
            if e.hint?.contains("journalctl") != true || e.hint == Session.stoppedHint {
                note += ": check systemctl status containerd and journalctl -u containerd"
            }
            note += "; once it is back, the next kctr import removes what this one left (lease \(lease) and its partial content), or remove it now with ctr -n \(namespace) leases rm \(lease)"
        }
        if cleanup != .released, e.hint == Session.stoppedHint { e.hint = note } else {
            e.hint = [e.hint, note].compactMap { $0 }.joined(separator: "; ")
        }
        return e
    }

    private func chooseSnapshotter(_ options: ImportOptions) async throws -> String {
        if let s = options.snapshotter { return s }
        if session.config.namespace == "k8s.io" {
            do {
                if let s = await session.criSnapshotter(status: try await session.cri.status(verbose: true)) { return s }
            } catch where Session.isCRIUnavailable(error) {
                session.debug("CRI is not serving: unpacking for overlayfs")
            } catch {
                throw session.explain(error, doing: "reading CRI's snapshotter")
            }
        }
        return "overlayfs"
    }

    static func name(_ plan: inout ImportPlan, options: ImportOptions, notImported: inout [String]) throws {
        if let name = options.name {
            guard plan.images.count == 1 else {
                throw KctrError.usage("--name names the single image of an archive, and this one holds \(plan.images.count)",
                                      hint: "import without --name to use the names stored in the archive")
            }
            guard let ref = ImageReference.parse(name) else {
                throw KctrError.usage("--name \(name) is not a valid image reference", hint: "e.g. registry.example.com/team/app:1.0")
            }
            plan.images[0].names = [ref.description]
        }
        let day = Timestamps.localDay(Date().timeIntervalSince1970)
        for i in plan.images.indices where plan.images[i].names.isEmpty {
            let id = plan.images[i].target?.digest ?? plan.images[i].dockerConfig?.digest ?? "?"
            if options.digestNames, let target = plan.images[i].target {
                plan.images[i].names = ["import-\(day)@\(target.digest)"]
            } else if options.digestNames, plan.images[i].dockerConfig != nil {
                plan.images[i].digestNamePrefix = "import-\(day)@"
            } else if let why = plan.images[i].invalidNames.first {
                notImported.append("image \(id), named \(why)")
            } else {
                notImported.append("unnamed image \(id)")
            }
        }
    }

    // MARK: the import under the lease

    private func importLeased(path: String, source: String, leaseID: String, plan: ImportPlan, api: ContainerdAPI, snapshotter: String,
                              options: ImportOptions, isK8s: Bool, notImported: [String],
                              created: CreatedRecords) async throws -> ImportReport {
        var plan = plan
        let needed = plan.neededBlobs
        progress?(.job(bytes: needed.values.reduce(0) { $0 + $1.size }, images: plan.named.count))
        let room = await ContentRoom.of(session.containerd, session: session)
        let upload = try await BlobUploader(api: api, session: session, progress: progress, room: room)
            .upload(path: path, archive: source, blobs: needed)
        // A blob found in the store, or committed by another client while this run wrote it, is put
        // under this import's lease explicitly: an `images rm` and GC racing the import cannot take it
        // before the labels below reference it (seen once in ConcurrencyTests on 1.6).
        do {
            for blob in upload.blobs.values where blob.existed {
                try await session.containerd.addLeaseResource(lease: leaseID, digest: blob.digest)
            }
        } catch {
            throw session.explain(error, doing: "adding the blobs already in the store to the import's lease")
        }

        // docker save: build a schema 2 manifest per image now that layer digests are known.
        for i in plan.images.indices where plan.format == "docker" && (!plan.images[i].names.isEmpty || plan.images[i].digestNamePrefix != nil) {
            try await buildDockerManifest(&plan.images[i], upload: upload, api: api)
            if let prefix = plan.images[i].digestNamePrefix, let target = plan.images[i].target {
                plan.images[i].names = [prefix + target.digest]
            }
        }
        var report = ImportReport(images: [], notImported: notImported, blobsWritten: upload.written,
                                  blobsPresent: upload.present, bytesWritten: upload.bytes)
        FaultPoint.importAfterUpload.reach()
        // Images are labelled, unpacked and recorded a few at a time: each step is a round trip to the daemon,
        // and an archive of many small images spent its time waiting for them one after the other. Images that
        // share layers unpack them once: the second commit of a layer finds it there (Unpacker.apply).
        let images = plan.images.filter { !$0.names.isEmpty }
        let done = try await boundedMap(Array(images.indices), limit: Self.imagesAtOnce) { n -> [ImportedImage] in
            try await finish(images[n], number: n + 1, api: api, snapshotter: snapshotter, options: options, isK8s: isK8s, created: created)
        }
        for n in images.indices { report.images += done[n] ?? [] }
        return report
    }

    /// How many images `importLeased` labels, unpacks and records at once.
    static let imagesAtOnce = 4

    /// Labels an uploaded image's content, unpacks it and creates its records; what was imported, by name.
    private func finish(_ image: ImportPlan.Image, number: Int, api: ContainerdAPI, snapshotter: String, options: ImportOptions,
                        isK8s: Bool, created: CreatedRecords) async throws -> [ImportedImage] {
        guard let target = image.target else { return [] }
        // Another image failed: the import stops (what is recorded stays, and the report says so).
        try Task.checkCancellation()
        progress?(.image(index: number, name: image.names[0]))
        try await labelChildren(image, api: api)
        var unpacked: String?
        if options.unpack {
            for m in image.manifests where m.platform.map({ $0.matches(.node) }) ?? true {
                try await Unpacker(api: api, session: session, snapshotter: snapshotter, progress: progress).unpack(m)
                unpacked = snapshotter
            }
        }
        var labels: [String: String] = [:]
        if isK8s { labels["io.cri-containerd.image"] = "managed" }
        if options.pin { labels["io.cri-containerd.pinned"] = "pinned" }
        let size = image.manifests.reduce(Int64(0)) { sum, m in
            sum + m.descriptor.size + m.config.size + m.layers.reduce(0) { $0 + $1.size }
        } + image.indexes.reduce(0) { $0 + $1.size }
        var imported: [ImportedImage] = []
        for name in image.names {
            try Task.checkCancellation()
            FaultPoint.importBeforeRecord.reach()
            try await saveRecord(name: name, target: target, labels: labels, api: api)
            created.add(name)
            FaultPoint.importAfterRecord.reach()
            var criID: String?
            if isK8s { criID = try await criImageID(name) }
            imported.append(ImportedImage(
                name: name, digest: target.digest, mediaType: target.mediaType ?? "",
                platforms: image.manifests.compactMap { $0.platform?.description }, skippedPlatforms: image.skippedPlatforms,
                criID: criID, size: size, unpackedFor: unpacked, pinned: options.pin))
        }
        return imported
    }

    private func buildDockerManifest(_ image: inout ImportPlan.Image, upload: UploadResult, api: ContainerdAPI) async throws {
        guard let config = image.dockerConfig else { return }
        var layers: [OCIDescriptor] = []
        for path in image.dockerLayerPaths {
            guard let done = upload.blobs[path] else { throw KctrError("layer \(path) was not uploaded") }
            let gzip = done.magic.starts(with: [0x1f, 0x8b])
            layers.append(OCIDescriptor(mediaType: gzip ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
                                                        : "application/vnd.docker.image.rootfs.diff.tar",
                                        digest: done.digest, size: done.size))
        }
        let manifest = OCIManifest(schemaVersion: 2, mediaType: MediaType.dockerManifest, config: config, layers: layers, annotations: nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let bytes = Array(try encoder.encode(manifest))
        let digest = Digest.sha256(bytes)
        try await BlobUploader.writeSmall(bytes, digest: digest, api: api, session: session)
        let descriptor = OCIDescriptor(mediaType: MediaType.dockerManifest, digest: digest, size: Int64(bytes.count))
        image.target = descriptor
        image.manifests[0].descriptor = descriptor
        image.manifests[0].layers = layers
    }

    /// containerd's GC references: index -> manifests, manifest -> config and layers.
    private func labelChildren(_ image: ImportPlan.Image, api: ContainerdAPI) async throws {
        do {
            for m in image.manifests {
                var labels = ["containerd.io/gc.ref.content.config": m.config.digest]
                for (i, layer) in m.layers.enumerated() { labels["containerd.io/gc.ref.content.l.\(i)"] = layer.digest }
                try await api.updateContentLabels(digest: m.descriptor.digest, labels: labels)
            }
            for index in image.indexes {
                var labels: [String: String] = [:]
                for (i, m) in image.manifests.enumerated() { labels["containerd.io/gc.ref.content.m.\(i)"] = m.descriptor.digest }
                try await api.updateContentLabels(digest: index.digest, labels: labels)
            }
        } catch {
            throw session.explain(error, doing: "labelling the imported content for garbage collection")
        }
    }

    /// Creates the record, or updates the existing one. As containerd's
    /// client does, an update that finds the record gone (an `images rm`
    /// between the two calls) creates it again.
    private func saveRecord(name: String, target: OCIDescriptor, labels: [String: String], api: ContainerdAPI) async throws {
        let record = ImageRecord(name: name, labels: labels,
                                 target: Descriptor(mediaType: target.mediaType ?? "", digest: target.digest, size: target.size))
        for _ in 0..<Self.maxRecordAttempts {
            do {
                _ = try await api.createImage(record)
                return
            } catch where error.code == .alreadyExists {
                do {
                    _ = try await api.updateImage(record, fields: ["target"] + labels.keys.sorted().map { "labels.\($0)" })
                    return
                } catch where error.code == .notFound {
                    session.debug("image \(name) was removed between create and update: creating it again")
                    continue
                } catch {
                    throw session.explain(error, doing: "updating image \(name)")
                }
            } catch {
                throw session.explain(error, doing: "creating image \(name)")
            }
        }
        throw KctrError("creating image \(name): it was removed and re-created by another client \(Self.maxRecordAttempts) times meanwhile",
                        hint: "another client is removing and creating \(name) in a loop; import again when it is done")
    }

    static let maxRecordAttempts = 10

    /// CRI learns of new images from containerd's events: give it a moment.
    private func criImageID(_ name: String) async throws -> String? {
        for attempt in 0..<40 {
            do {
                if let image = try await session.cri.imageStatus(name) { return image.id }
            } catch where Session.isCRIUnavailable(error) {
                return nil
            } catch {
                throw session.explain(error, doing: "checking \(name) through CRI")
            }
            if attempt < 39 { try await Task.sleep(nanoseconds: 50_000_000) }
        }
        return nil
    }
}

/// Names whose image record an import has created (each is complete when
/// created: content labelled, layers unpacked), for the failure report.
final class CreatedRecords: @unchecked Sendable {
    // @unchecked: `list` is guarded by `lock`.
    private let lock = NSLock()
    private var list: [String] = []

    func add(_ name: String) {
        lock.lock()
        list.append(name)
        lock.unlock()
    }

    var names: [String] {
        lock.lock()
        defer { lock.unlock() }
        return list
    }
}
