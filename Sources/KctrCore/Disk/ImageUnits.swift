import Foundation
import KctrRPC

/// One image as the node's operator and the kubelet count it: every record name of it (tags, digest
/// names, CRI's `sha256:<config>` record), grouped by CRI's image ID where CRI knows the name, by
/// target digest otherwise.
public struct ImageUnit: Sendable, Equatable {
    /// The CRI image ID, else the target digest.
    public var id: String
    public var names: [String]
    public var targets: [String]
    public var criID: String?
    /// CRI's size: what the kubelet counts as freed when it removes the image.
    public var criSize: Int64?
    /// CRI says pinned (containerd 1.7: label io.cri-containerd.pinned=pinned; 2.x: the sandbox image too).
    public var criPinned = false
    /// A record carries io.cri-containerd.pinned=pinned (honoured by kctr on every version).
    public var pinLabel = false
    /// The runtime's configured sandbox (pause) image.
    public var sandboxImage = false
    /// Earliest creation and latest update among its records (seconds since 1970).
    public var createdAt: Double?
    public var updatedAt: Double?

    /// The name to show: a tag or digest name, before CRI's `sha256:` record.
    public var displayName: String {
        names.first { !Digest.isValid($0) } ?? names.first ?? id
    }

    public var isProtected: Bool { criPinned || pinLabel || sandboxImage }

    /// Why kctr never removes it, in words.
    public var protections: [String] {
        var out: [String] = []
        if sandboxImage { out.append("the configured sandbox image") }
        if criPinned { out.append("pinned (CRI)") }
        if pinLabel && !criPinned { out.append("pinned (label io.cri-containerd.pinned=pinned)") }
        return out
    }
}

/// A container (or pod sandbox) that uses an image.
public struct ImageUser: Codable, Sendable, Equatable {
    /// "container", "sandbox" or "containerd container" (not CRI's).
    public var kind: String
    public var id: String
    public var name: String
    /// "namespace/name" of the pod, when CRI knows it.
    public var pod: String?
    /// CRI's state: Running, Exited, Created, Ready, NotReady; nil for containerd's own containers.
    public var state: String?
    /// Seconds since 1970.
    public var createdAt: Double?
}

/// The images of one namespace with what each holds, who uses it, and what removing some would free.
public struct ImageSpaceModel: Sendable {
    public let storage: NamespaceStorage
    public let graph: ReferenceGraph
    public var units: [ImageUnit]
    /// Per unit (same order): the nodes reachable from its targets.
    public var closures: [Set<StorageNode>]
    /// Per unit: who uses it.
    public var users: [[ImageUser]]
    /// How many units reach each node.
    public var owners: [StorageNode: Int]
    /// Nodes kept alive by something other than images: containers, leases that have not expired, gc.root labels.
    public var otherwiseHeld: Set<StorageNode>

    /// - Parameters:
    ///   - cri: CRI's facts, used only for CRI's own namespace (k8s.io).
    ///   - expiredLeases: lease IDs that do not keep anything (expired, or about to be removed).
    public init(storage: NamespaceStorage, cri: CRIStorageFacts?, now: Double, releasedLeases: Set<String> = []) {
        self.storage = storage
        let graph = storage.graph
        self.graph = graph
        let cri = storage.namespace == Workloads.criNamespace ? cri : nil
        let units = Self.units(storage.images, cri: cri)
        self.units = units
        let closures = units.map { unit in graph.reach(unit.targets.map { StorageNode.content($0) }) }
        self.closures = closures
        var owners: [StorageNode: Int] = [:]
        for c in closures { for n in c { owners[n, default: 0] += 1 } }
        self.owners = owners
        var roots: [StorageNode] = Array(graph.labelledRoots)
        for c in storage.containers where !c.snapshotKey.isEmpty {
            roots.append(.snapshot(snapshotter: c.snapshotter, key: c.snapshotKey))
        }
        for lease in storage.leases where !releasedLeases.contains(lease.id) && !LeaseView.isExpired(lease, now: now) {
            roots += (storage.leaseResources[lease.id] ?? []).compactMap(ReferenceGraph.node)
        }
        otherwiseHeld = graph.reach(roots)
        users = Self.users(units: units, closures: closures, storage: storage, cri: cri)
    }

