import ArgumentParser
import KctrCore

struct PodInspectOptions: ParsableArguments {
    @OptionGroup var global: CrictlGlobalOptions
    @Option(name: [.short, .long], help: "Output format: json, yaml, or table (a readable summary).") var output: OutputFormatArgument = .json
    @Argument(help: "Pod sandbox IDs (unique prefixes are enough).") var ids: [String]

    func validate() throws {
        guard !ids.isEmpty else { throw ValidationError("give at least one pod sandbox ID") }
    }

    func run() async throws {
        let session = try global.session()
        var items: [Inspected] = []
        for id in ids { items.append(try await Workloads(session: session).inspectPod(id)) }
        if output == .table {
            Console.out(InspectSummary.render(items.map { InspectSummary.pod($0.summary) }))
        } else {
            // crictl's document: one object for one ID, an array for several.
            Console.out(try Render.document(CRIDocument.statuses(items.map(\.document)), as: output.format) ?? "")
        }
    }
}

/// `kctr pods inspect ID...`
struct PodInspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show pod sandboxes in full: status, runtime options, pause process and image, containers (crictl's document; one object per ID, an array for several).")

    @OptionGroup var options: PodInspectOptions

    func run() async throws { try await options.run() }
}

/// `kctr inspectp ID...`, crictl's name for `kctr pods inspect`.
struct PodInspectP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspectp",
        abstract: "Show pod sandboxes in full (same as `kctr pods inspect`).")

    @OptionGroup var options: PodInspectOptions

    func run() async throws { try await options.run() }
}
