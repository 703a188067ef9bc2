import ArgumentParser
import Foundation
import KctrCore

struct PodList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List pod sandboxes.", aliases: ["list"])

    @OptionGroup var global: GlobalFlags<CrictlPodFlags>
    @OptionGroup var output: OutputOptions

    @Option(help: "Pod name (regular expression).") var name: String?
    @Option(name: [.customLong("namespace"), .customLong("pod-namespace")],
            help: ArgumentHelp("Kubernetes namespace (regular expression), as crictl's --namespace.", valueName: "pod-namespace")) var podNamespace: String?
    @Option(name: [.short, .long], help: "ready or notready.") var state: String?
    @Option(help: "Label key=value (repeatable).") var label: [String] = []
    @Option(help: "ID prefix.") var id: String?
    @Flag(name: [.short, .long], help: "Only the most recently created pod.") var latest = false
    @Option(name: [.customShort("n"), .long], help: "Only the N most recently created pods.", transform: LastCount.parse) var last: Int?

    static let headers = ["POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME", "IMAGE"]

    func validate() throws {
        if let state, !["ready", "notready"].contains(state.lowercased()) {
            throw ValidationError("--state takes ready or notready")
        }
        if let last, last < 1 { throw ValidationError("--last takes a positive number") }
        _ = try Labels.parse(label)
    }

    func run() async throws {
        let session = try global.session()
        var f = PodFilter()
        f.name = name
        f.namespace = podNamespace
        f.state = state
        f.labels = try Labels.parse(label)
        f.idPrefix = id
        f.latest = latest
        f.last = last
        let workloads = Workloads(session: session)
        if try await output.renderDocument({ try await workloads.podsDocument(f) }) { return }
        let rows = try await workloads.pods(f, details: !output.quiet)
        let now = Date().timeIntervalSince1970
        try output.render(rows, id: \.id, headers: Self.headers) {
            [output.shortID($0.id), Age.describe(now - Double($0.created) / 1e9), $0.state,
             $0.name, $0.namespace, "\($0.attempt)", $0.runtimeHandler.isEmpty ? "(default)" : $0.runtimeHandler,
             $0.sandboxImage ?? "-"]
        }
    }
}

/// crictl's `-n, --last N`. `pods -n kube-system` (kubectl's habit) gets a hint.
enum LastCount {
    static func parse(_ text: String) throws -> Int {
        guard let n = Int(text) else {
            throw ValidationError("--last takes a number (-n is --last after ps and pods, as in crictl; for a Kubernetes namespace use --namespace \(text))")
        }
        return n
    }
}

enum Labels {
    static func parse(_ items: [String]) throws -> [String: String] {
        var out: [String: String] = [:]
        for item in items {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--label \(item) is not key=value") }
            out[parts[0]] = parts[1]
        }
        return out
    }
}

enum Age {
    /// 42 -> "42 seconds ago", as crictl prints ages.
    static func describe(_ seconds: Double) -> String {
        let s = max(0, Int(seconds))
        if s < 60 { return "\(s) seconds ago" }
        if s < 3600 { return "\(s / 60) minutes ago" }
        if s < 86_400 { return "\(s / 3600) hours ago" }
        return "\(s / 86_400) days ago"
    }
}
