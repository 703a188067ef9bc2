import ArgumentParser

struct Plugins: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List containerd's plugins and their status.",
        subcommands: [PluginList.self],
        defaultSubcommand: PluginList.self)
}
