import Foundation
import KctrRPC

/// `kctr df`: where the image filesystem's bytes are, what holds them, and how close the node is to
/// the kubelet's image GC and disk eviction thresholds.
public struct DiskReport: Codable, Sendable, Equatable {
    public struct Amount: Codable, Sendable, Equatable {
        public var count: Int
        public var bytes: Int64
        public var inodes: Int64?

        public init(count: Int = 0, bytes: Int64 = 0, inodes: Int64? = nil) {
            self.count = count
            self.bytes = bytes
            self.inodes = inodes
        }

        mutating func add(_ bytes: Int64, inodes: Int64? = nil) {
            count += 1
            self.bytes += bytes
            if let inodes { self.inodes = (self.inodes ?? 0) + inodes }
        }
    }

    public struct Filesystem: Codable, Sendable, Equatable {
        public var usage: FilesystemUsage
        /// What lives there: "content store", "snapshotter overlayfs", "metadata", "kubelet root".
        public var holds: [String]
    }

    public struct Totals: Codable, Sendable, Equatable {
        /// Compressed blobs, each digest once across namespaces (one file in the content store).
        public var content = Amount()
        /// Committed snapshots: unpacked image layers.
        public var imageLayers = Amount()
        /// Active snapshots that are a container's own rootfs.
        public var writableLayers = Amount()
        /// Other active and view snapshots (unpacks in progress or interrupted, views).
        public var otherSnapshots = Amount()
        /// Blobs being written (partial downloads and imports).
        public var ingests = Amount()
        /// bolt's meta.db.
        public var metadataBytes: Int64?
        /// Sum of the above: what containerd holds on disk.
        public var bytes: Int64 = 0
    }

    public struct NamespaceSummary: Codable, Sendable, Equatable {
        public var namespace: String
        public var images: Int
        public var content: Amount
        public var snapshots: Amount
        /// Bytes that no image reaches (writable layers, leased and unreferenced content and snapshots).
        public var notFromImagesBytes: Int64
    }

    public struct ImageRow: Codable, Sendable, Equatable {
        public var name: String
        public var names: [String]
        /// CRI's image ID, else the target digest.
        public var id: String
        /// Unique + shared: everything the image reaches.
        public var bytes: Int64
        public var uniqueBytes: Int64
        public var sharedBytes: Int64
        public var contentBytes: Int64
        public var snapshotBytes: Int64
        /// CRI's size (what the kubelet counts).
        public var criSize: Int64?
        public var inUse: Bool
        public var users: [ImageUser]
        public var pinned: Bool
        public var protections: [String]
        public var lastUsed: String?
        /// "container" (newest container using it) or "image record" (the record's update time).
        public var lastUsedFrom: String
        public var createdAt: String?
    }

    /// Content, snapshot or ingest that no image reaches, and what holds it.
    public struct HeldItem: Codable, Sendable, Equatable {
        public var namespace: String
        public var kind: String
        public var id: String
        public var bytes: Int64
        /// "container ID", "lease ID (...)", "label containerd.io/gc.root"; empty: nothing holds it.
        public var heldBy: [String]
        /// True when nothing holds it: containerd's next garbage collection removes it.
        public var unreferenced: Bool
    }

    public struct IngestRow: Codable, Sendable, Equatable {
        public var namespace: String
        public var ref: String
        public var offset: Int64
        public var total: Int64
        public var startedAt: String?
        public var updatedAt: String?
        public var leases: [String]
    }

    public struct ImageFsView: Codable, Sendable, Equatable {
        public var imageFilesystems: [FilesystemUsageRecord]
        public var containerFilesystems: [FilesystemUsageRecord]
        public var error: String?
    }

