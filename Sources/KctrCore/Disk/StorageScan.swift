import Foundation
import KctrRPC

/// Everything containerd records about storage in one namespace, read at one moment.
public struct NamespaceStorage: Sendable {
    public var namespace: String
    public var images: [ImageRecord] = []
    public var content: [ContentRecord] = []
    public var snapshots: [SnapshotRecord] = []
    public var usage: [StorageNode: SnapshotUsage] = [:]
    public var leases: [LeaseRecord] = []
    public var leaseResources: [String: [LeaseResource]] = [:]
    public var ingests: [IngestStatus] = []
    public var containers: [ContainerRecord] = []

    public init(namespace: String) { self.namespace = namespace }

    public var graph: ReferenceGraph {
        ReferenceGraph(content: content, snapshots: snapshots, usage: usage, ingests: ingests)
    }
}

/// Where containerd keeps its bytes, from its plugins' exports.
public struct StoragePaths: Codable, Sendable, Equatable {
    public var contentRoot: String?
    /// Snapshotters that initialised, by name, with their root.
    public var snapshotterRoots: [String: String]
    /// The metadata database (bolt's meta.db).
    public var metadataPath: String?

    public init(contentRoot: String?, snapshotterRoots: [String: String], metadataPath: String?) {
        self.contentRoot = contentRoot
        self.snapshotterRoots = snapshotterRoots
        self.metadataPath = metadataPath
    }
}

/// What CRI says: its images (with `pinned`), containers in any state, sandboxes, the sandbox image,
/// its snapshotter and its own account of the image filesystem.
public struct CRIStorageFacts: Sendable {
    public var images: [CRIImage] = []
    public var containers: [ContainerSummary] = []
    public var sandboxes: [SandboxSummary] = []
    /// The configured sandbox image (CRI's verbose status on 1.6/1.7; nil where the runtime does not report it).
    public var sandboxImage: String?
    public var snapshotter = "overlayfs"
    public var imageFs: ImageFsInfoRecord?
    public var imageFsError: String?

    public init() {}
}

/// All of it, for `kctr df` and `kctr images prune`.
public struct StorageFacts: Sendable {
    public var version: DaemonVersion
    public var paths: StoragePaths
    /// Every namespace read (all, or the session's only).
    public var namespaces: [NamespaceStorage]
    /// nil when CRI does not serve.
    public var cri: CRIStorageFacts?
    /// Seconds since 1970 when the facts were read.
    public var now: Double

    public init(version: DaemonVersion, paths: StoragePaths, namespaces: [NamespaceStorage], cri: CRIStorageFacts?, now: Double) {
        self.version = version
        self.paths = paths
        self.namespaces = namespaces
        self.cri = cri
        self.now = now
    }

    public func namespace(_ name: String) -> NamespaceStorage? { namespaces.first { $0.namespace == name } }
}

/// Reads `StorageFacts` from the daemon: per namespace, the images, every blob, snapshot, lease (with
/// what it holds), ingest and container, and each snapshot's usage; the calls run concurrently.
public struct StorageScan: Sendable {
    public let session: Session
    /// Usage calls in flight at once.
    public var concurrency = 32

    public init(session: Session) { self.session = session }

