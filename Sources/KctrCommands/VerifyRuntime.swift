import ArgumentParser
import Foundation
import KctrCore

struct VerifyRuntime: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-runtime",
        abstract: "Check the node's container runtime for the misconfigurations that break pods (read-only).",
        discussion: """
        Each check prints pass, warn, fail or skip, what it found, the evidence (file and key, or RPC and field)
        and the fix. Groups: \(VerifyGroup.allCases.map(\.rawValue).joined(separator: ", ")).
        Always checks the k8s.io namespace (the kubelet's). Exit: 0 when nothing fails (with --strict, nothing
        warns either), 1 otherwise, 64 on usage errors.
        With --summarize, reads many nodes' JSON reports instead (files, - for stdin, or `kubectl logs --prefix`
        output) and prints one table, node by check, the checks that fail or warn somewhere first; exit 1 when a
        node fails a check (with --strict, or warns) or a report cannot be read.
        """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("containerd-config"), help: "containerd's config file.")
    var containerdConfig: String = "/etc/containerd/config.toml"

    @Option(name: .customLong("kubelet-config"), help: "The kubelet's config file.")
    var kubeletConfig: String = "/var/lib/kubelet/config.yaml"

    @Option(name: .customLong("root"), help: "Prefix for /proc and /sys (a host mounted into a container, e.g. /host).")
    var root: String = ""

    @Option(name: .customLong("check"), help: "Run only this group or check id (repeatable).")
    var checks: [String] = []

    @Flag(help: "Warnings fail too (exit 1).")
    var strict = false

    @Flag(help: "List every check (id, group, title) and exit.")
    var list = false

    @Option(name: [.short, .long], help: "Output format: table, json or yaml.")
    var output: OutputFormatArgument = .table

    @Option(help: "This node's name, recorded in the report (a DaemonSet passes spec.nodeName); --summarize shows it.")
    var node: String?

    @Flag(help: "After the report, keep running until SIGTERM, then exit with the report's code (a DaemonSet's pod stays up).")
    var keepRunning = false

    @Flag(help: "Read the JSON reports given as arguments and print one table, node by check.")
    var summarize = false

    @Argument(help: "With --summarize: report files, or - for stdin.")
    var reports: [String] = []

    func validate() throws {
        try validateSummarize()
        let unknown = VerifyRunner.unknownSelections(Set(checks))
        if !unknown.isEmpty {
            throw ValidationError("unknown check \(unknown.joined(separator: ", ")) (valid groups: \(VerifyGroup.allCases.map(\.rawValue).joined(separator: ", ")); valid ids: \(Check.allCases.map(\.id).joined(separator: ", ")); kctr verify-runtime --list shows them)")
        }
    }

    func run() async throws {
        if summarize { return try runSummarize() }
        if list {
            Console.out(Self.listing())
            return
        }
        var paths = VerifyPaths()
        paths.containerdConfig = containerdConfig
        paths.kubeletConfig = kubeletConfig
        paths.crictlConfig = global.crictlConfig ?? Endpoint.defaultCrictlConfig
        paths.root = root.hasSuffix("/") ? String(root.dropLast()) : root

        let only = Set(checks)

        // Resolve the endpoint without failing: a bad crictl config is a finding, not a crash.
        var config: SessionConfig?
        var configError: Error?
        do {
            var c: SessionConfig
            if let crictl = global.crictlConfig, !FileManager.default.fileExists(atPath: crictl) {
                // A missing crictl config is crictl.*'s finding; the daemon is found without it.
                let endpoint = try Endpoint.resolve(flag: global.address, environment: ProcessInfo.processInfo.environment,
                                                    crictlConfig: nil, readFile: { _ in nil })
                c = SessionConfig(endpoint: endpoint, namespace: "k8s.io",
                                  timeoutMilliseconds: DurationText.milliseconds(global.timeout) ?? 10_000,
                                  maxReceiveBytes: global.maxReceive << 20, debug: global.debug)
            } else {
                c = try global.sessionConfig()
            }
            c.namespace = "k8s.io"
            config = c
        } catch {
            configError = error
        }
        let endpoint = config?.endpoint ?? Self.fallbackEndpoint(address: global.address)
        let runner = VerifyRunner(paths: paths, endpoint: endpoint) {
            if let configError { throw configError }
            return try Session(config: config!, log: { Console.err("kctr: debug: \($0)\n") })
        }

        var report = await runner.run(only: only)
        report.node = node

        if let doc = try Render.document(report, as: output.format) {
            Console.out(doc)
        } else {
            Console.out(Self.table(report, symbols: Self.terminalIsUTF8()))
        }
        let code = report.exitCode(strict: strict)
        if keepRunning { await Self.waitForTermination(code) }
        if code != 0 { Foundation.exit(code) }
    }

    /// Where the report says it looked when the endpoint could not be resolved
    /// (daemon.socket then fails with the reason).
    static func fallbackEndpoint(address: String?) -> Endpoint {
        let none: (String) -> String? = { _ in nil }
        if let e = try? Endpoint.resolve(flag: address, environment: [:], crictlConfig: nil, readFile: none) { return e }
        // Cannot fail: no flag, no environment, no crictl config.
        return (try? Endpoint.resolve(flag: nil, environment: [:], crictlConfig: nil, readFile: none))
            ?? (try! Endpoint.resolve(flag: Endpoint.defaultPath, environment: [:], crictlConfig: nil))
    }

    /// `--list`: the catalogue, one check a line, grouped.
    static func listing() -> String {
        let width = Check.allCases.map(\.id.count).max() ?? 0
        var text = ""
        for group in VerifyGroup.allCases {
            text += (text.isEmpty ? "" : "\n") + group.rawValue + "\n"
            for check in Check.of(group) { text += "  \(Render.pad(check.id, width))  \(check.title)\n" }
        }
        return text
    }

    /// Symbols only when stdout is a terminal whose locale is UTF-8.
    static func terminalIsUTF8() -> Bool {
        guard isatty(1) == 1 else { return false }
        let env = ProcessInfo.processInfo.environment
        for key in ["LC_ALL", "LC_CTYPE", "LANG"] {
            if let v = env[key], !v.isEmpty {
                let u = v.uppercased()
                return u.contains("UTF-8") || u.contains("UTF8")
            }
        }
        return false
    }

    static func table(_ report: VerifyReport, symbols: Bool) -> String {
        func mark(_ s: CheckStatus) -> String {
            switch s {
            case .pass: return symbols ? "✔" : "PASS"
            case .warn: return symbols ? "!" : "WARN"
            case .fail: return symbols ? "✘" : "FAIL"
            case .skip: return symbols ? "-" : "SKIP"
            }
        }
        let markWidth = symbols ? 1 : 4
        let idWidth = report.checks.map(\.id.count).max() ?? 0
        var text = ""
        for group in VerifyGroup.allCases {
            let checks = report.checks.filter { $0.group == group.rawValue }
            guard !checks.isEmpty else { continue }
            text += (text.isEmpty ? "" : "\n") + group.rawValue + "\n"
            for c in checks {
                let m = Render.pad(mark(c.status), markWidth)
                text += "  \(m) \(Render.pad(c.id, idWidth))  \(c.found)\n"
                if c.status == .warn || c.status == .fail {
                    let indent = String(repeating: " ", count: 2 + markWidth + 1 + 4)
                    text += "\(indent)evidence: \(c.evidence)\n"
                    if let fix = c.fix { text += "\(indent)fix: \(fix)\n" }
                }
            }
        }
        let s = report.summary
        text += "\n\(s["pass"] ?? 0) passed, \(s["warn"] ?? 0) warnings, \(s["fail"] ?? 0) failed, \(s["skip"] ?? 0) skipped\n"
        return text
    }
}
