import Foundation
import KctrRPC

/// Runs `kctr verify-runtime`: validates the selection against the catalogue, gathers the facts the
/// selected groups need once (VerifyGatherer), then runs each group's pure function over them, in
/// group order. Never throws for what it finds: what cannot be read becomes a failing or skipped check.
public struct VerifyRunner: Sendable {
    public let paths: VerifyPaths
    public let endpoint: Endpoint
    private let session: Result<Session, KctrError>

    /// `makeSession` runs once, here; its error (no socket, permission denied...) is what daemon.socket reports.
    public init(paths: VerifyPaths, endpoint: Endpoint, makeSession: () throws -> Session) {
        self.paths = paths
        self.endpoint = endpoint
        do {
            session = .success(try makeSession())
        } catch let e as KctrError {
            session = .failure(e)
        } catch {
            session = .failure(KctrError("\(error)"))
        }
    }

    /// The names in `only` that are neither a group nor a check id of the catalogue.
    public static func unknownSelections(_ only: Set<String>) -> [String] {
        let valid = Set(VerifyGroup.allCases.map(\.rawValue) + Check.allCases.map(\.id))
        return only.subtracting(valid).sorted()
    }

    /// The groups a selection needs: named groups, and the groups of named check ids.
    public static func groups(for only: Set<String>) -> [VerifyGroup] {
        VerifyGroup.allCases.filter { g in
            only.isEmpty || only.contains(g.rawValue) || Check.of(g).contains { only.contains($0.id) }
        }
    }

    public func run(only: Set<String>) async -> VerifyReport {
        let groups = Self.groups(for: only)
        let facts = await VerifyGatherer(paths: paths, endpoint: endpoint, session: session).gather(for: Set(groups))
        var checks = groups.flatMap { Self.results(of: $0, facts) }
        if !only.isEmpty {
            checks = checks.filter { only.contains($0.group) || only.contains($0.id) }
        }
        return VerifyReport(endpoint: endpoint.path, containerdVersion: facts.daemon.version?.version, checks: checks)
    }

    /// One group's checks, from the facts alone.
    static func results(of group: VerifyGroup, _ facts: VerifyFacts) -> [CheckResult] {
        switch group {
        case .daemon: DaemonGroup.results(facts)
        case .cri: CRIGroup.results(facts)
        case .cgroup: CgroupGroup.results(facts)
        case .snapshotter: SnapshotterGroup.results(facts)
        case .pause: PauseGroup.results(facts)
        case .config: ConfigGroup.results(facts)
        case .runtimes: RuntimesGroup.results(facts)
        case .crictl: CrictlGroup.results(facts)
        case .kernel: KernelGroup.results(facts)
        }
    }
}
