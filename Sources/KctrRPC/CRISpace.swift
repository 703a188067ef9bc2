/// CRI calls about disk space and pod-level statistics. One function per RPC.
extension CRIAPI {
    /// `ImageFsInfo`: the runtime's own account of its image (and container) filesystems.
    public func imageFsInfo() async throws(RPCError) -> ImageFsInfoRecord {
        let r = try await rpc.unary(RPCMethod(Service.image, "ImageFsInfo"))
        return ImageFsInfoRecord(imageFilesystems: r.messages("image_filesystems").map(FilesystemUsageRecord.init),
                                 containerFilesystems: r.messages("container_filesystems").map(FilesystemUsageRecord.init))
    }

    /// `ListPodSandboxStats`, optionally narrowed to one sandbox ID. `.unimplemented` where the runtime has none.
    public func listPodSandboxStats(id: String? = nil) async throws(RPCError) -> [PodSandboxStatsRecord] {
        var req = Proto()
        if let id { req["filter"] = .message(Proto(["id": .string(id)])) }
        let r = try await rpc.unary(RPCMethod(Service.runtime, "ListPodSandboxStats"), req)
        return r.messages("stats").map(PodSandboxStatsRecord.init)
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

    init(_ p: Proto) {
        self.init(timestamp: p.int("timestamp"), mountpoint: (p.message("fs_id") ?? Proto()).string("mountpoint"),
                  usedBytes: p.message("used_bytes").map { $0.uint("value") },
                  inodesUsed: p.message("inodes_used").map { $0.uint("value") })
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

    public init(_ p: Proto) {
        let attributes = p.message("attributes") ?? Proto()
        id = attributes.string("id")
        let metadata = attributes.message("metadata") ?? Proto()
        name = metadata.string("name")
        namespace = metadata.string("namespace")
        uid = metadata.string("uid")
        labels = attributes.map("labels")
        let linux = p.message("linux") ?? Proto()
        let cpu = linux.message("cpu") ?? Proto()
        cpuTimestamp = cpu.int("timestamp")
        cpuUsageCoreNanoSeconds = cpu.message("usage_core_nano_seconds").map { $0.uint("value") }
        cpuUsageNanoCores = cpu.message("usage_nano_cores").map { $0.uint("value") }
        let memory = linux.message("memory") ?? Proto()
        memoryWorkingSetBytes = memory.message("working_set_bytes").map { $0.uint("value") }
        memoryUsageBytes = memory.message("usage_bytes").map { $0.uint("value") }
        memoryRSSBytes = memory.message("rss_bytes").map { $0.uint("value") }
        let network = (linux.message("network") ?? Proto()).message("default_interface")
        networkInterface = network.map { $0.string("name") }
        networkRxBytes = network?.message("rx_bytes").map { $0.uint("value") }
        networkTxBytes = network?.message("tx_bytes").map { $0.uint("value") }
        processCount = (linux.message("process") ?? Proto()).message("process_count").map { $0.uint("value") }
        containers = linux.messages("containers").map(ContainerStatsRecord.init)
    }
}
