import Foundation
import KctrRPC

/// A pod's resource usage as `kctr statsp` shows it.
public struct PodStatsRow: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var namespace: String
    /// Percent of one core (200 = two cores busy).
    public var cpuPercent: Double?
    public var cpuUsageCoreNanoSeconds: UInt64?
    public var memoryWorkingSetBytes: UInt64?
    public var networkInterface: String?
    public var networkRxBytes: UInt64?
    public var networkTxBytes: UInt64?
    public var processCount: UInt64?
    public var containers: Int
    /// When the runtime sampled the CPU (RFC 3339).
    public var timestamp: String?
}

/// `kctr statsp`: CRI's ListPodSandboxStats, where the runtime has it.
public struct PodStats: Sendable {
    public let session: Session
    /// How long to wait for the second sample when the runtime gives no CPU rate.
    public var interval: Double = 1

    public init(session: Session) { self.session = session }

    public static let headers = ["POD ID", "POD", "CPU %", "MEM", "NET RX", "NET TX", "PROCS", "CONTAINERS"]

    /// - Parameter prefixes: pod ID prefixes, each naming one pod; all pods when empty.
    public func rows(prefixes: [String]) async throws -> [PodStatsRow] {
        var ids: [String] = []
        if !prefixes.isEmpty {
            let all: [SandboxSummary]
            do { all = try await session.cri.listPodSandboxes() } catch { throw session.explain(error, doing: "listing pod sandboxes") }
            ids = try prefixes.map { try Workloads.unique($0, all.map(\.id), what: "pod sandbox", list: "kctr pods -q") }
        }
        let first = try await sample(ids)
        var second: [String: PodSandboxStatsRecord] = [:]
        if first.values.contains(where: { ($0.cpuUsageNanoCores ?? 0) == 0 && $0.cpuUsageCoreNanoSeconds != nil }) {
            try await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            second = try await sample(ids)
        }
        return first.values.map { Self.row($0, later: second[$0.id]) }
            .sorted { ($0.namespace, $0.name, $0.id) < ($1.namespace, $1.name, $1.id) }
    }

    private func sample(_ ids: [String]) async throws -> [String: PodSandboxStatsRecord] {
        var records: [PodSandboxStatsRecord] = []
        do {
            if ids.isEmpty {
                records = try await session.cri.listPodSandboxStats()
            } else {
                for id in ids { records += try await session.cri.listPodSandboxStats(id: id) }
            }
        } catch where error.code == .unimplemented {
            // CRI not serving at all, or a runtime without pod-level stats: CRI's Version tells which.
            if (try? await session.cri.version()) == nil { throw session.explain(error, doing: "reading pod sandbox stats") }
            throw Self.noPodStats(error.message)
        } catch {
            throw session.explain(error, doing: "reading pod sandbox stats")
        }
        var out: [String: PodSandboxStatsRecord] = [:]
        for r in records { out[r.id] = r }
        return out
    }

    static func noPodStats(_ why: String) -> KctrError {
        KctrError("the runtime does not report pod-level stats: CRI ListPodSandboxStats is not implemented (\(why))",
                  hint: "per-container figures are there: kctr stats --pod ID")
    }

    static func row(_ r: PodSandboxStatsRecord, later: PodSandboxStatsRecord?) -> PodStatsRow {
        let latest = later ?? r
        return PodStatsRow(id: r.id, name: r.name, namespace: r.namespace,
                           cpuPercent: Stats.cpuPercent(rate: r.cpuUsageNanoCores, total: r.cpuUsageCoreNanoSeconds, at: r.cpuTimestamp,
                                                        later: later.map { ($0.cpuUsageCoreNanoSeconds, $0.cpuTimestamp) }),
                           cpuUsageCoreNanoSeconds: latest.cpuUsageCoreNanoSeconds, memoryWorkingSetBytes: latest.memoryWorkingSetBytes,
                           networkInterface: latest.networkInterface, networkRxBytes: latest.networkRxBytes,
                           networkTxBytes: latest.networkTxBytes, processCount: latest.processCount, containers: latest.containers.count,
                           timestamp: latest.cpuTimestamp > 0 ? Workloads.iso(latest.cpuTimestamp) : nil)
    }

    public static func cells(_ r: PodStatsRow, noTrunc: Bool = false) -> [String] {
        func bytes(_ v: UInt64?) -> String { v.map { Render.size(Int64(clamping: $0)) } ?? "-" }
        return [noTrunc ? r.id : String(r.id.prefix(13)), r.namespace.isEmpty ? r.name : "\(r.namespace)/\(r.name)",
                r.cpuPercent.map { Render.fixed($0, digits: 2) } ?? "-", bytes(r.memoryWorkingSetBytes),
                bytes(r.networkRxBytes), bytes(r.networkTxBytes), r.processCount.map { "\($0)" } ?? "-", "\(r.containers)"]
    }
}
