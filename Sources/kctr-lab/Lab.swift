import ArgumentParser
import Foundation
import KctrLab
import KctrRPC

// kctr-lab: fixtures for the bench and the fuzz seeds, made through kctr's own typed RPC layer (KctrLab).
// Test tooling: not a product, not in `make dist`.

@main
struct Lab: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kctr-lab",
        abstract: "Fixtures for scripts/bench/bench.py and scripts/fuzz/fuzz-seeds, over a lab daemon's gRPC API.",
        subcommands: [Pods.self, Tags.self, Replies.self])
}

/// The lab daemon every verb talks to, and how a verb's failure is told.
struct Daemon: ParsableArguments {
    @Argument(help: "The lab daemon's socket (scripts/lab/containerd-lab).") var socket: String

    /// Runs `body` on a client of the daemon; a failure is printed as `kctr-lab VERB: message (hint: ...)` and exits 1.
    func run(_ verb: String, _ body: (RPCClient) async throws -> Void) async throws {
        do {
            try await body(try LabDaemon.client(socket: socket))
        } catch {
            var text = "kctr-lab \(verb): \(error)"
            if let rpc = error as? RPCError {
                text += rpc.code == .unavailable
                    ? " (hint: is a lab daemon listening on \(socket)? start one with scripts/lab/containerd-lab up DIR)"
                    : " (hint: are the test images imported in k8s.io and the daemon's CRI plugin running? see the daemon's log)"
            }
            FileHandle.standardError.write(Data((text + "\n").utf8))
            throw ExitCode.failure
        }
    }
}

struct Pods: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Host-network pods with one busybox container each, started through CRI as the kubelet would.",
        discussion: "The pause and busybox test images (scripts/lab/build-test-images) must be imported in k8s.io first. "
            + "Prints POD_ID CONTAINER_ID lines.")

    @OptionGroup var daemon: Daemon
    @Option(help: "How many pods.") var count = 50
    @Option(help: "Number of the first pod (bench-NNN).") var first = 0
    @Option(help: "Where the pods' log directories go.") var logDir = "/var/tmp/kctr-bench/pod-logs"
    @Option(help: "Pods started at once.") var jobs = 4
    @Option(help: "The containers' image.") var image = ContainerSpec.busybox

    func run() async throws {
        try await daemon.run("pods") { rpc in
            let pods = try await BenchFixtures.pods(rpc, count: count, first: first, logDir: logDir, jobs: jobs, image: image)
            print(pods.map { "\($0.pod) \($0.container)\n" }.joined(), terminator: "")
        }
    }
}

struct Tags: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "More names for the SOURCE images in k8s.io (containerd Images.Create), then waits until CRI lists them.",
        discussion: "Names PREFIX:0 .. PREFIX:N-1, spread over the SOURCE images in turn. Spread them over many images: "
            + "containerd 1.6's CRI re-sorts an image's whole name list for each new name.")

    @OptionGroup var daemon: Daemon
    @Argument(help: "Images in k8s.io the names point at.") var sources: [String]
    @Option(help: "How many names.") var count: Int
    @Option(help: "The names' repository.") var prefix = "docker.io/kctr/bench"
    @Option(help: "Names created at once.") var jobs = 32

    func run() async throws {
        try await daemon.run("tags") { rpc in
            try await BenchFixtures.tags(rpc, sources: sources, count: count, prefix: prefix, jobs: jobs)
        }
    }
}

struct Replies: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The daemon's replies to the calls kctr makes, as seeds for the reply fuzz target.",
        discussion: "One file per call: the reply's message type, a newline, then the reply's bytes. Expects an image "
            + "and a pod with a running container (pods above) in NAMESPACE, so that the lists are not empty.")

    @OptionGroup var daemon: Daemon
    @Argument(help: "Where the seeds go.") var outdir: String
    @Option(help: "The containerd namespace.") var namespace = "k8s.io"

    func run() async throws {
        try await daemon.run("replies") { rpc in
            try await ReplySeeds.write(rpc, to: outdir, namespace: namespace)
        }
    }
}
