import ArgumentParser
import Foundation
import KctrCore

/// Which tool's short flags a command follows after its name. The rule (README, "Flags"): before the command,
/// -a and -n are containerd's address and namespace, as ctr takes them (GlobalArguments.hoist moves them behind
/// the command under their long names). After the command, a command crictl also has takes crictl's short
/// flags (`ps -a` is --all, `pods -n` is --last) and the address and namespace only by their long names; every
/// other command keeps ctr's -a and -n.
protocol FlagFamily {
    static var address: NameSpecification { get }
    static var namespace: NameSpecification { get }
    /// How the help names the flags before the command, when the names after it differ.
    static var before: (address: String, namespace: String) { get }
}

/// ctr's: -a/--address and -n/--namespace before and after the command.
enum CtrFlags: FlagFamily {
    static let address: NameSpecification = [.customShort("a"), .customLong("address")]
    static let namespace: NameSpecification = [.customShort("n"), .customLong("namespace")]
    static let before = (address: "", namespace: "")
}

/// crictl's commands: -a and -n after the command are crictl's (or nothing), so only the long names.
enum CrictlFlags: FlagFamily {
    static let address: NameSpecification = [.customLong("address")]
    static let namespace: NameSpecification = [.customLong("namespace")]
    static let before = (address: " -a before the command.", namespace: " -n before the command.")
}

/// `pods` (the listing): crictl's --namespace is the Kubernetes namespace, so containerd's is --containerd-namespace
/// after the command (a leading -n/--namespace is moved there).
enum CrictlPodFlags: FlagFamily {
    static let address = CrictlFlags.address
    static let namespace: NameSpecification = [.customLong("containerd-namespace")]
    static let before = (address: CrictlFlags.before.address, namespace: " -n or --namespace before the command.")
}

/// What tests and the help walk need of any family's connection flags.
protocol ConnectionSettings {
    var address: String? { get }
    var namespace: String? { get }
}

/// How to reach the daemon: every flag but the call deadline, which `exec` names differently
/// (its `--timeout` is crictl's, the command's own).
struct ConnectionFlags<Family: FlagFamily>: ParsableArguments, ConnectionSettings {
    @Option(name: Family.address, help: ArgumentHelp("containerd's socket: unix:///path or /path." + Family.before.address, valueName: "address"))
    var address: String?

    @Option(name: Family.namespace,
            help: ArgumentHelp("containerd namespace (default: $CONTAINERD_NAMESPACE or k8s.io)." + Family.before.namespace, valueName: "namespace"))
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

    func sessionConfig(timeout: String) throws -> SessionConfig {
        let env = ProcessInfo.processInfo.environment
        let endpoint = try Endpoint.resolve(flag: address, environment: env, crictlConfig: crictlConfig)
        return SessionConfig(endpoint: endpoint,
                             namespace: SessionConfig.namespace(flag: namespace, environment: env),
                             timeoutMilliseconds: DurationText.milliseconds(timeout) ?? 10_000,
                             maxReceiveBytes: maxReceive << 20, debug: debug,
                             cacheDirectory: ImageFactsCache.directory(environment: env, euid: geteuid()))
    }

    func session(timeout: String) throws -> Session {
        try Session(config: try sessionConfig(timeout: timeout), log: { Console.err("kctr: debug: \($0)\n") })
    }
}

enum Deadline {
    static func validate(_ timeout: String, flag: String) throws {
        guard let ms = DurationText.milliseconds(timeout), ms > 0 else {
            throw ValidationError("\(flag) \(timeout) is not a duration: use e.g. 500ms, 10s or 2m")
        }
    }
}

/// Flags every command that talks to the daemon takes, with ctr's -a and -n after the command too.
typealias GlobalOptions = GlobalFlags<CtrFlags>
/// The same for commands crictl also has: -a and -n after the command are crictl's.
typealias CrictlGlobalOptions = GlobalFlags<CrictlFlags>

struct GlobalFlags<Family: FlagFamily>: ParsableArguments, ConnectionSettings {
    @OptionGroup var connection: ConnectionFlags<Family>

    @Option(help: "Deadline of each call: 500ms, 10s, 2m.")
    var timeout: String = "10s"

    var address: String? { connection.address }
    var namespace: String? { connection.namespace }
    var crictlConfig: String? { connection.crictlConfig }
    var maxReceive: Int { connection.maxReceive }
    var debug: Bool { connection.debug }

    func validate() throws { try Deadline.validate(timeout, flag: "--timeout") }

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
/// ArgumentParser wants them after it, so leading global flags are moved behind the
/// subcommand path under their long names: `kctr -a S images ls` -> `kctr images ls --address S`.
/// After the command, short flags are the command's own (FlagFamily); nothing else is rewritten.
enum GlobalArguments {
    static let withValue: Set<String> = ["-a", "--address", "-n", "--namespace", "--timeout", "--crictl-config", "--max-recv-size"]
    static let flags: Set<String> = ["--debug"]

    /// Leading short flags become long ones, so that a command's own short
    /// flag (crictl's `ps -a` for --all) cannot be taken for them.
    static let longNames = ["-a": "--address", "-n": "--namespace"]

    static func hoist(_ args: [String]) -> [String] {
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
        var rest = Array(args[i...])
        guard !leading.isEmpty else { return rest }
        // After `exec`, --timeout is crictl's (the command's own); a leading one is the call deadline. exec passes
        // everything after its container on to the process, so the flags go right after `exec`.
        // So too after stop, rm, stopp, rmp (and pods stop|rm), whose --timeout is crictl's grace period.
        if ownsTimeout(rest) { leading = leading.map { renamed($0, "--timeout", to: "--call-timeout") } }
        if rest.first == "exec" {
            rest.insert(contentsOf: leading, at: 1)
            return rest
        }
        // After `pods` (the listing), --namespace is crictl's Kubernetes namespace: containerd's goes by
        // --containerd-namespace there (CrictlPodFlags).
        if isPodListing(rest) { leading = leading.map { renamed($0, "--namespace", to: "--containerd-namespace") } }
        // Insert before a `--` so the flags stay flags.
        if let dash = rest.firstIndex(of: "--") {
            rest.insert(contentsOf: leading, at: dash)
        } else {
            rest += leading
        }
        return rest
    }

    /// Commands whose --timeout after the command is their own (crictl's): exec's -s timeout, the grace
    /// period of stop, rm, stopp, rmp and pods stop|rm.
    static func ownsTimeout(_ args: [String]) -> Bool {
        let first = args.first ?? "", second = args.dropFirst().first ?? ""
        return ["exec", "stop", "rm", "stopp", "rmp"].contains(first) || (first == "pods" && ["stop", "rm", "remove"].contains(second))
    }

    /// `pods`, `pods ls`, `pods list`, or `pods` followed by an option (the listing is its default).
    static func isPodListing(_ args: [String]) -> Bool {
        guard args.first == "pods" else { return false }
        let second = args.dropFirst().first ?? "ls"
        return ["ls", "list"].contains(second) || second.hasPrefix("-")
    }

    private static func renamed(_ arg: String, _ name: String, to new: String) -> String {
        if arg == name { return new }
        if arg.hasPrefix(name + "=") { return new + arg.dropFirst(name.count) }
        return arg
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
