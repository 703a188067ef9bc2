import Foundation
import Synchronization
import XCTest
@testable import KctrCore
@testable import KctrRPC

/// containerd and its CRI plugin in memory, behind the seam KctrCore calls (DaemonCalls.swift): each call
/// returns what the test put here, or fails with the error set for its method (with the method's path, as
/// errors from the wire have it, so that `Session.explain` words it as it would a real one). Calls are logged.
struct FakeDaemon: CRICalls, ContainerdStoreCalls {
    /// The namespace containerd's calls are made in (`namespacedStore` changes it).
    var namespace = "k8s.io"

    // CRI
    var criVersion = CRIVersion(version: "0.1.0", runtimeName: "containerd", runtimeVersion: "v2.3.4", runtimeApiVersion: "v1")
    var criStatus = CRIStatus(conditions: [], info: [:])
    /// RuntimeConfig's driver; nil as on containerd < 2.0 (CRIAPI turns its Unimplemented into nil).
    var cgroupDriverName: String?
    var pods: [SandboxSummary] = []
    var podStatuses: [String: SandboxStatus] = [:]
    var containerList: [ContainerSummary] = []
    var containerStatuses: [String: ContainerStatusReport] = [:]
    /// Successive ListContainerStats replies: the n-th call gets the n-th (the last one once past the end).
    var containerStatsSamples: [[ContainerStatsRecord]] = []
    var podStatsSamples: [[PodSandboxStatsRecord]] = []
    var criImages: [CRIImage] = []
    var imageFilesystems: [String] = []

    // containerd, namespaced where containerd is
    var daemonVersion = DaemonVersion(version: "v2.3.4", revision: "abc123")
    var pluginList: [PluginRecord] = []
    var serverInfo = ServerInfo(uuid: "u", pid: 0, pidNamespace: 0, deprecations: [])
    var imageRecords: [String: [ImageRecord]] = [:]
    var blobs: [String: [UInt8]] = [:]
    /// "snapshotter/key" of the snapshots that exist.
    var snapshots: Set<String> = []
    var taskRecords: [String: [TaskRecord]] = [:]
    var containerRecords: [String: [ContainerRecord]] = [:]

    /// Errors by method, e.g. "runtime.v1.RuntimeService/Version".
    var failures: [String: RPCError.Code] = [:]
    let calls = CallLog()

    /// A session whose CRI and store are this daemon, at a socket that does not exist.
    /// `cacheDirectory` and `storeStamp`: for `images ls`' caches.
    func session(namespace: String = "k8s.io", cacheDirectory: String? = nil,
                 storeStamp: any StoreStampReading = NoStoreStamp(reason: "the fake daemon has no metadata file"),
                 log: (@Sendable (String) -> Void)? = nil) throws -> Session {
        let config = SessionConfig(endpoint: Endpoint(path: "/nonexistent/kctr-fake.sock", source: "default"), namespace: namespace,
                                   timeoutMilliseconds: 2000, maxReceiveBytes: 16 << 20, debug: log != nil, cacheDirectory: cacheDirectory)
        return try Session(config: config, cri: self, store: namespacedStore(namespace), storeStamp: storeStamp, log: log ?? { _ in })
    }

    final class CallLog: Sendable {
        private let entries = Mutex<[String]>([])
        func add(_ call: String) { entries.withLock { $0.append(call) } }
        var all: [String] { entries.withLock { $0 } }
        func count(_ call: String) -> Int { entries.withLock { $0.filter { $0 == call }.count } }
    }

    /// Logs the call (method and, for containerd, namespace) and fails it when the test said so.
    private func call(_ method: String) throws(RPCError) {
        let namespaced = method.hasPrefix("containerd.") ? "\(method) [\(namespace)]" : method
        calls.add(namespaced)
        if let code = failures[method] {
            throw RPCError(code: code, message: "fake \(code.name) for \(method)", method: "/" + method)
        }
    }

    private static let runtime = "runtime.v1.RuntimeService/"
    private static let image = "runtime.v1.ImageService/"

    // MARK: CRIRuntimeCalls

    func version() async throws(RPCError) -> CRIVersion { try call(Self.runtime + "Version"); return criVersion }
    func status(verbose: Bool) async throws(RPCError) -> CRIStatus { try call(Self.runtime + "Status"); return criStatus }
    func cgroupDriver() async throws(RPCError) -> String? { try call(Self.runtime + "RuntimeConfig"); return cgroupDriverName }
    func listPodSandboxes() async throws(RPCError) -> [SandboxSummary] { try call(Self.runtime + "ListPodSandbox"); return pods }