    // MARK: grouping

    static func units(_ records: [ImageRecord], cri: CRIStorageFacts?) -> [ImageUnit] {
        var criByName: [String: CRIImage] = [:]
        var criByID: [String: CRIImage] = [:]
        for image in cri?.images ?? [] {
            criByID[image.id] = image
            for n in image.repoTags + image.repoDigests { criByName[n] = image }
        }
        // containerd's records hold normalised names: compare with the sandbox image's, and its own spelling.
        let sandbox: Set<String> = cri?.sandboxImage.map { [$0, ImageReference.parse($0)?.description ?? $0] } ?? []
        var index: [String: Int] = [:]
        var units: [ImageUnit] = []
        for r in records {
            let image = criByName[r.name] ?? criByID[r.name]
            let key = image?.id ?? r.target.digest
            let i: Int
            if let known = index[key] {
                i = known
            } else {
                i = units.count
                index[key] = i
                units.append(ImageUnit(id: key, names: [], targets: [], criID: image?.id, criSize: image.map { Int64(clamping: $0.size) }))
            }
            // In place: a copy of the unit per record made thousands of tags of one image quadratic.
            units[i].names.append(r.name)
            if !units[i].targets.contains(r.target.digest) { units[i].targets.append(r.target.digest) }
            if image?.pinned == true { units[i].criPinned = true }
            if r.labels["io.cri-containerd.pinned"] == "pinned" { units[i].pinLabel = true }
            if sandbox.contains(r.name) { units[i].sandboxImage = true }
            if let c = r.createdAt { units[i].createdAt = min(units[i].createdAt ?? c, c) }
            if let t = r.updatedAt ?? r.createdAt { units[i].updatedAt = max(units[i].updatedAt ?? t, t) }
        }
        for i in units.indices {
            units[i].names = units[i].names.map { (Digest.isValid($0) ? 1 : 0, $0) }.sorted { $0 < $1 }.map(\.1)
            units[i].targets.sort()
        }
        return units.sorted { $0.displayName < $1.displayName }
    }

    // MARK: users

    static func users(units: [ImageUnit], closures: [Set<StorageNode>], storage: NamespaceStorage,
                      cri: CRIStorageFacts?) -> [[ImageUser]] {
        var byName: [String: Int] = [:]
        var byCRIID: [String: Int] = [:]
        var bySnapshot: [StorageNode: Int] = [:]
        for (i, u) in units.enumerated() {
            // Record names are normalised; a container's image name that is not is normalised below.
            for n in u.names { byName[n] = i }
            if let id = u.criID { byCRIID[id] = i }
            for node in closures[i] where node.kind == "snapshot" { bySnapshot[node] = bySnapshot[node] ?? i }
        }
        var criContainers: [String: ContainerSummary] = [:]
        for c in cri?.containers ?? [] { criContainers[c.id] = c }
        var sandboxes: [String: SandboxSummary] = [:]
        for s in cri?.sandboxes ?? [] { sandboxes[s.id] = s }
        var snapshotParent: [StorageNode: StorageNode] = [:]
        for s in storage.snapshots where !s.parent.isEmpty {
            snapshotParent[.snapshot(snapshotter: s.snapshotter, key: s.key)] = .snapshot(snapshotter: s.snapshotter, key: s.parent)
        }
        var out = Array(repeating: [ImageUser](), count: units.count)
        var seen: Set<String> = []
        for record in storage.containers {
            seen.insert(record.id)
            let criContainer = criContainers[record.id]
            var index = byName[record.image] ?? ImageReference.parse(record.image).flatMap { byName[$0.description] }
            if index == nil, let c = criContainer { index = byCRIID[c.imageRef] ?? byName[c.image] ?? byCRIID[c.image] }
            if index == nil, !record.snapshotKey.isEmpty,
               let parent = snapshotParent[.snapshot(snapshotter: record.snapshotter, key: record.snapshotKey)] {
                index = bySnapshot[parent]
            }
            guard let i = index else { continue }
            if let c = criContainer {
                out[i].append(user(c))
            } else if let s = sandboxes[record.id] {
                out[i].append(ImageUser(kind: "sandbox", id: s.id, name: s.name, pod: "\(s.namespace)/\(s.name)",
                                        state: s.state, createdAt: Double(s.createdAt) / 1e9))
            } else {
                out[i].append(ImageUser(kind: "containerd container", id: record.id, name: record.id, pod: nil, state: nil, createdAt: nil))
            }
        }
        // CRI containers containerd did not list (not expected; kept so that none is missed).
        for c in cri?.containers ?? [] where !seen.contains(c.id) {
            if let i = byCRIID[c.imageRef] ?? byName[c.image] { out[i].append(user(c)) }
        }
        return out.map { $0.sorted { ($0.kind, $0.pod ?? "", $0.name, $0.id) < ($1.kind, $1.pod ?? "", $1.name, $1.id) } }
    }

