import ArgumentParser
import KctrCore

/// `kctr statsp [ID...]`
struct PodStatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statsp",
        abstract: "Show pods' resource usage: CPU, memory working set, network, processes (CRI ListPodSandboxStats).",
        discussion: """
        CPU % is of one core (200 = two cores busy); when the runtime reports no rate, kctr samples twice, one \
        second apart. Runtimes without pod-level stats get a clear message (kctr stats shows per-container figures).
        """)

    @OptionGroup var global: CrictlGlobalOptions
    @Option(name: [.short, .long], help: "Output format: table, json or yaml.") var output: OutputFormatArgument = .table
    @Flag(name: .customLong("no-trunc"), help: "Do not shorten IDs.") var noTrunc = false
    @Argument(help: "Pod sandbox IDs (unique prefixes are enough); all pods when none is given.") var ids: [String] = []

    func run() async throws {
        let rows = try await PodStats(session: try global.session()).rows(prefixes: ids)
        if let doc = try Render.document(rows, as: output.format) {
            Console.out(doc)
        } else {
            Console.out(Render.table(PodStats.headers, rows.map { PodStats.cells($0, noTrunc: noTrunc) }))
        }
    }
}