    public var containerd: String
    public var time: String
    /// The namespace the image rows and the kubelet view are about.
    public var namespace: String
    public var paths: StoragePaths
    public var filesystems: [Filesystem]
    public var imageFsInfo: ImageFsView?
    public var totals: Totals
    public var namespaces: [NamespaceSummary]
    /// Sum over the namespace's images of what each reaches, each node counted once, and its split.
    public var imagesBytes: Int64
    public var imagesUniqueBytes: Int64
    public var imagesSharedBytes: Int64
    public var images: [ImageRow]
    public var notFromImages: [HeldItem]
    public var leases: [LeaseView]
    public var ingests: [IngestRow]
    public var kubelet: KubeletView?

    // MARK: building

    public struct Inputs: Sendable {
        public var facts: StorageFacts
        public var namespace: String
        public var policy: KubeletDiskPolicy?
        public var kubeletRoot: String
        public var measure: @Sendable (String) -> FilesystemUsage?
        public var fileSize: @Sendable (String) -> Int64?

        public init(facts: StorageFacts, namespace: String, policy: KubeletDiskPolicy?, kubeletRoot: String,
                    measure: @escaping @Sendable (String) -> FilesystemUsage? = FilesystemUsage.measure,
                    fileSize: @escaping @Sendable (String) -> Int64? = DiskReport.fileSize) {
            self.facts = facts
            self.namespace = namespace
            self.policy = policy
            self.kubeletRoot = kubeletRoot
            self.measure = measure
            self.fileSize = fileSize
        }
    }

    public static func fileSize(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int64(st.st_blocks) * 512
    }

    public static func build(_ input: Inputs) -> DiskReport {
        let facts = input.facts
        let now = facts.now
        var report = DiskReport(containerd: facts.version.version, time: Timestamps.utc(now), namespace: input.namespace,
                                paths: facts.paths, filesystems: [], imageFsInfo: nil, totals: Totals(), namespaces: [],
                                imagesBytes: 0, imagesUniqueBytes: 0, imagesSharedBytes: 0, images: [], notFromImages: [],
                                leases: [], ingests: [], kubelet: nil)
        report.filesystems = filesystems(facts, kubeletRoot: input.policy == nil ? nil : input.kubeletRoot, measure: input.measure)
        if let cri = facts.cri {
            report.imageFsInfo = ImageFsView(imageFilesystems: cri.imageFs?.imageFilesystems ?? [],
                                             containerFilesystems: cri.imageFs?.containerFilesystems ?? [], error: cri.imageFsError)
        }
        report.totals = totals(of: facts, fileSize: input.fileSize)
        for ns in facts.namespaces {
            let model = ImageSpaceModel(storage: ns, cri: facts.cri, now: now)
            let g = model.graph
            var content = Amount(), snapshots = Amount()
            for c in ns.content { content.add(c.size) }
            for s in ns.snapshots {
                let u = ns.usage[.snapshot(snapshotter: s.snapshotter, key: s.key)]
                snapshots.add(u?.bytes ?? 0, inodes: u?.inodes ?? 0)
            }
            let leases = leaseViews(ns, model: model, now: now)
            report.leases += leases
            let held = heldItems(ns, model: model, leases: leases, now: now)
            report.notFromImages += held
            report.namespaces.append(NamespaceSummary(namespace: ns.namespace, images: ns.images.count, content: content,
                                                      snapshots: snapshots, notFromImagesBytes: held.reduce(0) { $0 + $1.bytes }))
            var leasesOf: [String: [String]] = [:]
            for (id, resources) in ns.leaseResources {
                for r in resources where r.type == "ingests" { leasesOf[r.id, default: []].append(id) }
            }
            report.ingests += ns.ingests.map {
                IngestRow(namespace: ns.namespace, ref: $0.ref, offset: $0.offset, total: $0.total,
                          startedAt: $0.startedAt.map(Timestamps.utc), updatedAt: $0.updatedAt.map(Timestamps.utc),
                          leases: (leasesOf[$0.ref] ?? []).sorted())
            }
            guard ns.namespace == input.namespace else { continue }
            let all = g.reach(model.units.flatMap { $0.targets.map { StorageNode.content($0) } })
            report.imagesBytes = g.bytes(all)
            report.imagesSharedBytes = g.bytes(all.filter { (model.owners[$0] ?? 0) > 1 })
            report.imagesUniqueBytes = report.imagesBytes - report.imagesSharedBytes
            report.images = imageRows(model)
            if let policy = input.policy, facts.cri != nil, ns.namespace == Workloads.criNamespace {
                report.kubelet = KubeletView.build(policy: policy, model: model, facts: facts, kubeletRoot: input.kubeletRoot,
                                                   measure: input.measure)
            }
        }
        report.notFromImages.sort { ($0.namespace, $1.bytes, $0.kind, $0.id) < ($1.namespace, $0.bytes, $1.kind, $1.id) }
        report.leases.sort { ($0.namespace, $0.id) < ($1.namespace, $1.id) }
        report.ingests.sort { ($0.namespace, $0.ref) < ($1.namespace, $1.ref) }
        return report
    }

