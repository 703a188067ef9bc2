/// CRI calls on pod sandboxes and containers. One function per RPC.
extension CRIAPI {
    public func listPodSandboxes() async throws(RPCError) -> [SandboxSummary] {
        let r = try await rpc.unary(RPCMethod(Service.runtime, "ListPodSandbox"))
        return r.messages("items").map(SandboxSummary.init)
    }

    /// The sandbox's status, with the runtime's verbose `info` when asked.
    public func podSandboxStatus(id: String, verbose: Bool) async throws(RPCError) -> SandboxStatus {
        let r = try await rpc.unary(RPCMethod(Service.runtime, "PodSandboxStatus"),
                                    Proto(["pod_sandbox_id": .string(id), "verbose": .bool(verbose)]))
        return SandboxStatus(status: r.message("status") ?? Proto(), info: r.map("info"))
    }

    public func listContainers(podSandboxID: String? = nil) async throws(RPCError) -> [ContainerSummary] {
        var req = Proto()
        if let podSandboxID { req["filter"] = .message(Proto(["pod_sandbox_id": .string(podSandboxID)])) }
        let r = try await rpc.unary(RPCMethod(Service.runtime, "ListContainers"), req)
        return r.messages("containers").map(ContainerSummary.init)
    }

    public func containerStatus(id: String, verbose: Bool) async throws(RPCError) -> ContainerStatusReport {
        let r = try await rpc.unary(RPCMethod(Service.runtime, "ContainerStatus"),
                                    Proto(["container_id": .string(id), "verbose": .bool(verbose)]))
        return ContainerStatusReport(status: r.message("status") ?? Proto(), info: r.map("info"))
    }

    // Lifecycle calls, used by tests and tools that need real pods.

    public func runPodSandbox(config: Proto, runtimeHandler: String = "") async throws(RPCError) -> String {
        let r = try await rpc.unary(RPCMethod(Service.runtime, "RunPodSandbox"),
                                    Proto(["config": .message(config), "runtime_handler": .string(runtimeHandler)]))
        return r.string("pod_sandbox_id")
    }

    public func createContainer(podSandboxID: String, config: Proto, sandboxConfig: Proto) async throws(RPCError) -> String {
        let r = try await rpc.unary(RPCMethod(Service.runtime, "CreateContainer"),
                                    Proto(["pod_sandbox_id": .string(podSandboxID), "config": .message(config),
                                           "sandbox_config": .message(sandboxConfig)]))
        return r.string("container_id")
    }

    public func startContainer(id: String) async throws(RPCError) {
        _ = try await rpc.unary(RPCMethod(Service.runtime, "StartContainer"), Proto(["container_id": .string(id)]))
    }

    /// Runs `cmd` in the container and waits for it (CRI ExecSync): its output and exit code.
    /// `timeoutSeconds` 0 lets it run as long as it takes.
    public func execSync(id: String, cmd: [String], timeoutSeconds: Int64) async throws(RPCError) -> ExecSyncResult {
        let client = rpc.withTimeout(milliseconds: timeoutSeconds > 0 ? (timeoutSeconds + 5) * 1000 : 0)
        let r = try await client.unary(RPCMethod(Service.runtime, "ExecSync"), Proto([
            "container_id": .string(id), "cmd": .strings(cmd), "timeout": .int(timeoutSeconds),
        ]))
        return ExecSyncResult(stdout: r.bytes("stdout"), stderr: r.bytes("stderr"), exitCode: Int32(truncatingIfNeeded: r.int("exit_code")))
    }

    /// Asks the container to stop (SIGTERM, or its image's stop signal) and kills it after `timeoutSeconds`;
    /// the call's deadline is the session's plus that grace period.
    public func stopContainer(id: String, timeoutSeconds: Int64) async throws(RPCError) {
        let grace = max(0, min(timeoutSeconds, 365 * 86_400)) * 1000
        _ = try await rpc.withTimeout(milliseconds: rpc.options.timeoutMilliseconds + grace)
            .unary(RPCMethod(Service.runtime, "StopContainer"), Proto(["container_id": .string(id), "timeout": .int(timeoutSeconds)]))
    }

    public func removeContainer(id: String) async throws(RPCError) {
        _ = try await rpc.unary(RPCMethod(Service.runtime, "RemoveContainer"), Proto(["container_id": .string(id)]))
    }

    public func stopPodSandbox(id: String) async throws(RPCError) {
        _ = try await rpc.unary(RPCMethod(Service.runtime, "StopPodSandbox"), Proto(["pod_sandbox_id": .string(id)]))
    }

    public func removePodSandbox(id: String) async throws(RPCError) {
        _ = try await rpc.unary(RPCMethod(Service.runtime, "RemovePodSandbox"), Proto(["pod_sandbox_id": .string(id)]))
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
    public var proto: Proto

    init(_ p: Proto) {
        proto = p
        id = p.string("id")
        let m = p.message("metadata") ?? Proto()
        name = m.string("name")
        uid = m.string("uid")
        namespace = m.string("namespace")
        attempt = m.uint("attempt")
        state = p.enumValue("state") == 0 ? "Ready" : "NotReady"
        createdAt = p.int("created_at")
        labels = p.map("labels")
        annotations = p.map("annotations")
        runtimeHandler = p.string("runtime_handler")
    }
}

public struct SandboxStatus: Sendable, Equatable {
    /// The CRI `PodSandboxStatus` message, whole.
    public var status: Proto
    /// Verbose info documents by key (containerd: "info", a JSON document).
    public var info: [String: String]

    public var summary: SandboxSummary { SandboxSummary(status) }
    public var ips: [String] {
        guard let net = status.message("network") else { return [] }
        return ([net.string("ip")] + net.messages("additional_ips").map { $0.string("ip") }).filter { !$0.isEmpty }
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
    public var proto: Proto

    init(_ p: Proto) {
        proto = p
        id = p.string("id")
        podSandboxID = p.string("pod_sandbox_id")
        let m = p.message("metadata") ?? Proto()
        name = m.string("name")
        attempt = m.uint("attempt")
        image = (p.message("image") ?? Proto()).string("image")
        imageRef = p.string("image_ref")
        state = ContainerSummary.stateName(p.enumValue("state"))
        createdAt = p.int("created_at")
        labels = p.map("labels")
        annotations = p.map("annotations")
    }

    static func stateName(_ v: Int32) -> String {
        switch v {
        case 0: return "Created"
        case 1: return "Running"
        case 2: return "Exited"
        default: return "Unknown"
        }
    }
}

public struct ContainerStatusReport: Sendable, Equatable {
    /// The CRI `ContainerStatus` message, whole.
    public var status: Proto
    public var info: [String: String]

    public var state: String { ContainerSummary.stateName(status.enumValue("state")) }
    public var exitCode: Int64 { status.int("exit_code") }
    public var logPath: String { status.string("log_path") }
}

/// What CRI ExecSync returns.
public struct ExecSyncResult: Sendable, Equatable {
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    public var exitCode: Int32
}
