import ArgumentParser
import KctrCore

/// crictl's grace period: `-t/--timeout` after the command. kctr's call deadline goes before it
/// (`kctr --timeout 30s stop ID`, which GlobalArguments passes on as --call-timeout), as for exec.
struct GracePeriod: ParsableArguments {
    @Option(name: [.customShort("t"), .customLong("timeout")],
            help: "Seconds to wait for a graceful stop before the kill (crictl's --timeout; also 30s, 2m). Default 0: kill at once.")
    var timeout: String = "0"

    var seconds: Int64 { (DurationText.milliseconds(timeout) ?? 0) / 1000 }

    func validate() throws {
        guard DurationText.milliseconds(timeout) != nil else {
            throw ValidationError("--timeout \(timeout) is not a number of seconds (or a duration such as 30s or 2m)")
        }
    }
}

/// The connection flags of crictl-named commands whose --timeout is their own: the call deadline is
/// --call-timeout after the command (a leading --timeout becomes it).
struct CrictlConnection: ParsableArguments, ConnectionSettings {
    @OptionGroup var connection: ConnectionFlags<CrictlFlags>

    @Option(name: .customLong("call-timeout"), help: "Deadline of each call (what --timeout is before the command): 500ms, 10s, 2m.")
    var callTimeout: String = "10s"

    func validate() throws { try Deadline.validate(callTimeout, flag: "--call-timeout") }

    func session() throws -> Session { try connection.session(timeout: callTimeout) }

    var address: String? { connection.address }
    var namespace: String? { connection.namespace }
}

/// What `kctr stop` and `kctr stopp` share.
struct StopOptions: ParsableArguments {
    @OptionGroup var global: CrictlConnection
    @OptionGroup var grace: GracePeriod
    @Argument(help: "IDs (unique prefixes are enough).") var ids: [String] = []

    func validate() throws {
        guard !ids.isEmpty else { throw ValidationError("name at least one ID to stop") }
    }

    func run(_ kind: WorkloadTarget.Kind) async throws {
        let changes = WorkloadChanges(session: try global.session())
        let (targets, unresolved) = try await changes.targets(kind, prefixes: ids, all: false)
        let emit: (String) -> Void = { Console.out($0 + "\n") }
        let outcome = kind == .container
            ? await changes.stopContainers(targets, timeoutSeconds: grace.seconds, emit: emit)
            : await changes.stopPods(targets, timeoutSeconds: grace.seconds, emit: emit)
        try WorkloadReport.finish(kind, verb: "stopped", asked: ids.count, failures: unresolved + outcome.failures)
    }
}

/// Failures to stderr, one per object; exit 1 when any.
enum WorkloadReport {
    static func finish(_ kind: WorkloadTarget.Kind, verb: String, asked: Int, failures: [String]) throws {
        for f in failures { Console.err("kctr: \(f)\n") }
        guard failures.isEmpty else {
            let noun = kind == .container ? "container" : "pod"
            throw KctrError("\(failures.count) of \(asked) \(noun)\(asked == 1 ? "" : "s") not \(verb)")
        }
    }
}

/// `kctr stop ID...`
struct ContainerStop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop running containers (CRI StopContainer; keeps going past failures).")

    @OptionGroup var options: StopOptions

    func run() async throws { try await options.run(.container) }
}
