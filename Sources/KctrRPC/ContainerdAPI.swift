/// Typed calls to containerd's own services. One function per RPC.
public struct ContainerdAPI: Sendable {
    public let rpc: RPCClient

    public init(_ rpc: RPCClient) { self.rpc = rpc }

    enum Service {
        static let version = "containerd.services.version.v1.Version"
        static let namespaces = "containerd.services.namespaces.v1.Namespaces"
        static let images = "containerd.services.images.v1.Images"
        static let content = "containerd.services.content.v1.Content"
        static let snapshots = "containerd.services.snapshots.v1.Snapshots"
        static let introspection = "containerd.services.introspection.v1.Introspection"
        static let leases = "containerd.services.leases.v1.Leases"
        static let diff = "containerd.services.diff.v1.Diff"
        static let events = "containerd.services.events.v1.Events"
        static let tasks = "containerd.services.tasks.v1.Tasks"
        static let containers = "containerd.services.containers.v1.Containers"
    }

    /// The same API with `containerd-namespace` set.
    public func namespaced(_ namespace: String) -> ContainerdAPI {
        ContainerdAPI(rpc.with("containerd-namespace", namespace))
    }

    public func version() async throws(RPCError) -> DaemonVersion {
        let r = try await rpc.unary(RPCMethod(Service.version, "Version"))
        return DaemonVersion(version: r.string("version"), revision: r.string("revision"))
    }

    public func namespaces() async throws(RPCError) -> [NamespaceRecord] {
        let r = try await rpc.unary(RPCMethod(Service.namespaces, "List"))
        return r.messages("namespaces").map { NamespaceRecord(name: $0.string("name"), labels: $0.map("labels")) }
    }

    public func images(filters: [String] = []) async throws(RPCError) -> [ImageRecord] {
        // Read from the wire bytes: thousands of names make this the costliest reply to decode.
        try await rpc.unary(RPCMethod(Service.images, "List"), Proto(["filters": .strings(filters)]),
                            decode: ImageListWire.containerdImages)
    }

    /// The image named `name`, or nil when there is none.
    public func image(named name: String) async throws(RPCError) -> ImageRecord? {
        do {
            let r = try await rpc.unary(RPCMethod(Service.images, "Get"), Proto(["name": .string(name)]))
            return r.message("image").map(ImageRecord.init)
        } catch where error.code == .notFound {
            return nil
        }
    }

    /// The daemon itself: its PID and the deprecated features it has seen in use.
    public func server() async throws(RPCError) -> ServerInfo {
        ServerInfo(try await rpc.unary(RPCMethod(Service.introspection, "Server")))
    }

    public func plugins(filters: [String] = []) async throws(RPCError) -> [PluginRecord] {
        let r = try await rpc.unary(RPCMethod(Service.introspection, "Plugins"), Proto(["filters": .strings(filters)]))
        return r.messages("plugins").map(PluginRecord.init)
    }

    public func contentInfo(digest: String) async throws(RPCError) -> ContentInfo? {
        do {
            let r = try await rpc.unary(RPCMethod(Service.content, "Info"), Proto(["digest": .string(digest)]))
            return r.message("info").map(ContentInfo.init)
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
        try await rpc.serverStream(RPCMethod(Service.content, "Read"), Proto(["digest": .string(digest)])) { chunk in
            let data = chunk.bytes("data")
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
            let r = try await rpc.unary(RPCMethod(Service.snapshots, "Stat"),
                                        Proto(["snapshotter": .string(snapshotter), "key": .string(key)]))
            return r.message("info").map(SnapshotInfo.init)
        } catch where error.code == .notFound {
            return nil
        }
    }

    /// The namespace's tasks (one per running or stopped container process).
    public func tasks(filter: String = "") async throws(RPCError) -> [TaskRecord] {
        let r = try await rpc.unary(RPCMethod(Service.tasks, "List"), Proto(["filter": .string(filter)]))
        return r.messages("tasks").map(TaskRecord.init)
    }

    /// containerd's container records (CRI's sandboxes and containers alike in k8s.io), e.g. filtered with
    /// `labels."io.cri-containerd.kind"==sandbox`.
    public func containers(filters: [String] = []) async throws(RPCError) -> [ContainerRecord] {
        let r = try await rpc.unary(RPCMethod(Service.containers, "List"), Proto(["filters": .strings(filters)]))
        return r.messages("containers").map(ContainerRecord.init)
    }
}
