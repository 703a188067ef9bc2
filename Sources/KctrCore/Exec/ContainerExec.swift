import Dispatch
import Foundation
import KctrRPC

/// `kctr exec`: a process in a running CRI container, through containerd's Tasks API in k8s.io
/// (no CRI streaming server), or through CRI ExecSync with `sync`.
public struct ContainerExec: Sendable {
    public let session: Session

    public init(session: Session) { self.session = session }

    public struct Options: Sendable {
        public var command: [String]
        /// -i: pass kctr's stdin to the process.
        public var stdin = false
        /// -t: a terminal (raw mode locally, a pty in the container).
        public var tty = false
        public init(command: [String]) { self.command = command }
    }

    /// The container `prefix` names, checked to be CRI's and running; its runtime spec's process.
    struct Target {
        var id: String
        var name: String
        var process: [String: JSONValue]
    }

    func target(_ prefix: String, spec: Bool = true) async throws -> Target {
        let listed: [ContainerSummary]
        do {
            listed = try await session.cri.listContainers()
        } catch {
            throw session.explain(error, doing: "listing containers")
        }
        if !listed.contains(where: { $0.id.hasPrefix(prefix) }) { try await refuseNonCRI(prefix) }
        let id = try Workloads.unique(prefix, listed.map(\.id), what: "container", list: "kctr ps -a -q")
        let status: ContainerStatusReport
        do {
            status = try await session.cri.containerStatus(id: id, verbose: spec)
        } catch {
            throw session.explain(error, doing: "reading container \(id.prefix(13))")
        }
        let name = listed.first { $0.id == id }?.name ?? ""
        let shown = name.isEmpty ? String(id.prefix(13)) : "\(name) (\(id.prefix(13)))"
        guard status.state == "Running" else {
            let exited = status.state == "Exited" ? ", exit code \(status.exitCode)" : ""
            throw KctrError("container \(shown) is not running (\(status.state.lowercased())\(exited)): there is nothing to exec into",
                            hint: "kctr ps -a shows it; kctr logs \(id.prefix(13)) shows why it stopped")
        }
        guard spec else { return Target(id: id, name: name, process: [:]) }
        guard case .object(let info)? = status.info["info"].map(JSONValue.parse),
              case .object(let spec)? = info["runtimeSpec"], case .object(let process)? = spec["process"] else {
            throw KctrError("container \(shown): the runtime reports no runtime spec to derive the exec process from",
                            hint: "use kctr exec -s (CRI ExecSync) instead")
        }
        return Target(id: id, name: name, process: process)
    }

    /// A prefix CRI does not know: say whether containerd has such a container that is not CRI's.
    private func refuseNonCRI(_ prefix: String) async throws {
        guard !prefix.isEmpty else { return }
        let records = (try? await session.store.namespacedStore(Workloads.criNamespace).containers()) ?? []
        guard let other = records.first(where: { $0.id.hasPrefix(prefix) }) else { return }
        if other.labels["io.cri-containerd.kind"] == "sandbox" {
            throw KctrError("\(other.id.prefix(13)) is a pod's sandbox (its pause container), not a container to exec into",
                            hint: "kctr ps --pod \(other.id.prefix(13)) lists the pod's containers")
        }
        throw KctrError("container \(other.id.prefix(13)) exists in containerd's k8s.io namespace but is not one CRI manages (created by ctr or nerdctl?)",
                        hint: "kctr exec runs in CRI containers; for this one use ctr -n k8s.io tasks exec --exec-id ID \(other.id.prefix(13)) CMD")
    }

    /// The exec process's OCI spec: the container's own process (env, cwd, user, capabilities,
    /// rlimits, no_new_privileges, apparmor/selinux labels) with the command and terminal replaced.
    static func processSpec(_ process: [String: JSONValue], command: [String], tty: Bool,
                            size: (width: UInt32, height: UInt32)? = nil) throws -> [UInt8] {
        var p = process
        p["args"] = .array(command.map { .string($0) })
        p["terminal"] = .bool(tty)
        // The pty starts at the local terminal's size (a resize after start could come after the
        // command has already asked for it).
        p["consoleSize"] = size.map { .object(["width": .number(Double($0.width)), "height": .number(Double($0.height))]) }
        guard let text = try Render.document(JSONValue.object(p), as: .json) else { return [] }
        return Array(text.utf8)
    }

    /// Runs the command; the process's exit status is kctr's.
    public func run(_ prefix: String, _ options: Options) async throws -> Int32 {
        if options.tty && isatty(0) != 1 {
            throw KctrError.usage("-t needs a terminal on standard input", hint: "drop -t (keep -i to pass input), or run kctr from a terminal")
        }
        let target = try await target(prefix)
        let spec = try Self.processSpec(target.process, command: options.command, tty: options.tty,
                                        size: options.tty ? RawTerminal.size().map { (width: $0.0, height: $0.1) } : nil)
        let execID = "kctr-exec-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let api = session.containerd.namespaced(Workloads.criNamespace)
        let fifos = try ExecFIFOs(execID: execID, stdin: options.stdin, stderr: !options.tty)
        defer { fifos.remove() }
        do {
            try await api.exec(containerID: target.id, execID: execID, spec: spec, terminal: options.tty,
                               stdin: fifos.stdinPath, stdout: fifos.stdoutPath, stderr: fifos.stderrPath)
        } catch {
            throw session.explain(error, doing: "creating an exec process in container \(target.id.prefix(13))")
        }
        let outcome: Result<Int32, Error>
        do {
            outcome = .success(try await attach(target, execID: execID, fifos: fifos, options: options, api: api))
        } catch {
            outcome = .failure(error)
        }
        // Removed before kctr exits, also after Ctrl-C (a detached task: the caller is cancelled).
        let id = target.id
        await Task.detached { try? await api.deleteProcess(containerID: id, execID: execID) }.value
        return try outcome.get()
    }

