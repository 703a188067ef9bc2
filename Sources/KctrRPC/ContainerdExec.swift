/// containerd's Tasks API for an exec process in a running task (kctr exec): create it with its
/// stdio on FIFOs the caller made, wait, start, resize, close stdin, signal, delete.
extension ContainerdAPI {
    /// Creates exec process `execID` in `containerID`'s task. `spec` is the OCI runtime-spec
    /// Process as JSON (args, env, cwd, user, capabilities, terminal).
    public func exec(containerID: String, execID: String, spec: [UInt8], terminal: Bool,
                     stdin: String, stdout: String, stderr: String) async throws(RPCError) {
        let any = Proto(["type_url": .string("types.containerd.io/opencontainers/runtime-spec/1/Process"), "value": .bytes(spec)])
        _ = try await rpc.unary(RPCMethod(Service.tasks, "Exec"), Proto([
            "container_id": .string(containerID), "exec_id": .string(execID), "terminal": .bool(terminal),
            "stdin": .string(stdin), "stdout": .string(stdout), "stderr": .string(stderr), "spec": .message(any),
        ]))
    }

    /// Starts the exec process; its pid.
    public func start(containerID: String, execID: String) async throws(RPCError) -> UInt32 {
        let r = try await rpc.unary(RPCMethod(Service.tasks, "Start"), process(containerID, execID))
        return UInt32(truncatingIfNeeded: r.uint("pid"))
    }

    /// Waits, with no deadline, until the process exits; its exit status.
    public func wait(containerID: String, execID: String) async throws(RPCError) -> UInt32 {
        let r = try await rpc.withTimeout(milliseconds: 0).unary(RPCMethod(Service.tasks, "Wait"), process(containerID, execID))
        return UInt32(truncatingIfNeeded: r.uint("exit_status"))
    }

    public func kill(containerID: String, execID: String, signal: Int32, all: Bool = false) async throws(RPCError) {
        var request = process(containerID, execID)
        request["signal"] = .uint(UInt64(UInt32(bitPattern: signal)))
        request["all"] = .bool(all)
        _ = try await rpc.unary(RPCMethod(Service.tasks, "Kill"), request)
    }

    public func resizePty(containerID: String, execID: String, width: UInt32, height: UInt32) async throws(RPCError) {
        var request = process(containerID, execID)
        request["width"] = .uint(UInt64(width))
        request["height"] = .uint(UInt64(height))
        _ = try await rpc.unary(RPCMethod(Service.tasks, "ResizePty"), request)
    }

    /// Closes the process's stdin (after the local input ended).
    public func closeStdin(containerID: String, execID: String) async throws(RPCError) {
        var request = process(containerID, execID)
        request["stdin"] = .bool(true)
        _ = try await rpc.unary(RPCMethod(Service.tasks, "CloseIO"), request)
    }

    /// Removes an exited exec process from the task.
    public func deleteProcess(containerID: String, execID: String) async throws(RPCError) {
        _ = try await rpc.unary(RPCMethod(Service.tasks, "DeleteProcess"), process(containerID, execID))
    }

    /// The task's (or an exec process's) state, or nil when there is none.
    public func taskStatus(containerID: String, execID: String = "") async throws(RPCError) -> TaskRecord? {
        do {
            let r = try await rpc.unary(RPCMethod(Service.tasks, "Get"), process(containerID, execID))
            return r.message("process").map(TaskRecord.init)
        } catch where error.code == .notFound {
            return nil
        }
    }

    private func process(_ containerID: String, _ execID: String) -> Proto {
        Proto(["container_id": .string(containerID), "exec_id": .string(execID)])
    }
}
