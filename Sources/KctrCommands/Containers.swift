import ArgumentParser

struct Containers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "containers",
        abstract: "List and inspect containers (CRI).",
        subcommands: [ContainerList.self, ContainerInspect.self],
        defaultSubcommand: ContainerList.self)
}
