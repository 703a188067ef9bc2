/// CRI calls on pod sandboxes and containers. One function per RPC.
extension CRIAPI {
    public func listPodSandboxes() async throws(RPCError) -> [SandboxSummary] {
        let r = try await rpc.call(Runtime.listPodSandbox)
        return r.items.map(SandboxSummary.init)
    }

    /// The sandbox's status, with the runtime's verbose `info` when asked.
    public func podSandboxStatus(id: String, verbose: Bool) async throws(RPCError) -> SandboxStatus {
        let r = try await rpc.call(Runtime.podSandboxStatus, .init(podSandboxId: id, verbose: verbose))
        return SandboxStatus(status: r.status ?? .init(), info: r.info)
    }

    public func listContainers(podSandboxID: String? = nil) async throws(RPCError) -> [ContainerSummary] {
        let r = try await rpc.call(Runtime.listContainers, .init(filter: podSandboxID.map { .init(podSandboxId: $0) }))
        return r.containers.map(ContainerSummary.init)
    }

    public func containerStatus(id: String, verbose: Bool) async throws(RPCError) -> ContainerStatusReport {
        let r = try await rpc.call(Runtime.containerStatus, .init(containerId: id, verbose: verbose))
        return ContainerStatusReport(status: r.status ?? .init(), info: r.info)
    }

    // Lifecycle calls, used by tests and tools that need real pods.

    public func runPodSandbox(config: CRI.PodSandboxConfig, runtimeHandler: String = "") async throws(RPCError) -> String {
        let r = try await rpc.call(Runtime.runPodSandbox, .init(config: config, runtimeHandler: runtimeHandler))
        return r.podSandboxId
    }

    public func createContainer(podSandboxID: String, config: CRI.ContainerConfig,
                                sandboxConfig: CRI.PodSandboxConfig) async throws(RPCError) -> String {
        let r = try await rpc.call(Runtime.createContainer,
                                   .init(podSandboxId: podSandboxID, config: config, sandboxConfig: sandboxConfig))
        return r.containerId
    }

    public func startContainer(id: String) async throws(RPCError) {
        _ = try await rpc.call(Runtime.startContainer, .init(containerId: id))
    }

    /// Runs `cmd` in the container and waits for it (CRI ExecSync): its output and exit code.
    /// `timeoutSeconds` 0 lets it run as long as it takes.
    public func execSync(id: String, cmd: [String], timeoutSeconds: Int64) async throws(RPCError) -> ExecSyncResult {
        let client = rpc.withTimeout(milliseconds: timeoutSeconds > 0 ? (timeoutSeconds + 5) * 1000 : 0)
        let r = try await client.call(Runtime.execSync, .init(containerId: id, cmd: cmd, timeout: timeoutSeconds))
        return ExecSyncResult(stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode)
    }

    /// Asks the container to stop (SIGTERM, or its image's stop signal) and kills it after `timeoutSeconds`;
    /// the call's deadline is the session's plus that grace period.
    public func stopContainer(id: String, timeoutSeconds: Int64) async throws(RPCError) {
        let grace = max(0, min(timeoutSeconds, 365 * 86_400)) * 1000
        _ = try await rpc.withTimeout(milliseconds: rpc.options.timeoutMilliseconds + grace)
            .call(Runtime.stopContainer, .init(containerId: id, timeout: timeoutSeconds))
    }

    public func removeContainer(id: String) async throws(RPCError) {
        _ = try await rpc.call(Runtime.removeContainer, .init(containerId: id))
    }

    public func stopPodSandbox(id: String) async throws(RPCError) {
        _ = try await rpc.call(Runtime.stopPodSandbox, .init(podSandboxId: id))
    }

    public func removePodSandbox(id: String) async throws(RPCError) {
        _ = try await rpc.call(Runtime.removePodSandbox, .init(podSandboxId: id))
    }
}

public struct SandboxSummary: Sendable, Equatable {
    public var id: String
    public var name: String
    public var uid: String
    public var namespace: String
    public var attempt: UInt64
    /// "Ready" or "NotReady".
    public var state: String
    /// Nanoseconds since 1970.
    public var createdAt: Int64
    public var labels: [String: String]
    public var annotations: [String: String]
    public var runtimeHandler: String
    /// The CRI `PodSandbox` message, whole.
    public var message: CRI.PodSandbox

    public init(_ p: CRI.PodSandbox) {
        message = p
        id = p.id
        let m = p.metadata ?? .init()
        name = m.name
        uid = m.uid
        namespace = m.namespace
        attempt = UInt64(m.attempt)
        state = p.state == .sandboxReady ? "Ready" : "NotReady"
        createdAt = p.createdAt
        labels = p.labels
        annotations = p.annotations
        runtimeHandler = p.runtimeHandler
    }
}

public struct SandboxStatus: Sendable, Equatable {
    /// The CRI `PodSandboxStatus` message, whole.
    public var status: CRI.PodSandboxStatus
    /// Verbose info documents by key (containerd: "info", a JSON document).
    public var info: [String: String]

    public init(status: CRI.PodSandboxStatus, info: [String: String]) {
        self.status = status
        self.info = info
    }

    public var summary: SandboxSummary {
        SandboxSummary(CRI.PodSandbox(id: status.id, metadata: status.metadata, state: status.state, createdAt: status.createdAt,
                                      labels: status.labels, annotations: status.annotations, runtimeHandler: status.runtimeHandler))
    }

    public var ips: [String] {
        guard let net = status.network else { return [] }
        return ([net.ip] + net.additionalIps.map(\.ip)).filter { !$0.isEmpty }
    }
}

public struct ContainerSummary: Sendable, Equatable {
    public var id: String
    public var podSandboxID: String
    public var name: String
    public var attempt: UInt64
    /// The image as the container was created with it (a name or an ID).
    public var image: String
    public var imageRef: String
    /// "Created", "Running", "Exited" or "Unknown".
    public var state: String
    public var createdAt: Int64
    public var labels: [String: String]
    public var annotations: [String: String]
    /// The CRI `Container` message, whole.
    public var message: CRI.Container

    public init(_ p: CRI.Container) {
        message = p
        id = p.id
        podSandboxID = p.podSandboxId
        let m = p.metadata ?? .init()
        name = m.name
        attempt = UInt64(m.attempt)
        image = p.image?.image ?? ""
        imageRef = p.imageRef
        state = ContainerSummary.stateName(p.state)
        createdAt = p.createdAt
        labels = p.labels
        annotations = p.annotations
    }

    static func stateName(_ v: CRI.ContainerState) -> String {
        switch v {
        case .containerCreated: return "Created"
        case .containerRunning: return "Running"
        case .containerExited: return "Exited"
        case .containerUnknown, .unrecognized: return "Unknown"
        }
    }
}

public struct ContainerStatusReport: Sendable, Equatable {
    /// The CRI `ContainerStatus` message, whole.
    public var status: CRI.ContainerStatus
    public var info: [String: String]

    public init(status: CRI.ContainerStatus, info: [String: String]) {
        self.status = status
        self.info = info
    }

    public var state: String { ContainerSummary.stateName(status.state) }
    public var exitCode: Int64 { Int64(status.exitCode) }
    public var logPath: String { status.logPath }
}

/// What CRI ExecSync returns.
public struct ExecSyncResult: Sendable, Equatable {
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    public var exitCode: Int32
}