    static func user(_ c: ContainerSummary) -> ImageUser {
        let ns = c.labels["io.kubernetes.pod.namespace"], pod = c.labels["io.kubernetes.pod.name"]
        return ImageUser(kind: "container", id: c.id, name: c.name,
                         pod: pod.map { "\(ns ?? "")/\($0)" }, state: c.state, createdAt: Double(c.createdAt) / 1e9)
    }

    // MARK: accounting

    /// Bytes of nodes in the unit's closure that no other image reaches.
    public func uniqueBytes(_ i: Int) -> Int64 { graph.bytes(closures[i].filter { owners[$0] == 1 }) }
    public func sharedBytes(_ i: Int) -> Int64 { graph.bytes(closures[i].filter { (owners[$0] ?? 0) > 1 }) }

    /// When the unit was last used: the newest creation of a container using it, else its record's update.
    public func lastUsed(_ i: Int) -> (time: Double?, from: String) {
        if let t = users[i].compactMap(\.createdAt).max() { return (t, "container") }
        return (units[i].updatedAt, "image record")
    }

    /// Removes units in order and says, for each, the bytes that go with it: nodes no remaining image
    /// reaches and nothing else holds (blobs in `keptElsewhere`, recorded by another namespace, stay on disk).
    public func simulateRemoval(_ order: [Int], keptElsewhere: Set<String> = []) -> [Int64] {
        var owners = self.owners
        return order.map { i in
            var freed: Int64 = 0
            for n in closures[i] {
                owners[n, default: 1] -= 1
                guard owners[n] == 0, !otherwiseHeld.contains(n) else { continue }
                if case .content(let d) = n, keptElsewhere.contains(d) { continue }
                freed += graph.size[n] ?? 0
            }
            return freed
        }
    }

    /// Nodes of the namespace that no image reaches.
    public var unreachedFromImages: [StorageNode] {
        graph.nodes.filter { owners[$0] == nil }.sorted()
    }
}

/// A lease as `kctr df` and `prune --leaked` judge it.
public struct LeaseView: Codable, Sendable, Equatable {
    public var namespace: String
    public var id: String
    public var createdAt: String?
    /// containerd.io/gc.expire, as written.
    public var expires: String?
    public var expired: Bool
    /// "kctr import, pid N, running" / "kctr import, pid N, gone"; nil for other owners.
    public var owner: String?
    /// True for kctr's own leases whose process is gone (removed by --leaked before they expire).
    public var stale: Bool
    public var resources: Int
    /// Bytes it alone keeps: what removing it would free (nodes no image, container or other lease holds).
    public var holdsBytes: Int64

    public static func isExpired(_ lease: LeaseRecord, now: Double) -> Bool {
        guard let text = lease.labels[ReferenceGraph.expireLabel], let t = Timestamps.parse(text) else { return false }
        return t < now
    }

    static func owner(_ id: String) -> (owner: String?, stale: Bool) {
        guard id.hasPrefix(StaleImports.prefix) else { return (nil, false) }
        let parts = id.dropFirst(StaleImports.prefix.count).split(separator: "-")
        let pid = parts.count >= 2 ? String(parts[1]) : "?"
        let stale = StaleImports.isStale(id)
        let sameNamespace = parts.first.map(String.init) == StaleImports.pidNamespace
        let state = stale ? "gone" : sameNamespace ? "running" : "in another pid namespace"
        return ("kctr import, pid \(pid), \(state)", stale)
    }
}
