import Foundation
import KctrRPC

/// The `daemon` group: the socket answers, the version, CRI loaded and serving, containerd's own
/// deprecation report, containerd against the kubelet's version, parallel layer decompression.
enum DaemonGroup {
    static let unreachable = "daemon not reachable (see daemon.socket)"
    static let criNotServing = "CRI is not serving (see daemon.cri-plugin)"
    static let restart = "systemctl restart containerd"

    static func results(_ f: VerifyFacts) -> [CheckResult] {
        let source = f.endpoint.source == "default" ? "the default" : "from \(f.endpoint.source)"
        let socket = "\(f.endpoint.path) (\(source))"
        guard let version = f.daemon.version else {
            let problem = f.daemon.unreachable ?? KctrError("containerd did not answer")
            return [
                Check.daemonSocket.fail(problem.message, evidence: "socket \(socket); containerd.services.version.v1.Version",
                                        fix: problem.hint ?? "start containerd (systemctl start containerd) or pass --address with its socket"),
                Check.daemonVersion.skip(unreachable, evidence: "containerd.services.version.v1.Version"),
                Check.daemonCRIPlugin.skip(unreachable, evidence: "Introspection.Plugins"),
                Check.daemonCRIServing.skip(unreachable, evidence: "runtime.v1.RuntimeService/Version"),
                Check.daemonDeprecations.skip(unreachable, evidence: "Introspection.Server"),
                kubeletSkew(f),
                Check.daemonDecompression.skip(unreachable, evidence: "Introspection.Server: pid; /proc/<pid>/environ: PATH"),
            ]
        }
        return [
            Check.daemonSocket.pass("containerd answers at \(socket)", evidence: "socket \(f.endpoint.path); containerd.services.version.v1.Version"),
            versionCheck(version),
            criPlugin(f),
            criServing(f),
            deprecations(f),
            kubeletSkew(f),
            decompression(f),
        ]
    }

    static func versionCheck(_ version: DaemonVersion) -> CheckResult {
        let evidence = "containerd.services.version.v1.Version: version \(version.version), revision \(version.revision)"
        guard let release = version.release else {
            return Check.daemonVersion.warn("cannot parse the version \"\(version.version)\"", evidence: evidence,
                                            fix: "check that the socket is containerd's")
        }
        if !release.isAtLeast(1, 6) {
            return Check.daemonVersion.warn(
                "containerd \(version.version) is older than 1.6: it is end of life and Kubernetes >= 1.26 needs CRI v1 (containerd >= 1.6)",
                evidence: evidence, fix: "upgrade containerd to 1.7 or 2.x (apt-get install containerd, or the release tarball)")
        }
        return Check.daemonVersion.pass("containerd \(version.version)", evidence: evidence)
    }

