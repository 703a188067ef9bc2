import Foundation
import KctrRPC

/// A container or pod sandbox a stop or remove acts on.
public struct WorkloadTarget: Sendable, Equatable {
    public enum Kind: String, Sendable { case container, pod }
    public var kind: Kind
    public var id: String
    /// "app in shop/web-1" for a container, "shop/web-1" for a pod.
    public var label: String
    /// CRI's state: Running, Exited, Created, Unknown; Ready, NotReady.
    public var state: String
    /// What CRI reports as in use: a running container, a ready pod.
    public var inUse: Bool { state == "Running" || state == "Ready" }
    public var shortID: String { String(id.prefix(13)) }
    public var described: String { "\(kind.rawValue) \(shortID) (\(label), \(state))" }
}

/// `kctr stop`, `rm`, `stopp`, `rmp`: crictl's commands, each acting on every object it names, keeping going
/// past failures, and refusing an ambiguous ID prefix or the removal of what is in use (unless --force).
public struct WorkloadChanges: Sendable {
    public let session: Session

    public init(session: Session) { self.session = session }

    public struct Outcome: Sendable {
        public var done: [WorkloadTarget] = []
        public var failures: [String] = []
        /// Left alone by --all: in use, and no --force.
        public var kept: [WorkloadTarget] = []
    }

