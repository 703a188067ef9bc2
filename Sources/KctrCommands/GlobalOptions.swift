import ArgumentParser
import Foundation
import KctrCore

/// How to reach the daemon: every flag but the call deadline, which `exec` names differently
/// (its `--timeout` is crictl's, the command's own).
struct ConnectionOptions: ParsableArguments {
    @Option(name: [.customShort("a"), .customLong("address")],
            help: "containerd's socket: unix:///path or /path.")
    var address: String?

    @Option(name: [.short, .long], help: "containerd namespace (default: $CONTAINERD_NAMESPACE or k8s.io).")
    var namespace: String?

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
        guard maxReceive >= 4, maxReceive <= 2047 else {
            throw ValidationError("--max-recv-size must be between 4 and 2047 MiB")
        }
    }

    static func validateDeadline(_ timeout: String, flag: String) throws {
        guard let ms = Duration.milliseconds(timeout), ms > 0 else {
            throw ValidationError("\(flag) \(timeout) is not a duration: use e.g. 500ms, 10s or 2m")
        }
    }

    func sessionConfig(timeout: String) throws -> SessionConfig {
        let env = ProcessInfo.processInfo.environment
        let endpoint = try Endpoint.resolve(flag: address, environment: env, crictlConfig: crictlConfig)
        return SessionConfig(endpoint: endpoint,
                             namespace: SessionConfig.namespace(flag: namespace, environment: env),
                             timeoutMilliseconds: Duration.milliseconds(timeout) ?? 10_000,
                             maxReceiveBytes: maxReceive << 20, debug: debug)
    }

    func session(timeout: String) throws -> Session {
        try Session(config: try sessionConfig(timeout: timeout), log: { Console.err("kctr: debug: \($0)\n") })
    }
}

/// Flags every command that talks to the daemon takes.
struct GlobalOptions: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Deadline of each call: 500ms, 10s, 2m.")
    var timeout: String = "10s"

    var address: String? { connection.address }
    var namespace: String? { connection.namespace }
    var crictlConfig: String? { connection.crictlConfig }
    var maxReceive: Int { connection.maxReceive }
    var debug: Bool { connection.debug }

    func validate() throws { try ConnectionOptions.validateDeadline(timeout, flag: "--timeout") }

    func sessionConfig() throws -> SessionConfig { try connection.sessionConfig(timeout: timeout) }

    func session() throws -> Session { try connection.session(timeout: timeout) }
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

    /// json/yaml of crictl's document (`document` is read only for those); false for table and -q.
    func renderDocument(_ document: () async throws -> JSONValue) async throws -> Bool {
        guard !quiet, format != .table, let text = try Render.document(try await document(), as: format) else { return false }
        Console.out(text)
        return true
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

    /// Asks on the terminal without echo (getpass reads /dev/tty); refuses without a terminal.
    static func askPassword(_ prompt: String, flag: String) throws -> String {
        guard isatty(0) == 1, let answer = getpass(prompt) else {
            throw KctrError.usage("\(flag) USER without a password needs a terminal to ask on", hint: "give \(flag) USER:PASSWORD, or --auth BASE64")
        }
        return String(cString: answer)
    }
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
        let isPs = result.first == "ps" || result.first == "stats"
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
        var rest = podNamespaces(Array(args[i...]))
        guard !leading.isEmpty else { return rest }
        // After `exec`, --timeout is crictl's (the command's own); a leading one is the call deadline. exec passes
        // everything after its container on to the process, so the flags go right after `exec`.
        if rest.first == "exec" {
            leading = leading.map { $0 == "--timeout" ? "--call-timeout" : ($0.hasPrefix("--timeout=") ? "--call-timeout=" + $0.dropFirst(10) : $0) }
            rest.insert(contentsOf: leading, at: 1)
            return rest
        }
        // Insert before a `--` so the flags stay flags.
        if let dash = rest.firstIndex(of: "--") {
            rest.insert(contentsOf: leading, at: dash)
        } else {
            rest += leading
        }
        return rest
    }
}

/// `--progress` for long work (import, export, pull): one view on stderr.
enum ProgressStyle: String, ExpressibleByArgument, CaseIterable {
    /// A bar redrawn in place when stderr is a terminal; nothing otherwise.
    case auto
    /// The bar, on a terminal or not.
    case bar
    /// A line per image or step, and every few seconds: for logs and CI.
    case plain
    case none

    static var allValueStrings: [String] { ["auto", "bar", "plain", "none"] }
}

struct ProgressOptions: ParsableArguments {
    @Option(help: "Progress on stderr: auto (a bar on a terminal), bar, plain (lines, for logs and CI) or none.")
    var progress: ProgressStyle = .auto

    /// The sink to hand to the work, and the printer that ends the view; nil for none.
    func printer(_ what: String) -> ProgressPrinter? {
        switch progress {
        case .none: return nil
        case .auto: return isatty(2) == 1 ? ProgressPrinter(what, bar: true) : nil
        case .bar: return ProgressPrinter(what, bar: true)
        case .plain: return ProgressPrinter(what, bar: false)
        }
    }
}

/// Renders ProgressState on stderr: the bar in place at most ten times a second, or plain lines on
/// every image and every 5 s.
final class ProgressPrinter: @unchecked Sendable {
    // @unchecked: `lastDraw` and `lastGeneration` are guarded by `lock`.
    private let lock = NSLock()
    private let what: String
    private let bar: Bool
    private let state: ProgressState
    private var lastDraw = 0.0
    private var lastGeneration = -1
    private var finished = false

    init(_ what: String, bar: Bool) {
        self.what = what
        self.bar = bar
        state = ProgressState(now: Timestamps.monotonic())
    }

    var sink: ProgressSink {
        { [self] event in
            state.apply(event)
            draw(force: false)
        }
    }

    private func draw(force: Bool) {
        let now = Timestamps.monotonic()
        lock.lock()
        defer { lock.unlock() }
        let changed = state.generation != lastGeneration
        let due = now - lastDraw >= (bar ? 0.1 : 5)
        guard force || (!finished && (due || (!bar && changed))) else { return }
        lastDraw = now
        lastGeneration = state.generation
        if bar {
            var w = winsize()
            let width = ioctl(2, UInt(TIOCGWINSZ), &w) == 0 && w.ws_col > 0 ? Int(w.ws_col) : 100
            Console.err("\r\u{1b}[K" + state.line(now: now, width: width - 1, bar: true))
        } else {
            Console.err("\(what): " + state.line(now: now, width: 0, bar: false) + "\n")
        }
    }

    /// Clears the bar (or prints the last plain line) before the command's own output; once.
    func finish() {
        lock.lock()
        let first = !finished
        finished = true
        lock.unlock()
        guard first else { return }
        if bar {
            Console.err("\r\u{1b}[K")
        } else {
            draw(force: true)
        }
    }
}
