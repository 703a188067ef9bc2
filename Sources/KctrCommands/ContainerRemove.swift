import ArgumentParser
import KctrCore

/// What `kctr rm` and `kctr rmp` share.
struct RemoveOptions: ParsableArguments {
    @OptionGroup var global: CrictlConnection
    @OptionGroup var grace: GracePeriod
    @Flag(name: [.short, .long], help: "Stop what is running first (given --timeout), then remove it.") var force = false
    @Flag(name: [.short, .long], help: "All of them (running ones only with -f), as crictl's -a.") var all = false
    @Argument(help: "IDs (unique prefixes are enough).") var ids: [String] = []

    func validate() throws {
        if all && !ids.isEmpty { throw ValidationError("give IDs or --all, not both") }
        if !all && ids.isEmpty { throw ValidationError("name at least one ID to remove, or pass --all") }
    }

    func run(_ kind: WorkloadTarget.Kind) async throws {
        let changes = WorkloadChanges(session: try global.session())
        let (targets, unresolved) = try await changes.targets(kind, prefixes: ids, all: all)
        let (remove, refused, kept) = WorkloadChanges.removable(targets, force: force, all: all)
        let noun = kind == .container ? "container" : "pod"
        for t in kept {
            Console.out("keeping \(t.described): it is \(t.state.lowercased()) (pass -f to stop and remove it)\n")
        }
        // Named before anything is removed.
        if !remove.isEmpty {
            Console.out("removing \(remove.count) \(noun)\(remove.count == 1 ? "" : "s"):\n")
            Console.out(Render.table(["  ID", kind == .container ? "NAME" : "POD", "STATE", "ACTION"], remove.map {
                ["  \($0.shortID)", $0.label, $0.state, $0.inUse ? "stop, then remove" : "remove"]
            }))
        } else if refused.isEmpty && unresolved.isEmpty {
            Console.out("no \(noun) to remove\(kept.isEmpty ? "" : " without -f")\n")
        }
        let emit: (String) -> Void = { Console.out($0 + "\n") }
        let outcome = kind == .container
            ? await changes.removeContainers(remove, timeoutSeconds: grace.seconds, emit: emit)
            : await changes.removePods(remove, timeoutSeconds: grace.seconds, emit: emit)
        try WorkloadReport.finish(kind, verb: "removed", asked: all ? targets.count : ids.count,
                                  failures: unresolved + refused + outcome.failures)
    }
}

/// `kctr rm ID...`
struct ContainerRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove containers; a running one only with -f (stopped first). Keeps going past failures.")

    @OptionGroup var options: RemoveOptions

    func run() async throws { try await options.run(.container) }
}
