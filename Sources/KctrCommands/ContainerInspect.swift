import ArgumentParser
import KctrCore

struct ContainerInspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show containers in full: state, exit code and reason, mounts, log path, PID, snapshot, runtime (crictl's document; one object per ID, an array for several).")

    @OptionGroup var global: CrictlGlobalOptions
    @Option(name: [.short, .long], help: "Output format: json, yaml, or table (a readable summary).") var output: OutputFormatArgument = .json
    @Argument(help: "Container IDs (unique prefixes are enough).") var ids: [String]

    func validate() throws {
        guard !ids.isEmpty else { throw ValidationError("give at least one container ID") }
    }

    func run() async throws {
        let session = try global.session()
        var items: [Inspected] = []
        for id in ids { items.append(try await Workloads(session: session).inspectContainer(id)) }
        if output == .table {
            Console.out(InspectSummary.render(items.map { InspectSummary.container($0.summary) }))
        } else {
            // crictl's document: one object for one ID, an array for several.
            Console.out(try Render.document(CRIDocument.statuses(items.map(\.document)), as: output.format) ?? "")
        }
    }
}
