import ArgumentParser
import KctrCore

/// `kctr rmi IMAGE...` and `kctr rmi --prune`: crictl's names for `kctr images rm` and `kctr images prune`.
struct ImageRmi: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rmi",
        abstract: "Remove images (crictl's name); never one a container uses. `rmi --prune` is `images prune`.",
        discussion: """
        `rmi IMAGE...` removes each named image record, as `kctr images rm` does, but first refuses every image that \
        a container or pod sandbox uses, in any state (CRI's containers and containerd's). Keeps going past failures.
        """)

    @OptionGroup var prune: PruneFlags<CrictlFlags>
    @Flag(name: [.customShort("q"), .customLong("prune")], help: "Remove every image no container uses (as `kctr images prune`).")
    var pruneAll = false
    @Flag(help: "With images named: wait until containerd has collected their content.") var sync = false
    @Argument(help: "Images to remove.") var refs: [String] = []

    func validate() throws {
        if pruneAll && !refs.isEmpty { throw ValidationError("give image names or --prune, not both") }
        if !pruneAll && refs.isEmpty { throw ValidationError("name at least one image to remove, or pass --prune") }
        if !pruneAll && (prune.dryRun || prune.leaked) { throw ValidationError("--dry-run and --leaked go with --prune") }
    }

    func run() async throws {
        if pruneAll { return try await prune.run() }
        let failures = try await ImagePruner(session: try prune.global.session())
            .removeNamed(refs, sync: sync, emit: { Console.out($0 + "\n") })
        for failure in failures { Console.err("kctr: \(failure)\n") }
        if !failures.isEmpty {
            throw KctrError("\(failures.count) of \(refs.count) image(s) not removed")
        }
    }
}
