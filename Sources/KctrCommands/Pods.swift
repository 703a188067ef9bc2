import ArgumentParser

struct Pods: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pods",
        abstract: "List, inspect, stop and remove pod sandboxes (CRI).",
        subcommands: [PodList.self, PodInspect.self, PodStop.self, PodRemove.self],
        defaultSubcommand: PodList.self)
}
