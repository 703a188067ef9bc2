import Foundation
import KctrRPC

/// A container's resource usage as `kctr stats` shows it.
public struct StatsRow: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var podID: String
    public var podName: String
    public var podNamespace: String
    public var state: String
    /// Percent of one core (200 = two cores busy); nil when the runtime gives no CPU figures.
    public var cpuPercent: Double?
    public var cpuUsageCoreNanoSeconds: UInt64?
    public var memoryWorkingSetBytes: UInt64?
    public var writableLayerUsedBytes: UInt64?
    public var writableLayerInodesUsed: UInt64?
    /// When the runtime sampled the CPU (RFC 3339).
    public var timestamp: String?
}

public struct StatsFilter: Sendable {
    /// Container ID prefixes, each of which must name one container.
    public var ids: [String] = []
    /// Pod sandbox ID prefix.
    public var pod: String?
    /// Containers in any state, not only running ones.
    public var all = false

    public init() {}
}

/// `kctr stats`: CRI's ListContainerStats joined with the container list.
public struct Stats: Sendable {
    public let session: Session
    /// How long to wait for the second sample when the runtime gives no CPU rate.
    public var interval: Double = 1

    public init(session: Session) { self.session = session }

    public static let headers = ["CONTAINER", "NAME", "POD", "CPU %", "MEM", "DISK", "INODES"]

    public func rows(_ f: StatsFilter) async throws -> [StatsRow] {
        try await items(f).map(\.row)
    }

    /// What `stats -o json` adds to CRI's ContainerStats, under `kctr`.
    struct Extras: Encodable {
        var podName: String
        var podNamespace: String
        var state: String
        var cpuPercent: Double?
    }

    /// crictl's `stats -o json`: `{"stats": [ContainerStats...]}` (the latest sample), each with the pod's name
    /// and namespace, the container's state and the CPU percentage under `kctr`.
    public func document(_ f: StatsFilter) async throws -> JSONValue {
        let items = try await items(f)
        return .object(["stats": .array(try items.compactMap { record, row in
            guard let record else { return nil }
            let extras = Extras(podName: row.podName, podNamespace: row.podNamespace, state: row.state, cpuPercent: row.cpuPercent)
            return CRIDocument.adding(try CRIDocument.encoded(extras).object ?? [:], to: CRIDocument.message(record.message))
        })])
    }

    func items(_ f: StatsFilter) async throws -> [(record: ContainerStatsRecord?, row: StatsRow)] {
        async let listed = session.doing("listing containers") { try await session.cri.listContainers() }
        async let sandboxes = session.doing("listing pod sandboxes") { try await session.cri.listPodSandboxes() }
        let containers = try await listed
        let pods = try await sandboxes
        let wanted = try Set(f.ids.map { try Workloads.unique($0, containers.map(\.id), what: "container", list: "kctr ps -a -q") })
        let podID = try f.pod.map { try Workloads.unique($0, pods.map(\.id), what: "pod sandbox", list: "kctr pods -q") }
        let selected = containers.filter { c in
            if !wanted.isEmpty && !wanted.contains(c.id) { return false }
            // Containers named on the command line are shown whatever their state.
            if !f.all && wanted.isEmpty && c.state != "Running" { return false }
            if let podID, c.podSandboxID != podID { return false }
            return true
        }
        guard !selected.isEmpty else { return [] }
        let first = try await sample(podID: podID)
        var second: [String: ContainerStatsRecord]?
        if selected.contains(where: { Self.needsSecondSample(first[$0.id]) }) {
            try await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            second = try await sample(podID: podID)
        }
        var podByID: [String: SandboxSummary] = [:]
        for p in pods { podByID[p.id] = p }
        return selected.map { c in
            let pod = podByID[c.podSandboxID]
            return (second?[c.id] ?? first[c.id], Self.row(container: c, pod: pod, first: first[c.id], second: second?[c.id]))
        }.sorted { a, b in
            (a.row.podNamespace, a.row.podName, a.row.name, a.row.id) < (b.row.podNamespace, b.row.podName, b.row.name, b.row.id)
        }
    }

    private func sample(podID: String?) async throws -> [String: ContainerStatsRecord] {
        let records = try await session.doing("reading container stats") { try await session.cri.listContainerStats(podSandboxID: podID) }
        var out: [String: ContainerStatsRecord] = [:]
        for r in records { out[r.id] = r }
        return out
    }

    /// The runtime gave cumulative CPU time but no rate (containerd 1.6 on its first sample).
    static func needsSecondSample(_ r: ContainerStatsRecord?) -> Bool {
        guard let r, r.cpuUsageCoreNanoSeconds != nil else { return false }
        return (r.cpuUsageNanoCores ?? 0) == 0
    }

    /// Percent of one core: the runtime's rate, else the rate between two samples (as crictl does).
    static func cpuPercent(first: ContainerStatsRecord?, second: ContainerStatsRecord?) -> Double? {
        guard let first else { return nil }
        return cpuPercent(rate: first.cpuUsageNanoCores, total: first.cpuUsageCoreNanoSeconds, at: first.cpuTimestamp,
                          later: second.map { ($0.cpuUsageCoreNanoSeconds, $0.cpuTimestamp) })
    }

    /// The same from the bare counters (containers and pods alike).
    static func cpuPercent(rate: UInt64?, total: UInt64?, at: Int64, later: (total: UInt64?, at: Int64)?) -> Double? {
        if let rate, rate > 0 { return Double(rate) / 1e7 }
        guard let later, let a = total, let b = later.total else { return rate.map { Double($0) / 1e7 } }
        let elapsed = later.at - at
        guard elapsed > 0 else { return rate.map { Double($0) / 1e7 } }
        let used = b >= a ? Double(b - a) : 0
        return used / Double(elapsed) * 100
    }

    static func row(container c: ContainerSummary, pod: SandboxSummary?, first: ContainerStatsRecord?,
                    second: ContainerStatsRecord?) -> StatsRow {
        let latest = second ?? first
        let ts = latest.flatMap { $0.cpuTimestamp > 0 ? Workloads.iso($0.cpuTimestamp) : nil }
        return StatsRow(id: c.id, name: c.name, podID: c.podSandboxID,
                        podName: c.labels["io.kubernetes.pod.name"] ?? pod?.name ?? "",
                        podNamespace: c.labels["io.kubernetes.pod.namespace"] ?? pod?.namespace ?? "",
                        state: c.state,
                        cpuPercent: cpuPercent(first: first, second: second),
                        cpuUsageCoreNanoSeconds: latest?.cpuUsageCoreNanoSeconds,
                        memoryWorkingSetBytes: latest?.memoryWorkingSetBytes,
                        writableLayerUsedBytes: latest?.writableLayerUsedBytes,
                        writableLayerInodesUsed: latest?.writableLayerInodesUsed,
                        timestamp: ts)
    }

    /// The table's cells for one row.
    public static func cells(_ r: StatsRow, noTrunc: Bool = false) -> [String] {
        let pod = r.podNamespace.isEmpty ? r.podName : "\(r.podNamespace)/\(r.podName)"
        return [noTrunc ? r.id : String(r.id.prefix(13)), r.name, pod.isEmpty ? "-" : pod,
                r.cpuPercent.map { Render.fixed($0, digits: 2) } ?? "-",
                r.memoryWorkingSetBytes.map { Render.size(Int64(clamping: $0)) } ?? "-",
                r.writableLayerUsedBytes.map { Render.size(Int64(clamping: $0)) } ?? "-",
                r.writableLayerInodesUsed.map { "\($0)" } ?? "-"]
    }
}
