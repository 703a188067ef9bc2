import ArgumentParser
import Foundation
import KctrCore

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print containerd's events as they happen, one line each, until Ctrl-C.",
        discussion: """
        Each line is TIME NAMESPACE TOPIC PAYLOAD, the payload as compact JSON; -o json prints one object per line \
        ({timestamp, namespace, topic, type, event}).

        Like ctr events, kctr shows the events of all namespaces; -n/--namespace NS given on the command line \
        (not $CONTAINERD_NAMESPACE) shows only those of NS.

        --topic PREFIX (repeatable) keeps events whose topic starts with PREFIX (sent as topic~="^PREFIX"). \
        --filter EXPR (repeatable) passes a containerd filter as is, e.g. 'topic=="/tasks/exit"', \
        'event.container_id==ID' or 'topic~="^/images/"'. Several --topic are alternatives, several --filter \
        too; --topic, --filter and -n given together must all match.

        Ctrl-C ends it (exit 130); when containerd stops, kctr says so and exits 1.
        """)

    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "Output format: table (one line per event) or json (one object per line).")
    var output: EventsOutput = .table
    @Option(help: "Topic prefix, e.g. /tasks/ (repeatable).") var topic: [String] = []
    @Option(help: "Raw containerd filter expression (repeatable).") var filter: [String] = []

    enum EventsOutput: String, ExpressibleByArgument, CaseIterable {
        case table, json
        static var allValueStrings: [String] { allCases.map(\.rawValue) }
        var defaultValueDescription: String { rawValue }
    }

    func validate() throws {
        if topic.contains(where: \.isEmpty) { throw ValidationError("--topic takes a non-empty prefix, e.g. /tasks/") }
        if filter.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw ValidationError("--filter takes a containerd filter, e.g. topic==\"/tasks/exit\"")
        }
    }

    func run() async throws {
        let session = try global.session()
        let filters = EventFilters.build(topics: topic, filters: filter, namespace: global.namespace.flatMap { $0.isEmpty ? nil : $0 })
        session.debug("event filters: \(filters.isEmpty ? "none" : filters.joined(separator: " | "))")
        let json = output == .json
        try await Events(session: session).watch(filters: filters) { event in
            Console.out(json ? try EventFormat.jsonLine(event) : try EventFormat.line(event))
        }
    }
}
