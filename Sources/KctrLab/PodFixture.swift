import Foundation
import KctrRPC

/// A pod started through the RPC layer, as the kubelet would: a sandbox (host network or CNI) and busybox
/// containers with the kubelet's labels. The integration tests and `kctr-lab pods` (the bench) use it.
public struct PodSpec: Sendable {
    public var name: String
    public var namespace: String
    public var logDir: String
    public var hostNetwork: Bool
    public var labels: [String: String]
    /// The lab's default sandbox image (scripts/lab/containerd-lab --sandbox-image).
    public var sandboxImage: String
    /// linux.cgroup_parent, as the kubelet sets it (containerd reads pod-level stats from it).
    public var cgroupParent: String?

    public init(name: String, namespace: String = "shop", logDir: String, hostNetwork: Bool = true, labels: [String: String] = [:],
                sandboxImage: String = "registry.k8s.io/pause:3.9", cgroupParent: String? = nil) {
        self.name = name
        self.namespace = namespace
        self.logDir = logDir
        self.hostNetwork = hostNetwork
        self.labels = labels
        self.sandboxImage = sandboxImage
        self.cgroupParent = cgroupParent
    }
}

public struct ContainerSpec: Sendable {
    /// The busybox test image (scripts/lab/build-test-images).
    public static let busybox = "docker.io/library/busybox:kctr-test"

    public var name: String
    public var command: [String]
    public var attempt: UInt64
    public var image: String
    /// false: created, not started (CRI state Created).
    public var start: Bool

    public init(name: String, command: [String], attempt: UInt64 = 0, image: String = ContainerSpec.busybox,
                start: Bool = true) {
        self.name = name
        self.command = command
        self.attempt = attempt
        self.image = image
        self.start = start
    }

    /// The kubelet's layout: `<name>/<attempt>.log` under the pod's log directory.
    public var logPath: String { "\(name)/\(attempt).log" }
}

public enum PodFixture {
    /// Runs the sandbox, then creates and starts each container in order. Returns their IDs.
    public static func start(socket: String, pod: PodSpec, containers: [ContainerSpec]) throws -> (pod: String, containers: [String]) {
        try withCRI(socket: socket) { cri in try await start(cri, pod: pod, containers: containers) }
    }

    /// `start(socket:pod:containers:)` on a CRI client of the caller's.
    public static func start(_ cri: CRIAPI, pod: PodSpec, containers: [ContainerSpec]) async throws -> (pod: String, containers: [String]) {
        try FileManager.default.createDirectory(atPath: pod.logDir, withIntermediateDirectories: true)
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

    /// CRI learns of images imported with `ctr` from containerd's events, after the import returned; a pod
    /// started before then makes CRI pull the image (no registry here). 2.x is seen to lag; wait (30 s at most).
    public static func waitUntilCRIHas(_ refs: [String], _ cri: CRIAPI) async throws {
        for ref in Set(refs) {
            var tries = 0
            while try await cri.imageStatus(ref) == nil {
                tries += 1
                guard tries < 600 else {
                    throw LabError("CRI does not know \(ref) 30 s after its import (hint: import it into k8s.io first: "
                                   + "scripts/lab/build-test-images makes the busybox and pause images)")
                }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
        }
    }

    /// Stops and removes a container, as the kubelet does when it deletes one.
    public static func removeContainer(socket: String, id: String) throws {
        try withCRI(socket: socket) { cri in
            try await cri.stopContainer(id: id, timeoutSeconds: 0)
            try await cri.removeContainer(id: id)
        }
    }

    /// Stops and removes a pod sandbox (and its containers).
    public static func removePod(socket: String, id: String) throws {
        try withCRI(socket: socket) { cri in
            try await cri.stopPodSandbox(id: id)
            try await cri.removePodSandbox(id: id)
        }
    }

    /// Runs `body` against the daemon's CRI API and waits for it.
    public static func withCRI<T: Sendable>(socket: String, _ body: @escaping @Sendable (CRIAPI) async throws -> T) throws -> T {
        try LabDaemon.run(socket: socket) { rpc in try await body(CRIAPI(rpc)) }
    }
}
