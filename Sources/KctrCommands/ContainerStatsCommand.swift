import ArgumentParser
import Foundation
import KctrCore

struct ContainerStatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show containers' resource usage: CPU, memory working set, writable layer (running ones unless named or --all).",
        discussion: """
        CPU % is of one core (200 = two cores busy). When the runtime reports no CPU rate (containerd 1.6 on its \
        first sample), kctr takes a second sample one second later and computes the rate, as crictl does. \
        MEM is the working set, DISK and INODES the container's writable layer.
        """)

    @OptionGroup var global: CrictlGlobalOptions
    @Option(name: [.short, .long], help: "Output format: table, json or yaml.") var output: OutputFormatArgument = .table
    @Option(name: [.short, .long], help: "Pod sandbox ID (prefix).") var pod: String?
    @Flag(name: [.short, .long], help: "Include containers that are not running.") var all = false
    @Flag(name: .customLong("no-trunc"), help: "Do not shorten IDs.") var noTrunc = false
    @Argument(help: "Container IDs (unique prefixes are enough); all containers when none is given.") var ids: [String] = []

    func run() async throws {
        let session = try global.session()
        var f = StatsFilter()
        f.ids = ids
        f.pod = pod
        f.all = all
        let stats = Stats(session: session)
        if output != .table {
            // crictl's document.
            Console.out(try Render.document(try await stats.document(f), as: output.format) ?? "")
            return
        }
        let rows = try await stats.rows(f)
        Console.out(Render.table(Stats.headers, rows.map { Stats.cells($0, noTrunc: noTrunc) }))
    }
}
