import Foundation
import KctrRPC
import XCTest

/// A pod the tests start through the RPC layer, as the kubelet would: a
/// sandbox (host network or CNI) and busybox containers with the kubelet's labels.
struct PodSpec {
    var name: String
    var namespace = "shop"
    var logDir: String
    var hostNetwork = true
    var labels: [String: String] = [:]
    /// The lab's default sandbox image (scripts/lab/containerd-lab --sandbox-image).
    var sandboxImage = "registry.k8s.io/pause:3.9"
    /// linux.cgroup_parent, as the kubelet sets it (containerd reads pod-level stats from it).
    var cgroupParent: String?
}

struct ContainerSpec {
    var name: String
    var command: [String]
    var attempt: UInt64 = 0
    var image = "docker.io/library/busybox:kctr-test"
    /// false: created, not started (CRI state Created).
    var start = true

    /// The kubelet's layout: `<name>/<attempt>.log` under the pod's log directory.
    var logPath: String { "\(name)/\(attempt).log" }
}

enum PodFixture {
    /// Runs the sandbox, then creates and starts each container in order. Returns their IDs.
    static func start(socket: String, pod: PodSpec, containers: [ContainerSpec]) throws -> (pod: String, containers: [String]) {
        try FileManager.default.createDirectory(atPath: pod.logDir, withIntermediateDirectories: true)
        return try withCRI(socket: socket) { cri in
            try await waitUntilCRIHas([pod.sandboxImage] + containers.map(\.image), cri)
            let kubelet = ["io.kubernetes.pod.name": pod.name, "io.kubernetes.pod.namespace": pod.namespace]
            var sandbox = CRI.PodSandboxConfig(
                metadata: .init(name: pod.name, uid: "uid-\(pod.name)", namespace: pod.namespace, attempt: 0),
                logDirectory: pod.logDir, labels: pod.labels.merging(kubelet) { a, _ in a })
            var linux = CRI.LinuxPodSandboxConfig()
            if pod.hostNetwork {
                linux.securityContext = .init(namespaceOptions: .init(network: .node))
            }
            if let parent = pod.cgroupParent { linux.cgroupParent = parent }
            if linux != CRI.LinuxPodSandboxConfig() { sandbox.linux = linux }
            let podID = try await cri.runPodSandbox(config: sandbox)
            var ids: [String] = []
            for c in containers {
                let config = CRI.ContainerConfig(
                    metadata: .init(name: c.name, attempt: UInt32(c.attempt)), image: .init(image: c.image), command: c.command,
                    labels: kubelet.merging(["io.kubernetes.container.name": c.name]) { a, _ in a }, logPath: c.logPath)
                let id = try await cri.createContainer(podSandboxID: podID, config: config, sandboxConfig: sandbox)
                if c.start { try await cri.startContainer(id: id) }
                ids.append(id)
            }
            return (podID, ids)
        }
    }

    /// CRI learns of images imported with `ctr` from containerd's events, after the import returned; a pod
    /// started before then makes CRI pull the image (no registry here). 2.x is seen to lag; wait (30 s at most).
    static func waitUntilCRIHas(_ refs: [String], _ cri: CRIAPI) async throws {
        for ref in Set(refs) {
            var tries = 0
            while try await cri.imageStatus(ref) == nil {
                tries += 1
                guard tries < 600 else { throw SetupError("CRI does not know \(ref) 30 s after its import") }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
        }
    }

    /// Stops and removes a container, as the kubelet does when it deletes one.
    static func removeContainer(socket: String, id: String) throws {
        try withCRI(socket: socket) { cri in
            try await cri.stopContainer(id: id, timeoutSeconds: 0)
            try await cri.removeContainer(id: id)
        }
    }

    /// Stops and removes a pod sandbox (and its containers).
    static func removePod(socket: String, id: String) throws {
        try withCRI(socket: socket) { cri in
            try await cri.stopPodSandbox(id: id)
            try await cri.removePodSandbox(id: id)
        }
    }

    /// Runs `body` against the daemon's CRI API and waits for it.
    static func withCRI<T: Sendable>(socket: String, _ body: @escaping @Sendable (CRIAPI) async throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<T, Error> = .failure(SetupError("not run"))
        Task {
            do {
                let channel = try RPCChannel(target: "unix://\(socket)")
                let cri = CRIAPI(RPCClient(channel: channel, options: CallOptions(timeoutMilliseconds: 60_000)))
                result = .success(try await body(cri))
            } catch {
                result = .failure(error)
            }
            done.signal()
        }
        done.wait()
        return try result.get()
    }
}
