/// Typed calls to containerd's own services. One function per RPC.
public struct ContainerdAPI: Sendable {
    public let rpc: RPCClient

    public init(_ rpc: RPCClient) { self.rpc = rpc }

    typealias Version = Containerd.Version.VersionService
    typealias Namespaces = Containerd.Namespaces.NamespacesService
    typealias Images = Containerd.Images.ImagesService
    typealias Content = Containerd.Content.ContentService
    typealias Snapshots = Containerd.Snapshots.SnapshotsService
    typealias Introspection = Containerd.Introspection.IntrospectionService
    typealias Leases = Containerd.Leases.LeasesService
    typealias Diff = Containerd.Diff.DiffService
    typealias Tasks = Containerd.Tasks.TasksService
    typealias Containers = Containerd.Containers.ContainersService

    /// The same API with `containerd-namespace` set.
    public func namespaced(_ namespace: String) -> ContainerdAPI {
        ContainerdAPI(rpc.with("containerd-namespace", namespace))
    }

    public func version() async throws(RPCError) -> DaemonVersion {
        let r = try await rpc.call(Version.version)
        return DaemonVersion(version: r.version, revision: r.revision)
    }

    public func namespaces() async throws(RPCError) -> [NamespaceRecord] {
        let r = try await rpc.call(Namespaces.list)
        return r.namespaces.map { NamespaceRecord(name: $0.name, labels: $0.labels) }
    }

    public func images(filters: [String] = []) async throws(RPCError) -> [ImageRecord] {
        // Read from the wire bytes: thousands of names make this the costliest reply to decode.
        try await rpc.unary(Images.list.method, Containerd.Images.ListImagesRequest(filters: filters).proto,
                            decode: ImageListWire.containerdImages)
    }

    /// The image named `name`, or nil when there is none.
    public func image(named name: String) async throws(RPCError) -> ImageRecord? {
        do {
            let r = try await rpc.call(Images.get, .init(name: name))
            return r.image.map(ImageRecord.init)
        } catch where error.code == .notFound {
            return nil
        }
    }

    /// The daemon itself: its PID and the deprecated features it has seen in use.
    public func server() async throws(RPCError) -> ServerInfo {
        ServerInfo(try await rpc.call(Introspection.server))
    }

    public func plugins(filters: [String] = []) async throws(RPCError) -> [PluginRecord] {
        let r = try await rpc.call(Introspection.plugins, .init(filters: filters))
        return r.plugins.map(PluginRecord.init)
    }

    public func contentInfo(digest: String) async throws(RPCError) -> ContentInfo? {
        do {
            let r = try await rpc.call(Content.info, .init(digest: digest))
            return r.info.map(ContentInfo.init)
        } catch where error.code == .notFound {
            return nil
        }
    }

    /// Reads a whole blob into memory: for manifests, indexes and configs
    /// only. Refuses blobs larger than `limit` before reading them.
    public func readBlob(digest: String, size: Int64, limit: Int64 = 16 << 20) async throws -> [UInt8] {
        guard size <= limit else {
            throw RPCError(code: .resourceExhausted,
                           message: "blob \(digest) is \(size) bytes, more than the \(limit) bytes kctr reads into memory")
        }
        var out: [UInt8] = []
        out.reserveCapacity(Int(max(0, size)))
        try await rpc.stream(Content.read, .init(digest: digest)) { chunk in
            let data = chunk.data
            guard Int64(out.count + data.count) <= limit else {
                throw RPCError(code: .resourceExhausted, message: "blob \(digest) grew past \(limit) bytes while reading")
            }
            out.append(contentsOf: data)
        }
        return out
    }

    /// The snapshot `key` of `snapshotter`, or nil when it does not exist.
    public func snapshot(snapshotter: String, key: String) async throws(RPCError) -> SnapshotInfo? {
        do {
            let r = try await rpc.call(Snapshots.stat, .init(snapshotter: snapshotter, key: key))
            return r.info.map(SnapshotInfo.init)
        } catch where error.code == .notFound {
            return nil
        }
    }

    /// The namespace's tasks (one per running or stopped container process).
    public func tasks(filter: String = "") async throws(RPCError) -> [TaskRecord] {
        let r = try await rpc.call(Tasks.list, .init(filter: filter))
        return r.tasks.map(TaskRecord.init)
    }

    /// containerd's container records (CRI's sandboxes and containers alike in k8s.io), e.g. filtered with
    /// `labels."io.cri-containerd.kind"==sandbox`.
    public func containers(filters: [String] = []) async throws(RPCError) -> [ContainerRecord] {
        let r = try await rpc.call(Containers.list, .init(filters: filters))
        return r.containers.map(ContainerRecord.init)
    }
}
