import ArgumentParser
import Foundation
import KctrCore

struct ContainerList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List containers (running ones unless -a).", aliases: ["ls"])

    @OptionGroup var global: CrictlGlobalOptions
    @OptionGroup var output: OutputOptions

    @Flag(name: [.short, .long], help: "Show all containers, not only running ones.") var all = false
    @Option(name: [.short, .long], help: "Pod sandbox ID (prefix).") var pod: String?
    @Option(help: "Container name (regular expression).") var name: String?
    @Option(name: [.short, .long], help: "created, running, exited or unknown.") var state: String?
    @Option(help: "Image (substring of the name or ID).") var image: String?
    @Option(help: "Label key=value (repeatable).") var label: [String] = []
    @Option(help: "ID prefix.") var id: String?
    @Flag(name: [.short, .long], help: "Only the most recently created container.") var latest = false
    @Option(name: [.customShort("n"), .long], help: "Only the N most recently created containers.", transform: LastCount.parse) var last: Int?

    static let headers = ["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD", "PID", "TASK"]

    /// containerd's view of the process: its status, with the exit code once stopped.
    static func task(_ row: ContainerRow) -> String {
        guard let status = row.taskStatus else { return "-" }
        if let code = row.taskExitStatus { return "\(status) (\(code))" }
        return status
    }

    func validate() throws {
        if let state, !["created", "running", "exited", "unknown"].contains(state.lowercased()) {
            throw ValidationError("--state takes created, running, exited or unknown")
        }
        if let last, last < 1 { throw ValidationError("--last takes a positive number") }
        _ = try Labels.parse(label)
    }

    func run() async throws {
        let session = try global.session()
        var f = ContainerFilter()
        f.all = all
        f.pod = pod
        f.name = name
        f.state = state
        f.image = image
        f.labels = try Labels.parse(label)
        f.idPrefix = id
        f.latest = latest
        f.last = last
        let workloads = Workloads(session: session)
        if try await output.renderDocument({ try await workloads.containersDocument(f) }) { return }
        let rows = try await workloads.containers(f, details: !output.quiet)
        let now = Date().timeIntervalSince1970
        try output.render(rows, id: \.id, headers: Self.headers) {
            [output.shortID($0.id), $0.image, Age.describe(now - Double($0.created) / 1e9),
             $0.state, $0.name, "\($0.attempt)", output.shortID($0.podID),
             $0.podNamespace.isEmpty ? $0.podName : "\($0.podNamespace)/\($0.podName)", $0.pid.map { $0 > 0 ? "\($0)" : "-" } ?? "-", Self.task($0)]
        }
    }
}