    /// What containerd holds on disk: each blob once across namespaces (one file in the content store),
    /// snapshots by kind, ingests, the metadata database.
    public static func totals(of facts: StorageFacts, fileSize: (String) -> Int64? = DiskReport.fileSize) -> Totals {
        var t = Totals()
        var seenDigests: Set<String> = []
        for ns in facts.namespaces {
            for c in ns.content where seenDigests.insert(c.digest).inserted { t.content.add(c.size) }
            let ownRootfs = Set(ns.containers.map { StorageNode.snapshot(snapshotter: $0.snapshotter, key: $0.snapshotKey) })
            for s in ns.snapshots {
                let node = StorageNode.snapshot(snapshotter: s.snapshotter, key: s.key)
                let u = ns.usage[node]
                if s.kind == "committed" {
                    t.imageLayers.add(u?.bytes ?? 0, inodes: u?.inodes ?? 0)
                } else if ownRootfs.contains(node) {
                    t.writableLayers.add(u?.bytes ?? 0, inodes: u?.inodes ?? 0)
                } else {
                    t.otherSnapshots.add(u?.bytes ?? 0, inodes: u?.inodes ?? 0)
                }
            }
            for i in ns.ingests { t.ingests.add(i.offset) }
        }
        t.metadataBytes = facts.paths.metadataPath.flatMap(fileSize)
        t.bytes = t.content.bytes + t.imageLayers.bytes + t.writableLayers.bytes + t.otherSnapshots.bytes
            + t.ingests.bytes + (t.metadataBytes ?? 0)
        return t
    }

    /// The filesystems holding the content store, the snapshotters in use, the metadata and the kubelet's root,
    /// each once.
    public static func filesystems(_ facts: StorageFacts, kubeletRoot: String?,
                                   measure: (String) -> FilesystemUsage? = FilesystemUsage.measure) -> [Filesystem] {
        var wanted: [(String, String)] = []
        let paths = facts.paths
        if let c = paths.contentRoot { wanted.append((c, "content store")) }
        let used = Set(facts.namespaces.flatMap { $0.snapshots.map(\.snapshotter) } + [facts.cri?.snapshotter].compactMap { $0 })
        for (name, root) in paths.snapshotterRoots.sorted(by: { $0.key < $1.key }) where used.contains(name) && !root.isEmpty {
            wanted.append((root, "snapshotter \(name)"))
        }
        if let m = paths.metadataPath { wanted.append(((m as NSString).deletingLastPathComponent, "metadata")) }
        if let kubeletRoot { wanted.append((kubeletRoot, "kubelet root")) }
        var out: [Filesystem] = []
        for (path, what) in wanted {
            guard let usage = measure(path) else { continue }
            if let i = out.firstIndex(where: { $0.usage.device == usage.device }) {
                if !out[i].holds.contains(what) { out[i].holds.append(what) }
            } else {
                out.append(Filesystem(usage: usage, holds: [what]))
            }
        }
        return out
    }

