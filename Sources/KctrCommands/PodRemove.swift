import ArgumentParser
import KctrCore

/// `kctr rmp ID...`, crictl's name for `kctr pods rm`.
struct PodRemoveP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rmp",
        abstract: "Remove pod sandboxes and their containers; a ready pod only with -f (stopped first).")

    @OptionGroup var options: RemoveOptions

    func run() async throws { try await options.run(.pod) }
}

/// `kctr pods rm ID...`
struct PodRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove pod sandboxes (same as `kctr rmp`).",
        aliases: ["remove"])

    @OptionGroup var options: RemoveOptions

    func run() async throws { try await options.run(.pod) }
}
