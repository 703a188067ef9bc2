import ArgumentParser
import KctrCore

struct NamespaceList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List namespaces.", aliases: ["list"])

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let session = try global.session()
        let namespaces = try await session.namespaces()
        try output.render(namespaces, id: \.name, headers: ["NAME", "LABELS"]) { ns in
            [ns.name, ns.labels.isEmpty ? "-" : ns.labels.keys.sorted().map { "\($0)=\(ns.labels[$0] ?? "")" }.joined(separator: ",")]
        }
    }
}
