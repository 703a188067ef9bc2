import ArgumentParser

struct Plugins: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List containerd's plugins and their status.",
        subcommands: [PluginList.self],
        defaultSubcommand: PluginList.self)
}
