import ArgumentParser
import KctrCore

public struct Kctr: AsyncParsableCommand {
    /// The configuration ArgumentParser sees. In "quick" parsing (see `KctrMain.parse`) it names a
    /// super-command, which is the one thing that makes ArgumentParser skip its check for
    /// `--generate-completion-script`: parsing two extra pseudo-commands on every run, 7.7 M instructions
    /// or over a third of `kctr version`. The super-command's name appears only in help and usage text,
    /// which kctr never prints in quick parsing.
    public static var configuration: CommandConfiguration {
        guard quickParse else { return full }
        var c = full
        c._superCommandName = ""
        return c
    }

    /// Set by KctrMain before it parses, cleared before anything is printed.
    nonisolated(unsafe) static var quickParse = false

    static let full = CommandConfiguration(
        commandName: "kctr",
        abstract: "Inspect and manage containerd and the CRI on a Kubernetes node.",
        discussion: """
        Talks to containerd's gRPC API and the CRI (runtime.v1) on one socket. The socket is, in order:
        --address, $CONTAINERD_ADDRESS, $CONTAINER_RUNTIME_ENDPOINT, runtime-endpoint in /etc/crictl.yaml,
        /run/containerd/containerd.sock (or k3s's socket when only that exists).
        Exit codes: 0 ok, 1 failure, 64 usage error, 128+N killed by signal N.
        """,
        version: KctrVersion.version,
        subcommands: [VersionCommand.self, Info.self, VerifyRuntime.self, DiskFree.self, Images.self, ImageRmi.self, ImageImport.self, ImageExport.self, Namespaces.self, Plugins.self, Pods.self, PodInspectP.self, ContainerList.self, ContainerInspect.self, ContainerLogsCommand.self, ContainerStatsCommand.self, PodStatsCommand.self, ContainerStop.self, ContainerRemove.self, PodStopP.self, PodRemoveP.self, EventsCommand.self, Containers.self]
    )

    public init() {}
}
