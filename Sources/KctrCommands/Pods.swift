import ArgumentParser

struct Pods: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pods",
        abstract: "List and inspect pod sandboxes (CRI).",
        subcommands: [PodList.self, PodInspect.self],
        defaultSubcommand: PodList.self)
}
