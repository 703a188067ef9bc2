/// CRI container statistics. One function per RPC.
extension CRIAPI {
    /// `ListContainerStats`, optionally narrowed server-side to one container or pod sandbox.
    public func listContainerStats(id: String? = nil, podSandboxID: String? = nil) async throws(RPCError) -> [ContainerStatsRecord] {
        var filter = Proto()
        if let id { filter["id"] = .string(id) }
        if let podSandboxID { filter["pod_sandbox_id"] = .string(podSandboxID) }
        var req = Proto()
        if !filter.fields.isEmpty { req["filter"] = .message(filter) }
        let r = try await rpc.unary(RPCMethod(Service.runtime, "ListContainerStats"), req)
        return r.messages("stats").map(ContainerStatsRecord.init)
    }

    /// `ContainerStats` of one container (the full ID).
    public func containerStats(id: String) async throws(RPCError) -> ContainerStatsRecord {
        let r = try await rpc.unary(RPCMethod(Service.runtime, "ContainerStats"), Proto(["container_id": .string(id)]))
        return ContainerStatsRecord(r.message("stats") ?? Proto())
    }
}

/// One container's `ContainerStats`. Counters the runtime leaves unset are nil
/// (CRI wraps them in `UInt64Value`); timestamps are nanoseconds since 1970.
public struct ContainerStatsRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var attempt: UInt64
    public var podSandboxID: String
    public var labels: [String: String]
    public var annotations: [String: String]
    public var cpuTimestamp: Int64
    /// Cumulative CPU time, all cores.
    public var cpuUsageCoreNanoSeconds: UInt64?
    /// The runtime's averaged rate: 1e9 is one core busy.
    public var cpuUsageNanoCores: UInt64?
    public var memoryTimestamp: Int64
    public var memoryWorkingSetBytes: UInt64?
    public var writableLayerTimestamp: Int64
    public var writableLayerMountpoint: String
    public var writableLayerUsedBytes: UInt64?
    public var writableLayerInodesUsed: UInt64?
    /// The CRI `ContainerStats` message, whole.
    public var proto: Proto

    public init(_ p: Proto) {
        proto = p
        let attributes = p.message("attributes") ?? Proto()
        id = attributes.string("id")
        let metadata = attributes.message("metadata") ?? Proto()
        name = metadata.string("name")
        attempt = metadata.uint("attempt")
        labels = attributes.map("labels")
        annotations = attributes.map("annotations")
        // CRI has no sandbox ID in the stats; containerd and the kubelet label it.
        podSandboxID = labels["io.kubernetes.sandbox.id"] ?? annotations["io.kubernetes.cri.sandbox-id"] ?? ""
        let cpu = p.message("cpu") ?? Proto()
        cpuTimestamp = cpu.int("timestamp")
        cpuUsageCoreNanoSeconds = cpu.message("usage_core_nano_seconds").map { $0.uint("value") }
        cpuUsageNanoCores = cpu.message("usage_nano_cores").map { $0.uint("value") }
        let memory = p.message("memory") ?? Proto()
        memoryTimestamp = memory.int("timestamp")
        memoryWorkingSetBytes = memory.message("working_set_bytes").map { $0.uint("value") }
        let layer = p.message("writable_layer") ?? Proto()
        writableLayerTimestamp = layer.int("timestamp")
        writableLayerMountpoint = (layer.message("fs_id") ?? Proto()).string("mountpoint")
        writableLayerUsedBytes = layer.message("used_bytes").map { $0.uint("value") }
        writableLayerInodesUsed = layer.message("inodes_used").map { $0.uint("value") }
    }
}