    /// Waits for, starts and connects the exec process; its exit status.
    private func attach(_ target: Target, execID: String, fifos: ExecFIFOs, options: Options, api: ContainerdAPI) async throws -> Int32 {
        // Wait before start: an exec that exits at once must not be missed.
        let waiter = Task { try await api.wait(containerID: target.id, execID: execID) }
        let stop = StopFlag()
        let outDone = DispatchSemaphore(value: 0), errDone = DispatchSemaphore(value: 0)
        ExecCopy.drain(fifos.stdoutFD, to: 1, done: outDone, stop: stop)
        if fifos.stderrFD >= 0 { ExecCopy.drain(fifos.stderrFD, to: 2, done: errDone, stop: stop) } else { errDone.signal() }
        if options.tty { try RawTerminal.enter() }
        defer { RawTerminal.restore() }
        do {
            _ = try await api.start(containerID: target.id, execID: execID)
        } catch {
            waiter.cancel()
            stop.set()
            RawTerminal.restore()
            throw Self.startFailure(error, command: options.command, session: session, container: target.id)
        }
        var resizer: DispatchSourceSignal?
        if options.tty {
            let id = target.id
            let resize: @Sendable () -> Void = {
                guard let (w, h) = RawTerminal.size() else { return }
                Self.detached { try? await api.resizePty(containerID: id, execID: execID, width: w, height: h) }
            }
            resize()
            signal(SIGWINCH, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
            source.setEventHandler(handler: resize)
            source.resume()
            resizer = source
        }
        defer { resizer?.cancel() }
        if options.stdin {
            let id = target.id
            ExecCopy.feed(from: 0, to: fifos) {
                Self.detached { try? await api.closeStdin(containerID: id, execID: execID) }
            }
        }
        let status: UInt32
        do {
            status = try await withTaskCancellationHandler {
                try await waiter.value
            } onCancel: {
                waiter.cancel()
            }
        } catch {
            stop.set()
            if Task.isCancelled {
                // Ctrl-C or SIGTERM to kctr: the process goes too, before kctr removes it and exits.
                let id = target.id
                await Task.detached {
                    try? await api.kill(containerID: id, execID: execID, signal: SIGKILL)
                    _ = try? await api.wait(containerID: id, execID: execID)
                }.value
                throw CancellationError()
            }
            throw session.explain(error, doing: "waiting for the exec process in container \(target.id.prefix(13))")
        }
        // The output the process wrote before it exited; a grandchild holding the FIFO open gets 2 s.
        for done in [outDone, errDone] where done.wait(timeout: .now() + 2) == .timedOut { stop.set() }
        stop.set()
        return Int32(bitPattern: status)
    }

    /// A start that failed: a missing command is exit 127 and one that cannot run 126, as shells say.
    static func startFailure(_ error: Error, command: [String], session: Session, container: String) -> Error {
        guard let e = error as? RPCError else { return error }
        let text = e.message
        let name = command.first ?? ""
        if text.contains("executable file not found") || text.contains("no such file or directory") {
            return KctrError("\(name): command not found in container \(container.prefix(13)) (\(text))",
                             hint: "check the command's name and the container's PATH (kctr exec \(container.prefix(13)) -- sh -c 'echo $PATH')", exitCode: 127)
        }
        if text.contains("permission denied") {
            return KctrError("\(name): permission denied in container \(container.prefix(13)) (\(text))",
                             hint: "the file is not executable for the container's user", exitCode: 126)
        }
        return session.explain(error, doing: "starting \(name) in container \(container.prefix(13))")
    }

    /// `exec -s`: CRI ExecSync, its output and exit code.
    public func runSync(_ prefix: String, command: [String], timeoutSeconds: Int64) async throws -> ExecSyncResult {
        let target = try await target(prefix, spec: false)
        let result: Result<ExecSyncResult, RPCError>
        do {
            result = .success(try await session.cri.execSync(id: target.id, cmd: command, timeoutSeconds: timeoutSeconds))
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success(let r):
            return r
        case .failure(let e):
            if e.code == .deadlineExceeded || e.message.contains("timeout") {
                throw KctrError("\(command.first ?? "") in container \(target.id.prefix(13)) did not finish within \(timeoutSeconds)s",
                                hint: "raise --timeout, or run it without -s", exitCode: 1)
            }
            throw Self.startFailure(e, command: command, session: session, container: target.id)
        }
    }

    /// Work that must not wait for the caller (resizes, closing stdin).
    static func detached(_ work: @escaping @Sendable () async -> Void) {
        Task.detached { await work() }
    }
}
