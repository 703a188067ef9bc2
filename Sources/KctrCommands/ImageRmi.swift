import ArgumentParser
import KctrCore

/// `kctr rmi IMAGE...` and `kctr rmi --prune`: crictl's names for `kctr images rm` and `kctr images prune`.
struct ImageRmi: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rmi",
        abstract: "Remove images (crictl's name): `rmi IMAGE...` is `images rm`, `rmi --prune` is `images prune`.")

    @OptionGroup var prune: ImagePruneOptions
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
        try await ImageRemove.remove(refs, sync: sync, session: try prune.global.session())
    }
}
