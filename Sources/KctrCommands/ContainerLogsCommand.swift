import ArgumentParser
import Foundation
import KctrCore

struct ContainerLogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print a container's log (the CRI log file), optionally following it.")

    @OptionGroup var global: CrictlGlobalOptions
    @Flag(name: [.short, .long], help: "Keep printing new lines (across log rotations) until the container stops.") var follow = false
    @Option(help: "Only the last N lines.") var tail: Int?
    @Option(help: "Only lines since a duration ago (10s, 5m, 2h) or an RFC 3339 time.") var since: String?
    @Flag(name: [.short, .long], help: "Prefix each line with its time.") var timestamps = false
    @Option(name: [.short, .long], help: "stdout or stderr only.") var stream: String?
    @Flag(name: [.short, .long], help: "The previous attempt of the container.") var previous = false
    @Argument(help: "Container ID (a unique prefix is enough).") var id: String

    func validate() throws {
        if let tail, tail < 0 { throw ValidationError("--tail takes a number of lines, 0 or more") }
        if let stream, stream != "stdout" && stream != "stderr" { throw ValidationError("--stream takes stdout or stderr") }
        if let since, CRILogParser.since(since) == nil {
            throw ValidationError("--since \(since) is neither a duration (10s, 5m) nor an RFC 3339 time")
        }
    }

    func run() async throws {
        let session = try global.session()
        var options = LogOptions()
        options.follow = follow
        options.tail = tail
        options.since = since.flatMap { CRILogParser.since($0) }
        options.timestamps = timestamps
        options.stream = stream
        options.previous = previous
        try await ContainerLogs(session: session).run(id, options: options) { stream, line in
            if stream == "stderr" { Console.err(line + "\n") } else { Console.out(line + "\n") }
        }
    }
}
