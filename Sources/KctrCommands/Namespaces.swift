import ArgumentParser

struct Namespaces: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List containerd namespaces.",
        subcommands: [NamespaceList.self],
        defaultSubcommand: NamespaceList.self)
}
