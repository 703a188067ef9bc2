/// containerd's storage as a whole: every blob, snapshot, lease and ingest of a namespace, their usage,
/// and the calls that release them. One function per RPC, as in ContainerdAPI.
extension ContainerdAPI {
    // MARK: content

    /// Every blob of the namespace (Content.List, server-streaming), labels included.
    public func contentList(filters: [String] = []) async throws -> [ContentRecord] {
        var out: [ContentRecord] = []
        try await rpc.stream(Content.list, .init(filters: filters)) { reply in
            for info in reply.info { out.append(ContentRecord(info)) }
        }
        return out
    }

    /// Ingests in progress with their progress and times (Content.ListStatuses).
    public func ingestStatuses() async throws(RPCError) -> [IngestStatus] {
        let r = try await rpc.call(Content.listStatuses)
        return r.statuses.map(IngestStatus.init)
    }

    /// Removes the namespace's record of a blob; the bytes go when no namespace has it.
    public func deleteContent(digest: String) async throws(RPCError) {
        _ = try await rpc.call(Content.delete, .init(digest: digest))
    }

    // MARK: snapshots

    /// Every snapshot of `snapshotter` in the namespace (Snapshots.List, server-streaming).
    public func snapshotList(snapshotter: String) async throws -> [SnapshotRecord] {
        var out: [SnapshotRecord] = []
        try await rpc.stream(Snapshots.list, .init(snapshotter: snapshotter)) { reply in
            for info in reply.info { out.append(SnapshotRecord(snapshotter: snapshotter, info)) }
        }
        return out
    }

    /// Which of `keys` (chain IDs) are snapshots of `snapshotter`: one Snapshots.List whose filters (ORed) name them,
    /// in place of a Stat each. Only the names are used, so a daemon that ignored the filters and listed
    /// every snapshot would still give the right answer.
    public func existingSnapshots(snapshotter: String, keys: [String]) async throws -> Set<String> {
        guard !keys.isEmpty else { return [] }
        let wanted = Set(keys)
        var found: Set<String> = []
        // Quoted: a chain ID's ':' is not a bare filter value; keys are digests, with no quote to escape.
        let filters = keys.map { "name==\"\($0)\"" }
        try await rpc.stream(Snapshots.list, .init(snapshotter: snapshotter, filters: filters)) { reply in
            for info in reply.info where wanted.contains(info.name) { found.insert(info.name) }
        }
        return found
    }

    /// Bytes and inodes a snapshot holds on its own (not its parents'): recorded at commit for committed
    /// snapshots, measured (a walk of the upper directory) for active ones.
    public func snapshotUsage(snapshotter: String, key: String) async throws(RPCError) -> SnapshotUsage {
        let r = try await rpc.call(Snapshots.usage, .init(snapshotter: snapshotter, key: key))
        return SnapshotUsage(bytes: r.size, inodes: r.inodes)
    }

    /// Asks the snapshotter to remove what its own records no longer name (directories of removed
    /// snapshots). False when the snapshotter does not implement it.
    public func cleanupSnapshots(snapshotter: String) async throws(RPCError) -> Bool {
        do {
            _ = try await rpc.call(Snapshots.cleanup, .init(snapshotter: snapshotter))
            return true
        } catch where error.code == .unimplemented {
            return false
        }
    }

    // MARK: leases

    /// The namespace's leases with their labels and creation times (Leases.List).
    public func leaseRecords(filters: [String] = []) async throws(RPCError) -> [LeaseRecord] {
        let r = try await rpc.call(Leases.list, .init(filters: filters))
        return r.leases.map(LeaseRecord.init)
    }

    /// What a lease holds: content digests, snapshots (type `snapshots/<snapshotter>`), ingests.
    public func leaseResources(id: String) async throws(RPCError) -> [LeaseResource] {
        let r = try await rpc.call(Leases.listResources, .init(id: id))
        return r.resources.map { LeaseResource(id: $0.id, type: $0.type) }
    }
}

/// One blob of the content store as the namespace records it.
public struct ContentRecord: Sendable, Equatable {
    public var digest: String
    public var size: Int64
    /// Seconds since 1970.
    public var createdAt: Double?
    public var updatedAt: Double?
    public var labels: [String: String]

    public init(digest: String, size: Int64, createdAt: Double? = nil, updatedAt: Double? = nil, labels: [String: String] = [:]) {
        self.digest = digest
        self.size = size
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.labels = labels
    }

    init(_ p: Containerd.Content.Info) {
        self.init(digest: p.digest, size: p.size, createdAt: p.createdAt?.secondsSince1970,
                  updatedAt: p.updatedAt?.secondsSince1970, labels: p.labels)
    }
}

/// One snapshot as its snapshotter lists it.
public struct SnapshotRecord: Sendable, Equatable {
    public var snapshotter: String
    public var key: String
    public var parent: String
    /// "view", "active" or "committed".
    public var kind: String
    public var createdAt: Double?
    public var updatedAt: Double?
    public var labels: [String: String]

    public init(snapshotter: String, key: String, parent: String, kind: String, createdAt: Double? = nil,
                updatedAt: Double? = nil, labels: [String: String] = [:]) {
        self.snapshotter = snapshotter
        self.key = key
        self.parent = parent
        self.kind = kind
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.labels = labels
    }

    init(snapshotter: String, _ p: Containerd.Snapshots.Info) {
        self.init(snapshotter: snapshotter, key: p.name, parent: p.parent, kind: SnapshotInfo.kindName(p.kind),
                  createdAt: p.createdAt?.secondsSince1970, updatedAt: p.updatedAt?.secondsSince1970, labels: p.labels)
    }
}

public struct SnapshotUsage: Sendable, Equatable {
    public var bytes: Int64
    public var inodes: Int64

    public init(bytes: Int64, inodes: Int64) {
        self.bytes = bytes
        self.inodes = inodes
    }
}

public struct LeaseRecord: Sendable, Equatable {
    public var id: String
    public var createdAt: Double?
    public var labels: [String: String]

    public init(id: String, createdAt: Double? = nil, labels: [String: String] = [:]) {
        self.id = id
        self.createdAt = createdAt
        self.labels = labels
    }

    init(_ p: Containerd.Leases.Lease) {
        self.init(id: p.id, createdAt: p.createdAt?.secondsSince1970, labels: p.labels)
    }
}

/// One thing a lease holds. `type` is "content", "snapshots/<snapshotter>" or "ingests".
public struct LeaseResource: Sendable, Equatable, Hashable {
    public var id: String
    public var type: String

    public init(id: String, type: String) {
        self.id = id
        self.type = type
    }
}

/// An ingest (a blob being written) as Content.ListStatuses reports it.
public struct IngestStatus: Sendable, Equatable {
    public var ref: String
    public var offset: Int64
    public var total: Int64
    public var expected: String
    public var startedAt: Double?
    public var updatedAt: Double?

    public init(ref: String, offset: Int64, total: Int64, expected: String = "", startedAt: Double? = nil, updatedAt: Double? = nil) {
        self.ref = ref
        self.offset = offset
        self.total = total
        self.expected = expected
        self.startedAt = startedAt
        self.updatedAt = updatedAt
    }

    init(_ p: Containerd.Content.Status) {
        self.init(ref: p.ref, offset: p.offset, total: p.total, expected: p.expected,
                  startedAt: p.startedAt?.secondsSince1970, updatedAt: p.updatedAt?.secondsSince1970)
    }
}
