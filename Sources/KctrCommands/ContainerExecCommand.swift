import ArgumentParser
import Foundation
import KctrCore

struct ContainerExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command in a running container (containerd's Tasks API; -s for CRI ExecSync).",
        discussion: """
        By default the process is created through containerd's own Tasks API in k8s.io, with the container's \
        environment, working directory, user and capabilities, and its stdio on FIFOs kctr creates and removes: \
        no CRI streaming server is involved. Its exit status is kctr's (126 and 127 when the command cannot run or \
        is not found, as shells say). -t puts the local terminal in raw mode (Ctrl-C reaches the process through \
        its terminal) and follows window size changes. Ctrl-C without -t ends the process and exits 130.
        -s runs it through CRI ExecSync instead, as crictl exec -s does: output is collected, then printed.
        """)

    @OptionGroup var connection: ConnectionFlags<CrictlFlags>

    @Option(name: .customLong("call-timeout"), help: "Deadline of each call (what --timeout is before the command): 500ms, 10s, 2m.")
    var callTimeout: String = "10s"

    @Flag(name: [.short, .long], help: "Pass standard input to the process.")
    var interactive = false

    @Flag(name: [.short, .long], help: "Allocate a terminal (needs one on standard input).")
    var tty = false

    @Flag(name: [.short, .long], help: "Run through CRI ExecSync and wait for the output (as crictl exec -s).")
    var sync = false

    @Option(help: "With -s: give up after this long (e.g. 30s); default: no limit.")
    var timeout: String?

    @Argument(help: "The container: an ID or a unique prefix of one.")
    var container: String

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (after --).")
    var command: [String] = []

    var argv: [String] { command.first == "--" ? Array(command.dropFirst()) : command }

    func validate() throws {
        try Deadline.validate(callTimeout, flag: "--call-timeout")
        guard !argv.isEmpty else { throw ValidationError("give the command to run after the container: kctr exec CONTAINER -- CMD [ARG...]") }
        if sync && (interactive || tty) { throw ValidationError("-s (ExecSync) takes no input and no terminal: drop -i and -t") }
        if let timeout {
            guard sync else { throw ValidationError("--timeout applies to -s (ExecSync); without -s, stop the process with Ctrl-C") }
            guard let ms = DurationText.milliseconds(timeout), ms >= 1000 else {
                throw ValidationError("--timeout \(timeout) is not a duration of at least 1s (e.g. 30s)")
            }
        }
    }

    func run() async throws {
        let session = try connection.session(timeout: callTimeout)
        let exec = ContainerExec(session: session)
        if sync {
            let seconds = (timeout.flatMap(DurationText.milliseconds) ?? 0) / 1000
            let r = try await exec.runSync(container, command: argv, timeoutSeconds: seconds)
            FileHandle.standardOutput.write(Data(r.stdout))
            FileHandle.standardError.write(Data(r.stderr))
            if r.exitCode != 0 { throw ExitCode(r.exitCode) }
            return
        }
        var options = ContainerExec.Options(command: argv)
        options.stdin = interactive
        options.tty = tty
        let status = try await exec.run(container, options)
        if status != 0 { throw ExitCode(status) }
    }
}
