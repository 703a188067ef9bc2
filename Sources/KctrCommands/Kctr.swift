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

        Global options go before the command, as ctr takes them: -a/--address, -n/--namespace, --timeout, \
        --debug, --crictl-config, --max-recv-size. After the command, short flags are the command's own: \
        after a command crictl also has (ps, pods, inspect, inspectp, images ls, images inspect, logs, stats, \
        exec, pull, info, version) they mean what they mean to crictl (ps -a is --all, pods -n is --last) and the \
        address and namespace go by their long names; after every other command -a and -n are the address and \
        the namespace, as in ctr. Each command's --help lists what it takes after its name.
        """,
        version: KctrVersion.version,
        subcommands: [VersionCommand.self, Info.self, VerifyRuntime.self, DiskFree.self, Images.self, ImageRmi.self, ImageImport.self, ImageExport.self, ImagePullCommand.self, Namespaces.self, Plugins.self, Pods.self, PodInspectP.self, ContainerList.self, ContainerInspect.self, ContainerExecCommand.self, ContainerLogsCommand.self, ContainerStatsCommand.self, PodStatsCommand.self, ContainerStop.self, ContainerRemove.self, PodStopP.self, PodRemoveP.self, EventsCommand.self, Containers.self]
    )

    public init() {}
}
