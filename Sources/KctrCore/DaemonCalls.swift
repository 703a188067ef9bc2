import KctrRPC

// The seam between KctrCore and the daemon (as crictl's runtimeServiceOverride, containerd's containers.Store):
// the calls the domain makes, as protocols over the models KctrRPC returns. KctrRPC's clients answer them over
// the channel (the conformances below); the unit tests' fake daemon answers them with canned models, so that
// workloads, stats, inspect and verify-runtime's daemon facts are tested without a socket. Writes, streams and
// exec processes (import, export, prune, exec, events) stay on `Session.containerd`, for the integration tests.

/// CRI's RuntimeService, as KctrCore calls it.
public protocol CRIRuntimeCalls: Sendable {
    func version() async throws(RPCError) -> CRIVersion
    func status(verbose: Bool) async throws(RPCError) -> CRIStatus
    /// nil where the runtime does not implement RuntimeConfig (containerd < 2.0).
    func cgroupDriver() async throws(RPCError) -> String?
    func listPodSandboxes() async throws(RPCError) -> [SandboxSummary]
    func podSandboxStatus(id: String, verbose: Bool) async throws(RPCError) -> SandboxStatus
    func listContainers(podSandboxID: String?) async throws(RPCError) -> [ContainerSummary]
    func containerStatus(id: String, verbose: Bool) async throws(RPCError) -> ContainerStatusReport
    func listContainerStats(id: String?, podSandboxID: String?) async throws(RPCError) -> [ContainerStatsRecord]
    func listPodSandboxStats(id: String?) async throws(RPCError) -> [PodSandboxStatsRecord]
    func execSync(id: String, cmd: [String], timeoutSeconds: Int64) async throws(RPCError) -> ExecSyncResult
    func stopContainer(id: String, timeoutSeconds: Int64) async throws(RPCError)
    func removeContainer(id: String) async throws(RPCError)
    func stopPodSandbox(id: String) async throws(RPCError)
    func removePodSandbox(id: String) async throws(RPCError)
}

extension CRIRuntimeCalls {
    public func listContainers() async throws(RPCError) -> [ContainerSummary] { try await listContainers(podSandboxID: nil) }

    public func listContainerStats(podSandboxID: String?) async throws(RPCError) -> [ContainerStatsRecord] {
        try await listContainerStats(id: nil, podSandboxID: podSandboxID)
    }

    public func listPodSandboxStats() async throws(RPCError) -> [PodSandboxStatsRecord] { try await listPodSandboxStats(id: nil) }
}

/// CRI's ImageService, as KctrCore calls it.
public protocol CRIImageCalls: Sendable {
    func listImages() async throws(RPCError) -> [CRIImage]
    /// nil when CRI does not know the image.
    func imageStatus(_ ref: String) async throws(RPCError) -> CRIImage?
    func imageStatus(_ ref: String, verbose: Bool) async throws(RPCError) -> ImageStatusReport
    func pullImage(_ ref: String, auth: RegistryAuth?, sandboxConfig: CRI.PodSandboxConfig?, timeoutMilliseconds: Int64) async throws(RPCError) -> String
    func imageFsMountpoints() async throws(RPCError) -> [String]
    func imageFsInfo() async throws(RPCError) -> ImageFsInfoRecord
}

/// Both CRI services: what `Session.cri` answers.
public typealias CRICalls = CRIRuntimeCalls & CRIImageCalls

/// containerd's own services, read: the store (images, content, snapshots, leases, ingests), containers and
/// tasks, and the daemon's version, plugins and introspection.
public protocol ContainerdStoreCalls: Sendable {
    /// The same calls in namespace `namespace`.
    func namespacedStore(_ namespace: String) -> any ContainerdStoreCalls
    func version() async throws(RPCError) -> DaemonVersion
    func namespaces() async throws(RPCError) -> [NamespaceRecord]
    func plugins(filters: [String]) async throws(RPCError) -> [PluginRecord]
    /// The daemon itself: its PID and the deprecated features it has seen in use.
    func server() async throws(RPCError) -> ServerInfo
    func images(filters: [String]) async throws(RPCError) -> [ImageRecord]
    /// nil when there is no image of that name.
    func image(named name: String) async throws(RPCError) -> ImageRecord?
    func contentInfo(digest: String) async throws(RPCError) -> ContentInfo?
    /// A whole blob, refused when larger than `limit`.
    func readBlob(digest: String, size: Int64, limit: Int64) async throws -> [UInt8]
    func contentList(filters: [String]) async throws -> [ContentRecord]
    func ingestStatuses() async throws(RPCError) -> [IngestStatus]
    /// nil when the snapshot does not exist.
    func snapshot(snapshotter: String, key: String) async throws(RPCError) -> SnapshotInfo?
    func snapshotList(snapshotter: String) async throws -> [SnapshotRecord]
    /// Which of `keys` (chain IDs) are snapshots of `snapshotter`, in one filtered list.
    func existingSnapshots(snapshotter: String, keys: [String]) async throws -> Set<String>
    func snapshotUsage(snapshotter: String, key: String) async throws(RPCError) -> SnapshotUsage
    func leaseRecords(filters: [String]) async throws(RPCError) -> [LeaseRecord]
    func leaseResources(id: String) async throws(RPCError) -> [LeaseResource]
    func tasks(filter: String) async throws(RPCError) -> [TaskRecord]
    func containers(filters: [String]) async throws(RPCError) -> [ContainerRecord]
}

extension ContainerdStoreCalls {
    /// Manifests, indexes and configs: at most 16 MiB (ContainerdAPI.readBlob's own limit).
    public func readBlob(digest: String, size: Int64) async throws -> [UInt8] {
        try await readBlob(digest: digest, size: size, limit: 16 << 20)
    }

    public func plugins() async throws(RPCError) -> [PluginRecord] { try await plugins(filters: []) }
    public func images() async throws(RPCError) -> [ImageRecord] { try await images(filters: []) }
    public func contentList() async throws -> [ContentRecord] { try await contentList(filters: []) }
    public func leaseRecords() async throws(RPCError) -> [LeaseRecord] { try await leaseRecords(filters: []) }
    public func tasks() async throws(RPCError) -> [TaskRecord] { try await tasks(filter: "") }
    public func containers() async throws(RPCError) -> [ContainerRecord] { try await containers(filters: []) }
}

extension CRIAPI: CRIRuntimeCalls, CRIImageCalls {}

extension ContainerdAPI: ContainerdStoreCalls {
    public func namespacedStore(_ namespace: String) -> any ContainerdStoreCalls { namespaced(namespace) }
}
