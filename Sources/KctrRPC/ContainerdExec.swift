/// containerd's Tasks API for an exec process in a running task (kctr exec): create it with its
/// stdio on FIFOs the caller made, wait, start, resize, close stdin, signal, delete.
extension ContainerdAPI {
    /// Creates exec process `execID` in `containerID`'s task. `spec` is the OCI runtime-spec
    /// Process as JSON (args, env, cwd, user, capabilities, terminal).
    public func exec(containerID: String, execID: String, spec: [UInt8], terminal: Bool,
                     stdin: String, stdout: String, stderr: String) async throws(RPCError) {
        let any = Google.Protobuf.AnyMessage(typeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Process", value: spec)
        _ = try await rpc.call(Tasks.exec, .init(containerId: containerID, stdin: stdin, stdout: stdout, stderr: stderr,
                                                 terminal: terminal, spec: any, execId: execID))
    }

    /// Starts the exec process; its pid.
    public func start(containerID: String, execID: String) async throws(RPCError) -> UInt32 {
        try await rpc.call(Tasks.start, .init(containerId: containerID, execId: execID)).pid
    }

    /// Waits, with no deadline, until the process exits; its exit status.
    public func wait(containerID: String, execID: String) async throws(RPCError) -> UInt32 {
        try await rpc.withTimeout(milliseconds: 0).call(Tasks.wait, .init(containerId: containerID, execId: execID)).exitStatus
    }

    public func kill(containerID: String, execID: String, signal: Int32, all: Bool = false) async throws(RPCError) {
        _ = try await rpc.call(Tasks.kill, .init(containerId: containerID, execId: execID, signal: UInt32(bitPattern: signal), all: all))
    }

    public func resizePty(containerID: String, execID: String, width: UInt32, height: UInt32) async throws(RPCError) {
        _ = try await rpc.call(Tasks.resizePty, .init(containerId: containerID, execId: execID, width: width, height: height))
    }

    /// Closes the process's stdin (after the local input ended).
    public func closeStdin(containerID: String, execID: String) async throws(RPCError) {
        _ = try await rpc.call(Tasks.closeIO, .init(containerId: containerID, execId: execID, stdin: true))
    }

    /// Removes an exited exec process from the task.
    public func deleteProcess(containerID: String, execID: String) async throws(RPCError) {
        _ = try await rpc.call(Tasks.deleteProcess, .init(containerId: containerID, execId: execID))
    }

    /// The task's (or an exec process's) state, or nil when there is none.
    public func taskStatus(containerID: String, execID: String = "") async throws(RPCError) -> TaskRecord? {
        do {
            let r = try await rpc.call(Tasks.get, .init(containerId: containerID, execId: execID))
            return r.process.map(TaskRecord.init)
        } catch where error.code == .notFound {
            return nil
        }
    }
}
