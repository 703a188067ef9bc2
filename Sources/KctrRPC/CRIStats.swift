/// CRI container statistics. One function per RPC.
extension CRIAPI {
    /// `ListContainerStats`, optionally narrowed server-side to one container or pod sandbox.
    public func listContainerStats(id: String? = nil, podSandboxID: String? = nil) async throws(RPCError) -> [ContainerStatsRecord] {
        let filter = id == nil && podSandboxID == nil ? nil : CRI.ContainerStatsFilter(id: id ?? "", podSandboxId: podSandboxID ?? "")
        let r = try await rpc.call(Runtime.listContainerStats, .init(filter: filter))
        return r.stats.map(ContainerStatsRecord.init)
    }

    /// `ContainerStats` of one container (the full ID).
    public func containerStats(id: String) async throws(RPCError) -> ContainerStatsRecord {
        let r = try await rpc.call(Runtime.containerStats, .init(containerId: id))
        return ContainerStatsRecord(r.stats ?? .init())
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
    public var message: CRI.ContainerStats

    public init(_ p: CRI.ContainerStats) {
        message = p
        let attributes = p.attributes ?? .init()
        id = attributes.id
        let metadata = attributes.metadata ?? .init()
        name = metadata.name
        attempt = UInt64(metadata.attempt)
        labels = attributes.labels
        annotations = attributes.annotations
        // CRI has no sandbox ID in the stats; containerd and the kubelet label it.
        podSandboxID = labels["io.kubernetes.sandbox.id"] ?? annotations["io.kubernetes.cri.sandbox-id"] ?? ""
        let cpu = p.cpu ?? .init()
        cpuTimestamp = cpu.timestamp
        cpuUsageCoreNanoSeconds = cpu.usageCoreNanoSeconds?.value
        cpuUsageNanoCores = cpu.usageNanoCores?.value
        let memory = p.memory ?? .init()
        memoryTimestamp = memory.timestamp
        memoryWorkingSetBytes = memory.workingSetBytes?.value
        let layer = p.writableLayer ?? .init()
        writableLayerTimestamp = layer.timestamp
        writableLayerMountpoint = layer.fsId?.mountpoint ?? ""
        writableLayerUsedBytes = layer.usedBytes?.value
        writableLayerInodesUsed = layer.inodesUsed?.value
    }
}
