import ArgumentParser

struct Containers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List and inspect containers (CRI).",
        subcommands: [ContainerList.self, ContainerInspect.self],
        defaultSubcommand: ContainerList.self)
}
