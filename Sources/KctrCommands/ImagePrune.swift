import ArgumentParser
import Foundation
import KctrCore

/// The options and the run of `kctr images prune`, shared with `kctr rmi --prune` (whose connection
/// flags are crictl's: `Family`).
struct PruneFlags<Family: FlagFamily>: ParsableArguments {
    @OptionGroup var global: GlobalFlags<Family>
    @Option(name: [.short, .long], help: "Output format: table, json or yaml.") var output: OutputFormatArgument = .table
    @Flag(name: .customLong("dry-run"), help: "List what would go and the bytes that frees; remove nothing.") var dryRun = false
    @Flag(help: "Also release expired leases and kctr's own stale import leases and ingests (every namespace), then let containerd collect what nothing references.")
    var leaked = false

    func run() async throws {
        let session = try global.session()
        let pruner = ImagePruner(session: session)
        let (plan, facts) = try await pruner.plan(leaked: leaked)
        let table = output == .table
        // Named before anything is removed.
        if table { Console.out(plan.text(dryRun: dryRun)) }
        guard !dryRun else {
            if let doc = try Render.document(PruneResult(plan: plan, dryRun: true, before: ImagePruner.state(facts)), as: output.format) {
                Console.out(doc)
            }
            return
        }
        let result = try await pruner.run(plan, facts: facts, emit: { line in if table { Console.out(line + "\n") } })
        if let doc = try Render.document(result, as: output.format) {
            Console.out(doc)
        } else {
            Console.out(result.text)
        }
        for f in result.failures { Console.err("kctr: \(f)\n") }
        if !result.failures.isEmpty {
            throw KctrError("\(result.failures.count) step(s) of the prune failed (see above); the rest was done")
        }
    }
}

typealias ImagePruneOptions = PruneFlags<CtrFlags>

/// `kctr images prune`
struct ImagePrune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove the images no container uses (running or exited), never a pinned image or the sandbox image.",
        discussion: """
        Lists what goes and what stays (and why) before removing anything, removes every name of each unused image, \
        then waits for containerd's garbage collection and reports the space before and after (statfs, content, \
        snapshots). Kept: images any container or pod sandbox uses, in any state; the runtime's configured sandbox image; \
        images CRI reports pinned or labelled io.cri-containerd.pinned=pinned. Just before removing, the containers are \
        listed again, so an image a pod took up in between stays. --leaked never touches a lease that has not expired \
        unless it is kctr's own and its process is gone.
        """)

    @OptionGroup var options: ImagePruneOptions

    func run() async throws { try await options.run() }
}