    /// CRI's plugins of this release (one before 2.0, three from 2.0): the first one that failed names
    /// the table of config.toml to fix.
    static func criPlugin(_ f: VerifyFacts) -> CheckResult {
        let check = Check.daemonCRIPlugin
        let config = f.paths.containerdConfig
        let evidence = "containerd.services.introspection.v1.Introspection/Plugins"
        guard case .known(let plugins) = f.daemon.plugins, !plugins.isEmpty else {
            return check.skip("the daemon did not list its plugins", evidence: evidence)
        }
        let expected = (f.release ?? ContainerdRelease(1, 6)).criPlugins
        let name = { (p: (type: String, id: String, part: ConfigLayout.CRIPart)) in "\(p.type).\(p.id)" }
        let missing = expected.filter { e in !plugins.contains { $0.type == e.type && $0.id == e.id } }
        if !missing.isEmpty {
            let disabled = f.config.value(at: ["disabled_plugins"]).map(stringList) ?? []
            let named = disabled.filter { d in d == "cri" || missing.contains { name($0) == d } }
            var found = "the CRI plugin\(missing.count == 1 ? "" : "s") \(missing.map(name).joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") not loaded"
            var ev = "Introspection.Plugins: no \(missing.map(name).joined(separator: ", "))"
            if !named.isEmpty {
                found += ": \(config) lists \(named.map { "\"\($0)\"" }.joined(separator: ", ")) in disabled_plugins"
                ev += "; \(config): disabled_plugins = [\(disabled.map { "\"\($0)\"" }.joined(separator: ", "))]"
            } else {
                found += " (disabled_plugins in the daemon's config, or a containerd built without CRI)"
            }
            return check.fail(found, evidence: ev,
                              fix: "remove \(missing.map { "\"\(name($0))\"" }.joined(separator: ", ")) (and \"cri\") from disabled_plugins in \(config) (Docker's containerd package ships CRI disabled) and run \(restart)")
        }
        // A plugin that failed makes the ones needing it fail too: the first of them in CRI's order is the cause.
        for e in expected {
            guard let p = plugins.first(where: { $0.type == e.type && $0.id == e.id }), let err = p.initError, p.status == "error" else { continue }
            let table = f.layout.table(f.layout.table(e.part))
            return check.fail("the CRI plugin \(name(e)) failed to initialise: \(err)", evidence: "Introspection.Plugins: \(name(e)) init_err",
                              fix: "fix the setting the error names in \(table) of \(config), then \(restart) (journalctl -u containerd shows the details)")
        }
        return check.pass("\(expected.map(name).joined(separator: ", ")) \(expected.count == 1 ? "is" : "are") loaded (status ok)",
                          evidence: "Introspection.Plugins: \(expected.map(name).joined(separator: ", "))")
    }

    static func criServing(_ f: VerifyFacts) -> CheckResult {
        switch f.daemon.criVersion {
        case .known(let v):
            return Check.daemonCRIServing.pass("CRI \(v.runtimeApiVersion) answers: \(v.runtimeName) \(v.runtimeVersion)",
                                               evidence: "runtime.v1.RuntimeService/Version: runtime_api_version \(v.runtimeApiVersion)")
        case .unknown(let why):
            return Check.daemonCRIServing.fail(why.message, evidence: "runtime.v1.RuntimeService/Version on \(f.endpoint.path)",
                                               fix: why.hint ?? "see daemon.cri-plugin; the kubelet cannot use this runtime until CRI answers")
        }
    }

    // MARK: Deprecations

    /// containerd's own deprecation report: Introspection.Server's `deprecations` (1.7 and 2.x; also
    /// late 1.6) and CRI's ContainerdHasNoDeprecationWarnings condition. A warning a dedicated check
    /// covers (cgroup v1: cgroup.v1) is reported there, not twice.
    static func deprecations(_ f: VerifyFacts) -> CheckResult {
        let check = Check.daemonDeprecations
        let all = reportedDeprecations(f)
        guard let all else {
            return check.skip("containerd \(f.daemon.version?.version ?? "") does not report deprecated features (Introspection.Server has no deprecations, CRI no deprecation condition)",
                              evidence: "Introspection.Server: deprecations; runtime.v1.RuntimeService/Status: conditions")
        }
        let elsewhere = all.warnings.filter { coveredElsewhere.keys.contains($0.id) }
        let own = all.warnings.filter { !coveredElsewhere.keys.contains($0.id) }
        let note = elsewhere.isEmpty ? "" : " (\(elsewhere.map { "\($0.id): see \(coveredElsewhere[$0.id]?.id ?? "")" }.joined(separator: "; ")))"
        if own.isEmpty {
            return check.pass("containerd reports no deprecated feature in use\(note)", evidence: all.evidence)
        }
        let fixes = own.map { fix(for: $0, f) }
        return check.warn("containerd reports \(own.count) deprecated feature\(own.count == 1 ? "" : "s") in use: " + own.map { "\($0.id): \($0.message)" }.joined(separator: "; ") + note,
                          evidence: all.evidence, fix: Array(Set(fixes)).sorted().joined(separator: "; "))
    }

    /// Warnings with their own check.
    static let coveredElsewhere: [String: Check] = ["io.containerd.deprecation/cgroup-v1": .cgroupV1]

    /// The deprecations the daemon reports, from either source (nil when it reports none at all:
    /// 1.6 before the report existed).
    static func reportedDeprecations(_ f: VerifyFacts) -> (warnings: [DeprecationWarning], evidence: String)? {
        var warnings: [DeprecationWarning] = []
        var sources: [String] = []
        if let server = f.daemon.server.value {
            warnings = server.deprecations
            if !server.deprecations.isEmpty || (f.release.map { $0.isAtLeast(1, 7) } ?? false) {
                sources.append("Introspection.Server: deprecations")
            }
        }
        if let condition = f.daemon.criStatus.value?.conditions.first(where: { $0.type == "ContainerdHasNoDeprecationWarnings" }) {
            sources.append("runtime.v1.RuntimeService/Status: conditions[type=ContainerdHasNoDeprecationWarnings] = \(condition.status)")
            // The message is a JSON object of id -> message.
            if case .object(let o) = JSONValue.parse(condition.message) {
                for (id, message) in o.sorted(by: { $0.key < $1.key }) where !warnings.contains(where: { $0.id == id }) {
                    warnings.append(DeprecationWarning(id: id, message: message.string ?? ""))
                }
            }
        }
        guard !sources.isEmpty else { return nil }
        return (warnings.sorted { $0.id < $1.id }, sources.joined(separator: "; "))
    }

    static func fix(for warning: DeprecationWarning, _ f: VerifyFacts) -> String {
        let layout = f.layout
        let config = f.paths.containerdConfig
        switch warning.id {
        case "io.containerd.deprecation/cri-registry-mirrors", "io.containerd.deprecation/cri-registry-configs",
             "io.containerd.deprecation/cri-registry-auths":
            return "move the registry settings to hosts.toml files in a directory named by \(layout.key(.registryConfigPath)) of \(config) (containerd's docs/hosts.md), then \(restart)"
        default:
            return "change what the message names in \(config) (containerd's RELEASES.md lists each deprecation and its replacement; `containerd config migrate` rewrites old config keys on 2.x), then \(restart)"
        }
    }

    // MARK: The kubelet's version

    static func kubeletSkew(_ f: VerifyFacts) -> CheckResult {
        let check = Check.daemonKubeletSkew
        guard case .known(let kubelet) = f.kubelet.version else {
            return check.skip("\(f.kubelet.version.problem?.message ?? "the kubelet's version is unknown"): not compared", evidence: "kubelet --version")
        }
        guard let release = f.release, let version = f.daemon.version?.version else {
            return check.skip(f.daemon.reachable ? "cannot read containerd's version" : unreachable, evidence: "kubelet --version: \(kubelet)")
        }
        let evidence = "kubelet --version: \(kubelet); containerd.services.version.v1.Version: \(version)"
        guard let oldest = kubelet.oldestContainerd else {
            return check.pass("kubelet \(kubelet) runs with containerd \(version)", evidence: evidence)
        }
        if !release.isAtLeast(oldest.major, oldest.minor) {
            return check.fail("containerd \(version) is older than \(oldest.line), the oldest containerd the kubelet \(kubelet) supports",
                              evidence: evidence,
                              fix: "upgrade containerd to \(oldest.line) or newer before the kubelet (with `containerd config migrate` for config.toml), or keep the kubelet below 1.\(kubelet.minor)")
        }
        return check.pass("containerd \(version) is \(oldest.line) or newer, as the kubelet \(kubelet) needs", evidence: evidence)
    }

    // MARK: Layer decompression

    /// containerd decompresses gzip layers with igzip (2.x) or unpigz when one is on its own PATH, and
    /// unless CONTAINERD_DISABLE_PIGZ is set; else in Go, single-threaded.
    static func decompression(_ f: VerifyFacts) -> CheckResult {
        let check = Check.daemonDecompression
        let helpers = f.release?.gzipHelpers ?? ["unpigz"]
        guard case .known(let env) = f.daemon.environment else {
            return check.skip("\(f.daemon.environment.problem?.message ?? "containerd's environment is unknown"): not checked",
                              evidence: "Introspection.Server: pid; /proc/<pid>/environ: PATH")
        }
        let environ = f.paths.proc("\(env.pid)/environ")
        let pathText = env.path.map { $0.joined(separator: ":") } ?? "unset"
        if let disabled = env.disablePigz, ["1", "t", "T", "true", "TRUE", "True"].contains(disabled) {
            return check.warn("containerd runs with CONTAINERD_DISABLE_PIGZ=\(disabled): it decompresses gzip layers single-threaded",
                              evidence: "\(environ): CONTAINERD_DISABLE_PIGZ=\(disabled)",
                              fix: "remove CONTAINERD_DISABLE_PIGZ from containerd's environment (systemctl edit containerd), then \(restart)")
        }
        if let (name, path) = helpers.lazy.compactMap({ h in env.helpers[h].map { (h, $0) } }).first {
            return check.pass("containerd finds \(name) at \(path): gzip layers decompress in parallel",
                              evidence: "\(environ): PATH=\(pathText)")
        }
        return check.warn("neither \(helpers.joined(separator: " nor ")) is on containerd's PATH: gzip layers decompress single-threaded, so pulls and imports of large images take longer",
                          evidence: "\(environ): PATH=\(pathText)",
                          fix: "apt-get install pigz (or dnf install pigz) so that unpigz is in /usr/bin, then \(restart)")
    }

    // MARK: Helpers

    static func stringList(_ value: JSONValue) -> [String] {
        guard case .array(let items) = value else { return [] }
        return items.compactMap(\.string)
    }
}