    static func leaseViews(_ ns: NamespaceStorage, model: ImageSpaceModel, now: Double) -> [LeaseView] {
        // What each lease alone keeps: nodes it reaches that nothing but leases holds, and no other lease.
        let g = model.graph
        var containerRoots: [StorageNode] = Array(g.labelledRoots)
        for c in ns.containers where !c.snapshotKey.isEmpty { containerRoots.append(.snapshot(snapshotter: c.snapshotter, key: c.snapshotKey)) }
        let fixed = g.reach(containerRoots).union(model.owners.keys)
        var reached: [String: Set<StorageNode>] = [:]
        var count: [StorageNode: Int] = [:]
        for lease in ns.leases {
            let r = g.reach((ns.leaseResources[lease.id] ?? []).compactMap(ReferenceGraph.node)).subtracting(fixed)
            reached[lease.id] = r
            for n in r { count[n, default: 0] += 1 }
        }
        return ns.leases.map { lease in
            let (owner, stale) = LeaseView.owner(lease.id)
            let alone = (reached[lease.id] ?? []).filter { count[$0] == 1 }
            return LeaseView(namespace: ns.namespace, id: lease.id, createdAt: lease.createdAt.map(Timestamps.utc),
                             expires: lease.labels[ReferenceGraph.expireLabel], expired: LeaseView.isExpired(lease, now: now),
                             owner: owner, stale: stale, resources: ns.leaseResources[lease.id]?.count ?? 0,
                             holdsBytes: g.bytes(alone))
        }
    }

    static func heldItems(_ ns: NamespaceStorage, model: ImageSpaceModel, leases: [LeaseView], now: Double) -> [HeldItem] {
        let g = model.graph
        // (what, whether containerd's garbage collector honours it): an expired lease keeps nothing.
        var holders: [StorageNode: [(String, Bool)]] = [:]
        for c in ns.containers where !c.snapshotKey.isEmpty {
            for n in g.reach([.snapshot(snapshotter: c.snapshotter, key: c.snapshotKey)]) {
                holders[n, default: []].append(("container \(c.id.prefix(13))", true))
            }
        }
        for lease in leases {
            var notes: [String] = []
            if let owner = lease.owner { notes.append(owner) }
            if let e = lease.expires { notes.append(lease.expired ? "expired \(e)" : "expires \(e)") } else { notes.append("never expires") }
            let what = "lease \(lease.id) (\(notes.joined(separator: "; ")))"
            for n in g.reach((ns.leaseResources[lease.id] ?? []).compactMap(ReferenceGraph.node)) {
                holders[n, default: []].append((what, !lease.expired))
            }
        }
        for n in g.reach(g.labelledRoots) { holders[n, default: []].append(("label \(ReferenceGraph.rootLabel)", true)) }
        return model.unreachedFromImages.map { n in
            let by = holders[n] ?? []
            return HeldItem(namespace: ns.namespace, kind: n.kind, id: n.id, bytes: g.size[n] ?? 0, heldBy: by.map(\.0),
                            unreferenced: !by.contains { $0.1 })
        }
    }

    static func imageRows(_ model: ImageSpaceModel) -> [ImageRow] {
        let g = model.graph
        return model.units.indices.map { i in
            let u = model.units[i]
            let closure = model.closures[i]
            let unique = model.uniqueBytes(i)
            let shared = model.sharedBytes(i)
            let (last, from) = model.lastUsed(i)
            return ImageRow(name: u.displayName, names: u.names, id: u.id, bytes: unique + shared, uniqueBytes: unique,
                            sharedBytes: shared, contentBytes: g.bytes(closure.filter { $0.kind == "content" }),
                            snapshotBytes: g.bytes(closure.filter { $0.kind == "snapshot" }), criSize: u.criSize,
                            inUse: !model.users[i].isEmpty, users: model.users[i], pinned: u.criPinned || u.pinLabel,
                            protections: u.protections, lastUsed: last.map(Timestamps.utc), lastUsedFrom: from,
                            createdAt: u.createdAt.map(Timestamps.utc))
        }.sorted { ($1.uniqueBytes, $0.name) < ($0.uniqueBytes, $1.name) }
    }
}
