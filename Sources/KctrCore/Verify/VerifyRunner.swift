import Foundation
import KctrRPC

/// Runs `kctr verify-runtime`: gathers the facts once (daemon and files
/// concurrently), then every group (or the selected ones), and never throws:
/// what cannot be read becomes a failing or skipped check.
public struct VerifyRunner: Sendable {
    public let paths: VerifyPaths
    public let endpoint: Endpoint
    private let session: Result<Session, any Error>

    /// `makeSession` runs once, here; its error (no socket, permission denied...)
    /// is what daemon.socket reports.
    public init(paths: VerifyPaths, endpoint: Endpoint, makeSession: () throws -> Session) {
        self.paths = paths
        self.endpoint = endpoint
        do {
            session = .success(try makeSession())
        } catch {
            session = .failure(error)
        }
    }

    /// The groups a selection needs: named groups, and the groups of named check ids.
    public static func groups(for only: Set<String>) -> [VerifyGroup] {
        VerifyGroup.allCases.filter { g in
            only.isEmpty || only.contains(g.rawValue) || only.contains { $0.hasPrefix(g.rawValue + ".") }
        }
    }

    public func run(only: Set<String>) async -> VerifyReport {
        let (ctx, configFile) = await gather()
        let groups = Set(Self.groups(for: only))
        func want(_ g: VerifyGroup) -> Bool { groups.contains(g) }

        async let daemon = want(.daemon) ? DaemonChecks.daemon(ctx) : []
        async let cri = want(.cri) ? DaemonChecks.cri(ctx) : []
        async let cgroup = want(.cgroup) ? DaemonChecks.cgroup(ctx) : []
        async let snapshotter = want(.snapshotter) ? DaemonChecks.snapshotter(ctx) : []
        async let pause = want(.pause) ? DaemonChecks.pause(ctx) : []
        async let config = want(.config) ? FileChecks.configChecks(ctx, file: configFile) : []
        async let runtimes = want(.runtimes) ? DaemonChecks.runtimes(ctx) : []
        async let crictl = want(.crictl) ? FileChecks.crictlChecks(ctx) : []
        async let kernel = want(.kernel) ? FileChecks.kernelChecks(ctx) : []

        var byGroup: [CheckResult] = []
        byGroup += await daemon
        byGroup += await cri
        byGroup += await cgroup
        byGroup += await snapshotter
        byGroup += await pause
        byGroup += await config
        byGroup += await runtimes
        byGroup += await crictl
        byGroup += await kernel
        // Print in group order even if a group returned checks of another.
        let order = Dictionary(uniqueKeysWithValues: VerifyGroup.allCases.enumerated().map { ($1.rawValue, $0) })
        var checks = byGroup.enumerated().sorted {
            (order[$0.element.group] ?? 99, $0.offset) < (order[$1.element.group] ?? 99, $1.offset)
        }.map(\.element)
        if !only.isEmpty {
            checks = checks.filter { only.contains($0.group) || only.contains($0.id) }
        }
        return VerifyReport(endpoint: endpoint.path, containerdVersion: ctx.version?.version, checks: checks)
    }

    /// The facts, gathered once: version, plugins and the CRI status (verbose)
    /// at once over the one channel, the config files meanwhile.
    public func context() async -> VerifyContext { await gather().0 }

    func gather() async -> (VerifyContext, ContainerdConfigFile) {
        var ctx = VerifyContext(paths: paths, endpoint: endpoint)
        let paths = self.paths
        async let files = Self.readFiles(paths)
        switch session {
        case .failure(let error):
            ctx.daemonError = "\(error)"
        case .success(let s):
            async let versionCall = s.containerd.version()
            async let pluginsCall = s.containerd.plugins()
            async let statusCall = s.cri.status(verbose: true)
            do {
                ctx.version = try await versionCall
                ctx.session = s
            } catch {
                ctx.daemonError = "\(s.explain(error, doing: "asking containerd for its version"))"
            }
            if ctx.session != nil {
                ctx.plugins = ((try? await pluginsCall) ?? []).map(PluginStatus.init).sorted()
                do {
                    let status = try await statusCall
                    ctx.criStatus = status
                    ctx.running = RuntimeConfigView(status: status)
                } catch {
                    ctx.criError = "\(s.explain(error, doing: "reading the CRI runtime status"))"
                }
            }
        }
        let f = await files
        ctx.containerdConfig = f.containerd.merged
        ctx.containerdConfigError = f.containerd.error ?? f.containerd.limit
        ctx.kubeletConfig = f.kubelet
        ctx.kubeletConfigError = f.kubeletError
        return (ctx, f.containerd)
    }

    struct Files: Sendable {
        var containerd: ContainerdConfigFile
        var kubelet: JSONValue?
        var kubeletError: String?
    }

    /// config.toml (with its imports) and the kubelet's config.yaml.
    static func readFiles(_ paths: VerifyPaths) async -> Files {
        let (kubelet, kubeletError) = FileChecks.loadKubeletConfig(path: paths.kubeletConfig)
        return Files(containerd: FileChecks.loadContainerdConfig(path: paths.containerdConfig),
                     kubelet: kubelet, kubeletError: kubeletError)
    }
}