    func podSandboxStatus(id: String, verbose: Bool) async throws(RPCError) -> SandboxStatus {
        try call(Self.runtime + "PodSandboxStatus")
        guard let s = podStatuses[id] else { throw RPCError(code: .notFound, message: "an error occurred when try to find sandbox \(id)") }
        return s
    }

    func listContainers(podSandboxID: String?) async throws(RPCError) -> [ContainerSummary] {
        try call(Self.runtime + "ListContainers")
        return containerList.filter { podSandboxID == nil || $0.podSandboxID == podSandboxID }
    }

    func containerStatus(id: String, verbose: Bool) async throws(RPCError) -> ContainerStatusReport {
        try call(Self.runtime + "ContainerStatus")
        guard let s = containerStatuses[id] else { throw RPCError(code: .notFound, message: "an error occurred when try to find container \(id)") }
        return s
    }

    func listContainerStats(id: String?, podSandboxID: String?) async throws(RPCError) -> [ContainerStatsRecord] {
        let method = Self.runtime + "ListContainerStats"
        try call(method)
        let sample = containerStatsSamples.isEmpty ? [] : containerStatsSamples[min(calls.count(method), containerStatsSamples.count) - 1]
        return sample.filter { (id == nil || $0.id == id) && (podSandboxID == nil || $0.podSandboxID == podSandboxID) }
    }

    func listPodSandboxStats(id: String?) async throws(RPCError) -> [PodSandboxStatsRecord] {
        let method = Self.runtime + "ListPodSandboxStats"
        try call(method)
        let sample = podStatsSamples.isEmpty ? [] : podStatsSamples[min(calls.count(method), podStatsSamples.count) - 1]
        return sample.filter { id == nil || $0.id == id }
    }

    func execSync(id: String, cmd: [String], timeoutSeconds: Int64) async throws(RPCError) -> ExecSyncResult {
        try call(Self.runtime + "ExecSync")
        return ExecSyncResult(stdout: [], stderr: [], exitCode: 0)
    }

    func stopContainer(id: String, timeoutSeconds: Int64) async throws(RPCError) { try call(Self.runtime + "StopContainer") }
    func removeContainer(id: String) async throws(RPCError) { try call(Self.runtime + "RemoveContainer") }
    func stopPodSandbox(id: String) async throws(RPCError) { try call(Self.runtime + "StopPodSandbox") }
    func removePodSandbox(id: String) async throws(RPCError) { try call(Self.runtime + "RemovePodSandbox") }

    // MARK: CRIImageCalls

    func listImages() async throws(RPCError) -> [CRIImage] { try call(Self.image + "ListImages"); return criImages }

    func imageStatus(_ ref: String) async throws(RPCError) -> CRIImage? {
        try call(Self.image + "ImageStatus")
        return criImages.first { $0.id == ref || $0.repoTags.contains(ref) || $0.repoDigests.contains(ref) }
    }

    func imageStatus(_ ref: String, verbose: Bool) async throws(RPCError) -> ImageStatusReport {
        try call(Self.image + "ImageStatus")
        return ImageStatusReport(image: nil, info: [:])
    }

    func pullImage(_ ref: String, auth: RegistryAuth?, sandboxConfig: CRI.PodSandboxConfig?, timeoutMilliseconds: Int64) async throws(RPCError) -> String {
        try call(Self.image + "PullImage")
        return ref
    }

    func imageFsMountpoints() async throws(RPCError) -> [String] { try call(Self.image + "ImageFsInfo"); return imageFilesystems }

    func imageFsInfo() async throws(RPCError) -> ImageFsInfoRecord {
        try call(Self.image + "ImageFsInfo")
        return ImageFsInfoRecord(imageFilesystems: [], containerFilesystems: [])
    }

    // MARK: ContainerdStoreCalls

    func namespacedStore(_ namespace: String) -> any ContainerdStoreCalls {
        var copy = self
        copy.namespace = namespace
        return copy
    }

    func version() async throws(RPCError) -> DaemonVersion {
        try call("containerd.services.version.v1.Version/Version")
        return daemonVersion
    }

    func namespaces() async throws(RPCError) -> [NamespaceRecord] {
        try call("containerd.services.namespaces.v1.Namespaces/List")
        return Set(imageRecords.keys).union(containerRecords.keys).sorted().map { NamespaceRecord(name: $0, labels: [:]) }
    }

    func plugins(filters: [String]) async throws(RPCError) -> [PluginRecord] {
        try call("containerd.services.introspection.v1.Introspection/Plugins")
        return pluginList
    }

    func server() async throws(RPCError) -> ServerInfo {
        try call("containerd.services.introspection.v1.Introspection/Server")
        return serverInfo
    }

