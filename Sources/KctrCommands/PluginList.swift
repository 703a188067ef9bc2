import ArgumentParser
import KctrCore

struct PluginList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List plugins (introspection).", aliases: ["list"])

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "containerd filters, e.g. type==io.containerd.snapshotter.v1")
    var filters: [String] = []

    func run() async throws {
        let session = try global.session()
        let plugins = try await session.plugins(filters: filters)
        try output.render(plugins, id: { "\($0.type).\($0.id)" }, headers: ["TYPE", "ID", "PLATFORMS", "STATUS", "ERROR"]) {
            [$0.type, $0.id, $0.platforms.isEmpty ? "-" : $0.platforms.joined(separator: ","), $0.status, $0.initError ?? "-"]
        }
    }
}
