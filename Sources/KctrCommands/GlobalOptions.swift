import ArgumentParser
import Foundation
import KctrCore

/// Flags every command that talks to the daemon takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: [.customShort("a"), .customLong("address")],
            help: "containerd's socket: unix:///path or /path.")
    var address: String?

    @Option(name: [.short, .long], help: "containerd namespace (default: $CONTAINERD_NAMESPACE or k8s.io).")
    var namespace: String?

    @Option(help: "Deadline of each call: 500ms, 10s, 2m.")
    var timeout: String = "10s"

    @Option(name: .customLong("crictl-config"), help: "crictl config to read runtime-endpoint from.")
    var crictlConfig: String?

    // Optional, with the default in the help text: ArgumentParser renders an Int default through
    // String(describing:) on every run (0.6 M instructions).
    @Option(name: .customLong("max-recv-size"), help: "Largest response accepted, in MiB (default: 16).")
    var maxReceiveMiB: Int?

    var maxReceive: Int { maxReceiveMiB ?? 16 }

    @Flag(help: "Log each call (method, duration, status) to stderr.")
    var debug = false

    func validate() throws {
        guard let ms = Duration.milliseconds(timeout), ms > 0 else {
            throw ValidationError("--timeout \(timeout) is not a duration: use e.g. 500ms, 10s or 2m")
        }
        guard maxReceive >= 4, maxReceive <= 2047 else {
            throw ValidationError("--max-recv-size must be between 4 and 2047 MiB")
        }
    }

    func sessionConfig() throws -> SessionConfig {
        let env = ProcessInfo.processInfo.environment
        let endpoint = try Endpoint.resolve(flag: address, environment: env, crictlConfig: crictlConfig)
        return SessionConfig(endpoint: endpoint,
                             namespace: SessionConfig.namespace(flag: namespace, environment: env),
                             timeoutMilliseconds: Duration.milliseconds(timeout) ?? 10_000,
                             maxReceiveBytes: maxReceive << 20, debug: debug)
    }

    func session() throws -> Session {
        try Session(config: try sessionConfig(), log: { Console.err("kctr: debug: \($0)\n") })
    }
}

/// `-o`, `-q` and `--no-trunc`, for listing commands.
struct OutputOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Output format: table, json or yaml.")
    var output: OutputFormatArgument = .table

    @Flag(name: [.short, .long], help: "Print only names/IDs, one per line.")
    var quiet = false

    @Flag(name: .customLong("no-trunc"), help: "Do not shorten digests and IDs.")
    var noTrunc = false

    var format: OutputFormat { output.format }
}

extension OutputOptions {
    /// The one way lists print: `-q` the IDs, json/yaml the rows, table the cells.
    func render<T: Encodable>(_ rows: [T], id: (T) -> String, headers: [String], cells: (T) -> [String]) throws {
        if quiet {
            Console.out(rows.map { id($0) + "\n" }.joined())
        } else if let doc = try Render.document(rows, as: format) {
            Console.out(doc)
        } else {
            Console.out(Render.table(headers, rows.map(cells)))
        }
    }

    /// crictl's 13-character IDs, unless --no-trunc.
    func shortID(_ id: String) -> String { noTrunc ? id : String(id.prefix(13)) }
}

enum OutputFormatArgument: String, ExpressibleByArgument, CaseIterable {
    case table, json, yaml

    // Spelled out: ArgumentParser's defaults derive them through String(describing:) on every run
    // (~0.9 M instructions, conformance lookups included).
    static var allValueStrings: [String] { allCases.map(\.rawValue) }
    var defaultValueDescription: String { rawValue }
    var format: OutputFormat {
        switch self {
        case .table: return .table
        case .json: return .json
        case .yaml: return .yaml
        }
    }
}