    func images(filters: [String]) async throws(RPCError) -> [ImageRecord] {
        try call("containerd.services.images.v1.Images/List")
        return imageRecords[namespace] ?? []
    }

    func image(named name: String) async throws(RPCError) -> ImageRecord? {
        try call("containerd.services.images.v1.Images/Get")
        return imageRecords[namespace]?.first { $0.name == name }
    }

    func contentInfo(digest: String) async throws(RPCError) -> ContentInfo? {
        try call("containerd.services.content.v1.Content/Info")
        return blobs[digest].map { ContentInfo(Containerd.Content.Info(digest: digest, size: Int64($0.count))) }
    }

    func readBlob(digest: String, size: Int64, limit: Int64) async throws -> [UInt8] {
        try call("containerd.services.content.v1.Content/Read")
        guard let bytes = blobs[digest] else { throw RPCError(code: .notFound, message: "content digest \(digest): not found") }
        return bytes
    }

    func contentList(filters: [String]) async throws -> [ContentRecord] {
        try call("containerd.services.content.v1.Content/List")
        return blobs.map { ContentRecord(digest: $0.key, size: Int64($0.value.count)) }.sorted { $0.digest < $1.digest }
    }

    func ingestStatuses() async throws(RPCError) -> [IngestStatus] { try call("containerd.services.content.v1.Content/ListStatuses"); return [] }

    func snapshot(snapshotter: String, key: String) async throws(RPCError) -> SnapshotInfo? {
        try call("containerd.services.snapshots.v1.Snapshots/Stat")
        guard snapshots.contains("\(snapshotter)/\(key)") else { return nil }
        return SnapshotInfo(Containerd.Snapshots.Info(name: key))
    }

    func snapshotList(snapshotter: String) async throws -> [SnapshotRecord] {
        try call("containerd.services.snapshots.v1.Snapshots/List")
        return snapshots.filter { $0.hasPrefix(snapshotter + "/") }.sorted()
            .map { SnapshotRecord(snapshotter: snapshotter, key: String($0.dropFirst(snapshotter.count + 1)), parent: "", kind: "committed") }
    }

    func existingSnapshots(snapshotter: String, keys: [String]) async throws -> Set<String> {
        try call("containerd.services.snapshots.v1.Snapshots/List")
        return Set(keys.filter { snapshots.contains("\(snapshotter)/\($0)") })
    }

    func snapshotUsage(snapshotter: String, key: String) async throws(RPCError) -> SnapshotUsage {
        try call("containerd.services.snapshots.v1.Snapshots/Usage")
        return SnapshotUsage(bytes: 0, inodes: 0)
    }

    func leaseRecords(filters: [String]) async throws(RPCError) -> [LeaseRecord] { try call("containerd.services.leases.v1.Leases/List"); return [] }
    func leaseResources(id: String) async throws(RPCError) -> [LeaseResource] { try call("containerd.services.leases.v1.Leases/ListResources"); return [] }

    func tasks(filter: String) async throws(RPCError) -> [TaskRecord] {
        try call("containerd.services.tasks.v1.Tasks/List")
        return taskRecords[namespace] ?? []
    }

    func containers(filters: [String]) async throws(RPCError) -> [ContainerRecord] {
        try call("containerd.services.containers.v1.Containers/List")
        let all = containerRecords[namespace] ?? []
        // The one filter KctrCore sends: CRI's sandbox containers.
        if filters == [#"labels."io.cri-containerd.kind"==sandbox"#] { return all.filter { $0.labels["io.cri-containerd.kind"] == "sandbox" } }
        return all
    }
}

/// CRI's messages as the wire decodes them, built from the few fields the tests set, as the generated typed
/// messages.
enum FakeCRI {
    static let nanosPerSecond: Int64 = 1_000_000_000

    static func pod(_ id: String, name: String, namespace: String = "default", ready: Bool = true, createdAt: Int64,
                    labels: [String: String] = [:], handler: String = "") -> SandboxSummary {
        SandboxSummary(CRI.PodSandbox(
            id: id, metadata: CRI.PodSandboxMetadata(name: name, uid: "uid-" + name, namespace: namespace, attempt: 0),
            state: ready ? .sandboxReady : .sandboxNotready, createdAt: createdAt, labels: labels, runtimeHandler: handler))
    }

    enum State {
        case created, running, exited, unknown

        var cri: CRI.ContainerState {
            switch self {
            case .created: .containerCreated
            case .running: .containerRunning
            case .exited: .containerExited
            case .unknown: .containerUnknown
            }
        }
    }

