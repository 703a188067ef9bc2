import ArgumentParser
import KctrCore

/// `kctr stopp ID...`, crictl's name for `kctr pods stop`.
struct PodStopP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stopp",
        abstract: "Stop pod sandboxes: their running containers (given --timeout to exit), then the sandbox.")

    @OptionGroup var options: StopOptions

    func run() async throws { try await options.run(.pod) }
}

/// `kctr pods stop ID...`
struct PodStop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop pod sandboxes (same as `kctr stopp`).")

    @OptionGroup var options: StopOptions

    func run() async throws { try await options.run(.pod) }
}
