/// CRI calls about disk space and pod-level statistics. One function per RPC.
extension CRIAPI {
    /// `ImageFsInfo`: the runtime's own account of its image (and container) filesystems.
    public func imageFsInfo() async throws(RPCError) -> ImageFsInfoRecord {
        let r = try await rpc.call(Images.imageFsInfo)
        return ImageFsInfoRecord(imageFilesystems: r.imageFilesystems.map(FilesystemUsageRecord.init),
                                 containerFilesystems: r.containerFilesystems.map(FilesystemUsageRecord.init))
    }

    /// `ListPodSandboxStats`, optionally narrowed to one sandbox ID. `.unimplemented` where the runtime has none.
    public func listPodSandboxStats(id: String? = nil) async throws(RPCError) -> [PodSandboxStatsRecord] {
        let r = try await rpc.call(Runtime.listPodSandboxStats, .init(filter: id.map { .init(id: $0) }))
        return r.stats.map(PodSandboxStatsRecord.init)
    }
}

public struct ImageFsInfoRecord: Sendable, Equatable {
    public var imageFilesystems: [FilesystemUsageRecord]
    public var containerFilesystems: [FilesystemUsageRecord]

    public init(imageFilesystems: [FilesystemUsageRecord], containerFilesystems: [FilesystemUsageRecord]) {
        self.imageFilesystems = imageFilesystems
        self.containerFilesystems = containerFilesystems
    }
}

/// CRI's `FilesystemUsage`: counters the runtime leaves unset are nil.
public struct FilesystemUsageRecord: Sendable, Equatable, Codable {
    /// Nanoseconds since 1970.
    public var timestamp: Int64
    public var mountpoint: String
    public var usedBytes: UInt64?
    public var inodesUsed: UInt64?

    public init(timestamp: Int64, mountpoint: String, usedBytes: UInt64?, inodesUsed: UInt64?) {
        self.timestamp = timestamp
        self.mountpoint = mountpoint
        self.usedBytes = usedBytes
        self.inodesUsed = inodesUsed
    }

    init(_ p: CRI.FilesystemUsage) {
        self.init(timestamp: p.timestamp, mountpoint: p.fsId?.mountpoint ?? "", usedBytes: p.usedBytes?.value,
                  inodesUsed: p.inodesUsed?.value)
    }
}

/// One pod's `PodSandboxStats` (Linux part). Counters the runtime leaves unset are nil; timestamps are
/// nanoseconds since 1970.
public struct PodSandboxStatsRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var namespace: String
    public var uid: String
    public var labels: [String: String]
    public var cpuTimestamp: Int64
    public var cpuUsageCoreNanoSeconds: UInt64?
    public var cpuUsageNanoCores: UInt64?
    public var memoryWorkingSetBytes: UInt64?
    public var memoryUsageBytes: UInt64?
    public var memoryRSSBytes: UInt64?
    public var networkInterface: String?
    public var networkRxBytes: UInt64?
    public var networkTxBytes: UInt64?
    public var processCount: UInt64?
    /// The pod's containers as the runtime reports them.
    public var containers: [ContainerStatsRecord]

    public init(_ p: CRI.PodSandboxStats) {
        let attributes = p.attributes ?? .init()
        id = attributes.id
        let metadata = attributes.metadata ?? .init()
        name = metadata.name
        namespace = metadata.namespace
        uid = metadata.uid
        labels = attributes.labels
        let linux = p.linux ?? .init()
        let cpu = linux.cpu ?? .init()
        cpuTimestamp = cpu.timestamp
        cpuUsageCoreNanoSeconds = cpu.usageCoreNanoSeconds?.value
        cpuUsageNanoCores = cpu.usageNanoCores?.value
        let memory = linux.memory ?? .init()
        memoryWorkingSetBytes = memory.workingSetBytes?.value
        memoryUsageBytes = memory.usageBytes?.value
        memoryRSSBytes = memory.rssBytes?.value
        let network = linux.network?.defaultInterface
        networkInterface = network.map(\.name)
        networkRxBytes = network?.rxBytes?.value
        networkTxBytes = network?.txBytes?.value
        processCount = linux.process?.processCount?.value
        containers = linux.containers.map(ContainerStatsRecord.init)
    }
}