    static func container(_ id: String, name: String, pod: SandboxSummary, state: State = .running, image: String, imageRef: String,
                          createdAt: Int64, labels: [String: String] = [:]) -> ContainerSummary {
        ContainerSummary(CRI.Container(
            id: id, podSandboxId: pod.id, metadata: CRI.ContainerMetadata(name: name, attempt: 0),
            image: CRI.ImageSpec(image: image), imageRef: imageRef, state: state.cri, createdAt: createdAt, labels: labels))
    }

    /// `ContainerStatus` from the recorded document under Fixtures/inspect (protobuf's JSON names), with its
    /// verbose `info`.
    static func containerStatus(id: String, state: State, exitCode: Int32 = 0, name: String, createdAt: Int64,
                                labels: [String: String] = [:], info: String) -> ContainerStatusReport {
        ContainerStatusReport(status: CRI.ContainerStatus(
            id: id, metadata: CRI.ContainerMetadata(name: name, attempt: 0), state: state.cri, createdAt: createdAt,
            exitCode: exitCode, image: CRI.ImageSpec(image: "docker.io/library/busybox:1.36"),
            imageRef: "sha256:" + String(repeating: "b", count: 64), labels: labels, logPath: "/var/log/pods/\(name).log"),
            info: ["info": info])
    }

    static func podStatus(_ pod: SandboxSummary, ip: String?, hostNetwork: Bool = false, info: String) -> SandboxStatus {
        let m = pod.message
        let options = CRI.NamespaceOption(network: hostNetwork ? .node : .pod, pid: .container, ipc: .pod)
        let status = CRI.PodSandboxStatus(
            id: m.id, metadata: m.metadata, state: m.state, createdAt: m.createdAt,
            network: ip.map { CRI.PodSandboxNetworkStatus(ip: $0) },
            linux: CRI.LinuxPodSandboxStatus(namespaces: CRI.Namespace(options: options)),
            labels: m.labels, annotations: m.annotations, runtimeHandler: m.runtimeHandler)
        return SandboxStatus(status: status, info: ["info": info])
    }

    static func containerStats(_ c: ContainerSummary, cpuAt seconds: Int64, coreNanos: UInt64?, nanoCores: UInt64?,
                               workingSet: UInt64?, layerBytes: UInt64? = nil) -> ContainerStatsRecord {
        func wrapped(_ v: UInt64?) -> CRI.UInt64Value? { v.map { CRI.UInt64Value(value: $0) } }
        return ContainerStatsRecord(CRI.ContainerStats(
            attributes: CRI.ContainerAttributes(id: c.id, metadata: CRI.ContainerMetadata(name: c.name, attempt: 0),
                                                labels: ["io.kubernetes.sandbox.id": c.podSandboxID]),
            cpu: CRI.CpuUsage(timestamp: seconds * nanosPerSecond, usageCoreNanoSeconds: wrapped(coreNanos), usageNanoCores: wrapped(nanoCores)),
            memory: CRI.MemoryUsage(timestamp: seconds * nanosPerSecond, workingSetBytes: wrapped(workingSet)),
            writableLayer: CRI.FilesystemUsage(fsId: CRI.FilesystemIdentifier(mountpoint: "/var/lib/containerd/overlayfs"),
                                               usedBytes: wrapped(layerBytes))))
    }

    static func podStats(_ pod: SandboxSummary, cpuAt seconds: Int64, coreNanos: UInt64, nanoCores: UInt64?,
                         processes: UInt64) -> PodSandboxStatsRecord {
        PodSandboxStatsRecord(CRI.PodSandboxStats(
            attributes: CRI.PodSandboxAttributes(id: pod.id, metadata: CRI.PodSandboxMetadata(name: pod.name, uid: pod.uid, namespace: pod.namespace)),
            linux: CRI.LinuxPodSandboxStats(
                cpu: CRI.CpuUsage(timestamp: seconds * nanosPerSecond, usageCoreNanoSeconds: CRI.UInt64Value(value: coreNanos),
                                  usageNanoCores: nanoCores.map { CRI.UInt64Value(value: $0) }),
                process: CRI.ProcessUsage(processCount: CRI.UInt64Value(value: processes)))))
    }

    static func image(_ id: String, tags: [String], digests: [String] = [], pinned: Bool = false) -> CRIImage {
        CRIImage(CRI.Image(id: id, repoTags: tags, repoDigests: digests, size: 1000, pinned: pinned))
    }

    static func plugin(_ type: String, _ id: String, exports: [String: String] = [:], initError: String? = nil) -> PluginRecord {
        PluginRecord(Containerd.Introspection.Plugin(type: type, id: id, exports: exports,
                                                      initErr: initError.map { Google.RPC.Status(message: $0) }))
    }
}
