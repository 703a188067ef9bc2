import Foundation
import KctrRPC

/// A blob, snapshot or ingest of one namespace: what containerd's garbage collector walks.
public enum StorageNode: Hashable, Sendable, Comparable {
    case content(String)
    case snapshot(snapshotter: String, key: String)
    case ingest(String)

    public var kind: String {
        switch self {
        case .content: "content"
        case .snapshot: "snapshot"
        case .ingest: "ingest"
        }
    }

    public var id: String {
        switch self {
        case .content(let d): d
        case .snapshot(let s, let k): "\(s)/\(k)"
        case .ingest(let r): r
        }
    }

    public static func < (a: StorageNode, b: StorageNode) -> Bool { (a.kind, a.id) < (b.kind, b.id) }
}

/// containerd's references in one namespace, as its garbage collector follows them:
/// image -> target blob; blob -> blobs and snapshots through `containerd.io/gc.ref.*` labels;
/// snapshot -> parent (and its own gc.ref labels); container -> its snapshot; lease -> what it holds.
/// Roots are images, containers, leases that have not expired, and nodes labelled `containerd.io/gc.root`.
public struct ReferenceGraph: Sendable {
    public static let contentRef = "containerd.io/gc.ref.content"
    public static let snapshotRef = "containerd.io/gc.ref.snapshot."
    public static let rootLabel = "containerd.io/gc.root"
    public static let expireLabel = "containerd.io/gc.expire"

    public private(set) var size: [StorageNode: Int64] = [:]
    public private(set) var inodes: [StorageNode: Int64] = [:]
    private var edges: [StorageNode: [StorageNode]] = [:]
    /// Nodes labelled containerd.io/gc.root.
    public private(set) var labelledRoots: Set<StorageNode> = []

    /// - Parameter usage: each snapshot's own bytes and inodes (absent = unknown, counted as 0).
    public init(content: [ContentRecord], snapshots: [SnapshotRecord], usage: [StorageNode: SnapshotUsage],
                ingests: [IngestStatus]) {
        for c in content {
            let node = StorageNode.content(c.digest)
            size[node] = c.size
            edges[node] = Self.references(c.labels)
            if c.labels[Self.rootLabel] != nil { labelledRoots.insert(node) }
        }
        for s in snapshots {
            let node = StorageNode.snapshot(snapshotter: s.snapshotter, key: s.key)
            let u = usage[node]
            size[node] = u?.bytes ?? 0
            inodes[node] = u?.inodes ?? 0
            var out = Self.references(s.labels)
            if !s.parent.isEmpty { out.append(.snapshot(snapshotter: s.snapshotter, key: s.parent)) }
            edges[node] = out
            if s.labels[Self.rootLabel] != nil { labelledRoots.insert(node) }
        }
        for i in ingests {
            size[.ingest(i.ref)] = i.offset
        }
    }

    /// The nodes a label set points at: `containerd.io/gc.ref.content[.*]` = digest,
    /// `containerd.io/gc.ref.snapshot.<snapshotter>[/*]` = key.
    static func references(_ labels: [String: String]) -> [StorageNode] {
        var out: [StorageNode] = []
        for (key, value) in labels where key.hasPrefix("containerd.io/gc.ref.") {
            if key.hasPrefix(contentRef) {
                out.append(.content(value))
            } else if key.hasPrefix(snapshotRef) {
                let rest = key.dropFirst(snapshotRef.count)
                let snapshotter = rest.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
                if !snapshotter.isEmpty { out.append(.snapshot(snapshotter: snapshotter, key: value)) }
            }
        }
        return out
    }

    public func contains(_ node: StorageNode) -> Bool { size[node] != nil }

    /// Every existing node reachable from `roots` (roots that do not exist are skipped, as are
    /// references to nodes that do not exist: an index names manifests of other platforms).
    public func reach(_ roots: some Sequence<StorageNode>) -> Set<StorageNode> {
        var seen: Set<StorageNode> = []
        var stack = roots.filter { size[$0] != nil }
        while let node = stack.popLast() {
            guard seen.insert(node).inserted else { continue }
            for next in edges[node] ?? [] where size[next] != nil && !seen.contains(next) {
                stack.append(next)
            }
        }
        return seen
    }

    public func bytes(_ nodes: some Sequence<StorageNode>) -> Int64 {
        nodes.reduce(0) { $0 + (size[$1] ?? 0) }
    }

    public var nodes: Dictionary<StorageNode, Int64>.Keys { size.keys }

    /// The resources a lease holds, as nodes.
    public static func node(_ r: LeaseResource) -> StorageNode? {
        switch r.type {
        case "content": return .content(r.id)
        case "ingests": return .ingest(r.id)
        default:
            guard r.type.hasPrefix("snapshots/") else { return nil }
            return .snapshot(snapshotter: String(r.type.dropFirst("snapshots/".count)), key: r.id)
        }
    }
}