    private func call<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw session.explain(error, doing: what)
        }
    }

    /// - Parameter allNamespaces: false reads only the session's namespace.
    public func gather(allNamespaces: Bool, withCRI: Bool = true) async throws -> StorageFacts {
        let store = session.store
        async let versionCall = call("asking containerd for its version") { try await store.version() }
        async let pluginsCall = call("listing containerd's plugins") { try await store.plugins() }
        async let namespacesCall: [String] = allNamespaces
            ? call("listing namespaces") { try await store.namespaces().map(\.name) } : [session.config.namespace]
        async let criCall: CRIStorageFacts? = withCRI ? criFacts() : nil
        let plugins = try await pluginsCall
        let paths = Self.paths(plugins)
        var names = try await namespacesCall
        if !names.contains(session.config.namespace) && !allNamespaces { names.append(session.config.namespace) }
        let snapshotters = paths.snapshotterRoots.keys.sorted()
        var spaces: [NamespaceStorage] = []
        for name in names.sorted() {
            spaces.append(try await namespace(name, snapshotters: snapshotters))
        }
        return StorageFacts(version: try await versionCall, paths: paths, namespaces: spaces, cri: try await criCall,
                            now: Date().timeIntervalSince1970)
    }

    static func paths(_ plugins: [PluginRecord]) -> StoragePaths {
        var snapshotters: [String: String] = [:]
        for p in plugins where p.type == "io.containerd.snapshotter.v1" && p.initError == nil {
            snapshotters[p.id] = p.exports["root"] ?? ""
        }
        let content = plugins.first { $0.type == "io.containerd.content.v1" }?.exports["root"]
        let bolt = plugins.first { $0.type == "io.containerd.metadata.v1" }?.exports["path"]
        return StoragePaths(contentRoot: content, snapshotterRoots: snapshotters, metadataPath: bolt)
    }

    /// One namespace, read whole.
    public func namespace(_ name: String, snapshotters: [String]) async throws -> NamespaceStorage {
        let api = session.store.namespacedStore(name)
        async let images = call("listing images in namespace \(name)") { try await api.images() }
        async let content = call("listing content in namespace \(name)") { try await api.contentList() }
        async let leases = call("listing leases in namespace \(name)") { try await api.leaseRecords() }
        async let ingests = call("listing ingests in namespace \(name)") { try await api.ingestStatuses() }
        async let containers = call("listing containers in namespace \(name)") { try await api.containers() }
        var snapshots: [SnapshotRecord] = []
        for s in snapshotters {
            snapshots += try await call("listing snapshots of \(s) in namespace \(name)") { try await api.snapshotList(snapshotter: s) }
        }
        var ns = NamespaceStorage(namespace: name)
        ns.snapshots = snapshots
        ns.images = try await images
        ns.content = try await content
        ns.leases = try await leases
        ns.ingests = try await ingests
        ns.containers = try await containers
        ns.leaseResources = try await leaseResources(api, ns.leases.map(\.id), namespace: name)
        ns.usage = try await usage(api, snapshots, namespace: name)
        return ns
    }

    /// What each lease holds, `concurrency` calls at a time. A lease released in between holds nothing.
    private func leaseResources(_ api: any ContainerdStoreCalls, _ ids: [String], namespace: String) async throws -> [String: [LeaseResource]] {
        try await bounded(ids) { id in
            do {
                return try await api.leaseResources(id: id)
            } catch let e as RPCError where e.code == .notFound {
                return []
            } catch {
                throw session.explain(error, doing: "listing what lease \(id) holds in namespace \(namespace)")
            }
        }
    }

    /// Each snapshot's usage, `concurrency` calls at a time. A snapshot removed in between has none.
    private func usage(_ api: any ContainerdStoreCalls, _ snapshots: [SnapshotRecord], namespace: String) async throws -> [StorageNode: SnapshotUsage] {
        let byKey = try await bounded(snapshots.map { StorageNode.snapshot(snapshotter: $0.snapshotter, key: $0.key) }) { node -> SnapshotUsage? in
            guard case .snapshot(let snapshotter, let key) = node else { return nil }
            do {
                return try await api.snapshotUsage(snapshotter: snapshotter, key: key)
            } catch let e as RPCError where e.code == .notFound {
                return nil
            } catch {
                throw session.explain(error, doing: "reading the usage of snapshot \(key) (\(snapshotter)) in namespace \(namespace)")
            }
        }
        return byKey.compactMapValues { $0 }
    }

    /// `call` on every key, at most `concurrency` at once.
    private func bounded<K: Hashable & Sendable, V: Sendable>(_ keys: [K], _ call: @escaping @Sendable (K) async throws -> V) async throws -> [K: V] {
        try await boundedMap(keys, limit: concurrency, call)
    }

    /// CRI's side; nil when CRI does not serve (the CRI plugin is disabled).
    func criFacts() async throws -> CRIStorageFacts? {
        let cri = session.cri
        do {
            async let images = cri.listImages()
            async let containers = cri.listContainers()
            async let sandboxes = cri.listPodSandboxes()
            async let status = cri.status(verbose: true)
            var facts = CRIStorageFacts()
            let config = RuntimeConfigView(status: try await status)
            facts.sandboxImage = config.sandboxImage
            facts.snapshotter = config.snapshotter ?? "overlayfs"
            facts.images = try await images
            facts.containers = try await containers
            facts.sandboxes = try await sandboxes
            do {
                facts.imageFs = try await cri.imageFsInfo()
            } catch where error.code == .unimplemented {
                facts.imageFsError = "the runtime does not implement ImageFsInfo"
            } catch {
                facts.imageFsError = "\(session.explain(error, doing: "reading CRI's ImageFsInfo"))"
            }
            return facts
        } catch where Session.isCRIUnavailable(error) {
            session.debug("CRI is not serving: no CRI view of images and containers")
            return nil
        } catch {
            throw session.explain(error, doing: "reading CRI's images and containers")
        }
    }
}
