import ArgumentParser
import KctrCore

struct ContainerInspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show containers in full: state, exit code and reason, mounts, log path, PID, snapshot, runtime (a JSON array).")

    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "Output format: json, yaml, or table (a readable summary).") var output: OutputFormatArgument = .json
    @Argument(help: "Container IDs (unique prefixes are enough).") var ids: [String]

    func validate() throws {
        guard !ids.isEmpty else { throw ValidationError("give at least one container ID") }
    }

    func run() async throws {
        let session = try global.session()
        var items: [JSONValue] = []
        for id in ids { items.append(try await Workloads(session: session).inspectContainer(id)) }
        if output == .table {
            Console.out(InspectSummary.render(items.map(InspectSummary.container)))
        } else {
            Console.out(try Render.document(items, as: output.format) ?? "")
        }
    }
}
