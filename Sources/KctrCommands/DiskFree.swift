import ArgumentParser
import Foundation
import KctrCore

struct DiskFree: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "df",
        abstract: "Show the image filesystem: where containerd's bytes are, what holds them, and how close the kubelet's image GC and disk eviction are.",
        discussion: """
        Reads every namespace: blobs, snapshots (with their usage), leases and what they hold, ingests, containers; \
        CRI's images, containers, sandboxes and ImageFsInfo; statfs of the filesystems holding them; and the kubelet's \
        config (defaults where a field or the file is absent). Image rows are of the namespace given with -n (k8s.io). \
        Nothing is changed.
        """)

    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "Output format: table, json or yaml.") var output: OutputFormatArgument = .table
    @Option(name: .customLong("kubelet-config"), help: "The kubelet's config file (default: \(KubeletDiskPolicy.defaultPath), its defaults when absent).")
    var kubeletConfig: String?
    @Option(name: .customLong("kubelet-root"), help: "The kubelet's root dir: its filesystem is nodefs (default: /var/lib/kubelet).")
    var kubeletRoot: String = "/var/lib/kubelet"
    @Option(help: "Image rows in the table, largest unique bytes first; 0 for all (json and yaml have all).")
    var top: Int = 10
    @Flag(name: .customLong("no-trunc"), help: "Do not shorten digests and IDs.") var noTrunc = false

    func validate() throws {
        guard top >= 0 else { throw ValidationError("--top must be 0 (all) or more") }
    }

    func run() async throws {
        let policy = try KubeletDiskPolicy.load(path: kubeletConfig ?? KubeletDiskPolicy.defaultPath)
        if let kubeletConfig, !policy.configFound {
            throw KctrError("the kubelet config \(kubeletConfig) does not exist",
                            hint: "pass the file the kubelet runs with (ps -o args= -C kubelet shows its --config), or leave --kubelet-config out for the defaults")
        }
        let session = try global.session()
        let facts = try await StorageScan(session: session).gather(allNamespaces: true)
        let report = DiskReport.build(.init(facts: facts, namespace: session.config.namespace, policy: policy, kubeletRoot: kubeletRoot))
        if let doc = try Render.document(report, as: output.format) {
            Console.out(doc)
        } else {
            Console.out(report.text(top: top, noTrunc: noTrunc))
        }
    }
}