    private func cri<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw session.explain(error, doing: what)
        }
    }

    // MARK: targets

    /// The objects named by ID prefixes (or all of them); prefixes that name none or several are failures.
    public func targets(_ kind: WorkloadTarget.Kind, prefixes: [String], all: Bool) async throws -> (targets: [WorkloadTarget], failures: [String]) {
        let everything: [WorkloadTarget]
        switch kind {
        case .container:
            async let listed = cri("listing containers") { try await session.cri.listContainers() }
            async let pods = cri("listing pod sandboxes") { try await session.cri.listPodSandboxes() }
            var podByID: [String: SandboxSummary] = [:]
            for p in try await pods { podByID[p.id] = p }
            everything = try await listed.map { c in
                let ns = c.labels["io.kubernetes.pod.namespace"] ?? podByID[c.podSandboxID]?.namespace ?? ""
                let pod = c.labels["io.kubernetes.pod.name"] ?? podByID[c.podSandboxID]?.name ?? String(c.podSandboxID.prefix(13))
                return WorkloadTarget(kind: .container, id: c.id, label: "\(c.name) in \(ns.isEmpty ? pod : "\(ns)/\(pod)")", state: c.state)
            }
        case .pod:
            everything = try await cri("listing pod sandboxes") { try await session.cri.listPodSandboxes() }.map {
                WorkloadTarget(kind: .pod, id: $0.id, label: "\($0.namespace)/\($0.name)", state: $0.state)
            }
        }
        if all { return (everything.sorted { ($0.label, $0.id) < ($1.label, $1.id) }, []) }
        let list = kind == .container ? "kctr ps -a -q" : "kctr pods -q"
        var out: [WorkloadTarget] = []
        var failures: [String] = []
        for prefix in prefixes {
            do {
                let id = try Workloads.unique(prefix, everything.map(\.id), what: kind == .container ? "container" : "pod sandbox", list: list)
                if let t = everything.first(where: { $0.id == id }), !out.contains(t) { out.append(t) }
            } catch {
                failures.append("\(error)")
            }
        }
        return (out, failures)
    }

    // MARK: containers

    public func stopContainers(_ targets: [WorkloadTarget], timeoutSeconds: Int64, emit: (String) -> Void) async -> Outcome {
        await each(targets, doing: "stopping") { t in
            guard t.state == "Running" || t.state == "Created" || t.state == "Unknown" else {
                emit("container \(t.shortID) (\(t.label)) is not running (\(t.state)): nothing to stop")
                return
            }
            try await session.cri.stopContainer(id: t.id, timeoutSeconds: timeoutSeconds)
            emit("stopped container \(t.shortID) (\(t.label))")
        }
    }

    /// Splits what --force allows: in-use objects are refused (named explicitly) or kept (picked by --all).
    public static func removable(_ targets: [WorkloadTarget], force: Bool, all: Bool) -> (remove: [WorkloadTarget], refused: [String], kept: [WorkloadTarget]) {
        var remove: [WorkloadTarget] = [], refused: [String] = [], kept: [WorkloadTarget] = []
        for t in targets {
            if !t.inUse || force {
                remove.append(t)
            } else if all {
                kept.append(t)
            } else {
                let stop = t.kind == .container ? "kctr stop \(t.shortID)" : "kctr stopp \(t.shortID)"
                refused.append("\(KctrError("cannot remove \(t.kind.rawValue) \(t.shortID) (\(t.label)): it is \(t.state.lowercased())", hint: "stop it first (\(stop)), or pass -f to stop and remove it"))")
            }
        }
        return (remove, refused, kept)
    }

    public func removeContainers(_ targets: [WorkloadTarget], timeoutSeconds: Int64, emit: (String) -> Void) async -> Outcome {
        await each(targets, doing: "removing") { t in
            if t.inUse {
                try await session.cri.stopContainer(id: t.id, timeoutSeconds: timeoutSeconds)
                emit("stopped container \(t.shortID) (\(t.label))")
            }
            try await session.cri.removeContainer(id: t.id)
            emit("removed container \(t.shortID) (\(t.label))")
        }
    }

    /// Runs `body` on each target in turn; a failure is recorded (what failed, on which object) and the
    /// next target is done all the same.
    private func each(_ targets: [WorkloadTarget], doing verb: String,
                      _ body: (WorkloadTarget) async throws -> Void) async -> Outcome {
        var o = Outcome()
        for t in targets {
            do {
                try await body(t)
                o.done.append(t)
            } catch {
                o.failures.append("\(failure(error, doing: verb, t))")
            }
        }
        return o
    }

    // MARK: pods

    /// Stops each pod as the kubelet does: its running containers first, each given `timeoutSeconds` to
    /// exit (StopPodSandbox alone kills them at once), then the sandbox.
    public func stopPods(_ targets: [WorkloadTarget], timeoutSeconds: Int64, emit: (String) -> Void) async -> Outcome {
        await each(targets, doing: "stopping") { t in
            try await stopPod(t, timeoutSeconds: timeoutSeconds, emit: emit)
            emit("stopped pod \(t.shortID) (\(t.label))" + (t.state == "Ready" ? "" : ", which was already \(t.state)"))
        }
    }

    private func stopPod(_ t: WorkloadTarget, timeoutSeconds: Int64, emit: (String) -> Void) async throws {
        let running = try await session.cri.listContainers(podSandboxID: t.id).filter { $0.state == "Running" }
        for c in running {
            try await session.cri.stopContainer(id: c.id, timeoutSeconds: timeoutSeconds)
            emit("stopped container \(c.id.prefix(13)) (\(c.name) in \(t.label))")
        }
        try await session.cri.stopPodSandbox(id: t.id)
    }

    public func removePods(_ targets: [WorkloadTarget], timeoutSeconds: Int64, emit: (String) -> Void) async -> Outcome {
        await each(targets, doing: "removing") { t in
            if t.inUse {
                try await stopPod(t, timeoutSeconds: timeoutSeconds, emit: emit)
                emit("stopped pod \(t.shortID) (\(t.label))")
            }
            try await session.cri.removePodSandbox(id: t.id)
            emit("removed pod \(t.shortID) (\(t.label)) and its containers")
        }
    }

    private func failure(_ error: Error, doing verb: String, _ t: WorkloadTarget) -> Error {
        if let e = error as? RPCError, e.code == .notFound {
            return KctrError("\(verb) \(t.kind.rawValue) \(t.shortID) (\(t.label)): it was removed in the meantime (\(e.message))",
                             hint: "list what exists now with `\(t.kind == .container ? "kctr ps -a" : "kctr pods")`")
        }
        return session.explain(error, doing: "\(verb) \(t.kind.rawValue) \(t.shortID) (\(t.label))")
    }
}