enum Console {
    static func out(_ s: String) { FileHandle.standardOutput.write(Data(s.utf8)) }
    static func err(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
    static func warn(_ s: String) { err("kctr: warning: \(s)\n") }
}

/// ctr and crictl take global flags before the command (`ctr -n k8s.io images ls`).
/// ArgumentParser wants them after it, so leading global flags are moved
/// behind the subcommand path: `kctr -a S images ls` -> `kctr images ls -a S`.
enum GlobalArguments {
    static let withValue: Set<String> = ["-a", "--address", "-n", "--namespace", "--timeout", "--crictl-config", "--max-recv-size"]
    static let flags: Set<String> = ["--debug"]

    /// Leading short flags become long ones, so that a command's own short
    /// flag (crictl's `ps -a` for --all) cannot be taken for them.
    static let longNames = ["-a": "--address", "-n": "--namespace"]

    static func hoist(_ args: [String]) -> [String] {
        var result = hoistLeading(args)
        // crictl's `pods --namespace REGEX` filters by Kubernetes namespace; CRI's pods always live in containerd's
        // k8s.io, so after `pods` (the listing), --namespace is the pod namespace. Before the command it stays global.
        // crictl's habit: `ps -a` (and `stats -a`) covers all containers (ctr's -a, the address, comes before the command).
        let second = result.dropFirst().first ?? "ls"
        let isPs = result.first == "ps" || result.first == "stats" || result.first == "rm" || result.first == "rmp"
            || (result.first == "pods" && ["rm", "remove"].contains(second))
            || (result.first == "containers" && (["ls", "ps", "list"].contains(second) || second.hasPrefix("-")))
        if isPs {
            var seenDash = false
            for i in result.indices {
                if result[i] == "--" { seenDash = true }
                if !seenDash && result[i] == "-a" { result[i] = "--all" }
            }
        }
        return result
    }

    /// `pods [ls|list] ... --namespace X` -> `--pod-namespace X` (only the arguments after the command).
    static func podNamespaces(_ args: [String]) -> [String] {
        guard args.first == "pods" else { return args }
        let second = args.dropFirst().first ?? "ls"
        guard ["ls", "list"].contains(second) || second.hasPrefix("-") else { return args }
        var out = args
        for i in out.indices {
            if out[i] == "--" { break }
            if out[i] == "--namespace" { out[i] = "--pod-namespace" }
            if out[i].hasPrefix("--namespace=") { out[i] = "--pod-namespace=" + out[i].dropFirst("--namespace=".count) }
        }
        return out
    }

    /// crictl's `stop|rm|stopp|rmp -t/--timeout N` is the grace period: after those commands (and `pods
    /// stop|rm`), `--timeout` becomes `--stop-timeout`. Before the command it stays the call deadline.
    static func stopTimeouts(_ args: [String]) -> [String] {
        let first = args.first ?? "", second = args.dropFirst().first ?? ""
        guard ["stop", "rm", "stopp", "rmp"].contains(first) || (first == "pods" && ["stop", "rm", "remove"].contains(second)) else {
            return args
        }
        var out = args
        for i in out.indices {
            if out[i] == "--" { break }
            if out[i] == "--timeout" { out[i] = "--stop-timeout" }
            if out[i].hasPrefix("--timeout=") { out[i] = "--stop-timeout=" + out[i].dropFirst("--timeout=".count) }
        }
        return out
    }

    private static func hoistLeading(_ args: [String]) -> [String] {
        var leading: [String] = []
        var i = 0
        while i < args.count {
            let a = longNames[args[i]] ?? args[i]
            let name = a.split(separator: "=", maxSplits: 1).first.map(String.init) ?? a
            if flags.contains(a) {
                leading.append(a)
                i += 1
            } else if withValue.contains(name) {
                leading.append(a)
                if !a.contains("="), i + 1 < args.count {
                    leading.append(args[i + 1])
                    i += 1
                }
                i += 1
            } else {
                break
            }
        }
        var rest = stopTimeouts(podNamespaces(Array(args[i...])))
        guard !leading.isEmpty else { return rest }
        // Insert before a `--` so the flags stay flags.
        if let dash = rest.firstIndex(of: "--") {
            rest.insert(contentsOf: leading, at: dash)
        } else {
            rest += leading
        }
        return rest
    }
}
