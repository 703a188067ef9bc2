import ArgumentParser

struct Namespaces: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "namespaces",
        abstract: "List containerd namespaces.",
        subcommands: [NamespaceList.self],
        defaultSubcommand: NamespaceList.self)
}
