import Foundation
import KctrRPC

/// A pod sandbox as `kctr pods` shows it.
public struct PodRow: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var namespace: String
    public var uid: String
    public var attempt: UInt64
    public var state: String
    public var createdAt: String
    /// Nanoseconds since 1970, for sorting and ages.
    public var created: Int64
    public var runtimeHandler: String
    /// The pause image the sandbox runs (from the runtime's verbose status).
    public var sandboxImage: String?
    public var labels: [String: String]
}

/// A container as `kctr ps` shows it.
public struct ContainerRow: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var attempt: UInt64
    public var state: String
    /// A name, not a bare digest, when CRI knows one.
    public var image: String
    public var imageID: String
    public var createdAt: String
    public var created: Int64
    public var podID: String
    public var podName: String
    public var podNamespace: String
    /// The containerd task's PID (nil when the container has no task).
    public var pid: Int?
    /// The containerd task's status (created, running, stopped, paused, pausing, unknown); nil without a task.
    public var taskStatus: String?
    /// The task's exit status once it stopped.
    public var taskExitStatus: Int?
    public var labels: [String: String]
}

public struct PodFilter: Sendable {
    public var name: String?
    public var namespace: String?
    /// "ready" or "notready".
    public var state: String?
    public var labels: [String: String] = [:]
    public var idPrefix: String?
    public var latest = false
    public var last: Int?

    public init() {}
}

public struct ContainerFilter: Sendable {
    public var all = false
    public var pod: String?
    public var name: String?
    /// "created", "running", "exited", "unknown".
    public var state: String?
    public var image: String?
    public var labels: [String: String] = [:]
    public var idPrefix: String?
    public var latest = false
    public var last: Int?

    public init() {}
}

/// A pod or container read in full: the document `-o table` summarises (the status as decoded, times in
/// nanoseconds, enums as numbers) and crictl's document (`-o json`, `-o yaml`).
public struct Inspected: Sendable {
    public var summary: JSONValue
    public var document: JSONValue
}

/// Pods and containers: CRI's view joined with the runtime's verbose details.
public struct Workloads: Sendable {
    public let session: Session

    public init(session: Session) { self.session = session }

    /// The containerd namespace the CRI plugin keeps pods and containers in.
    public static let criNamespace = "k8s.io"

    static func iso(_ ns: Int64) -> String {
        Timestamps.utc(Double(ns) / 1e9)
    }

    /// A status read of something just listed: NotFound means it went away in between.
    private func status<T>(of what: String, id: String, list: String, _ body: () async throws -> T) async throws -> T {
        // The race tests remove the pod or container here (KCTR_TEST_FAULT=status-read:gate=PATH).
        FaultPoint.statusRead.reach()
        do {
            return try await body()
        } catch let e as RPCError where e.code == .notFound {
            throw KctrError("\(what) \(id.prefix(13)) was removed while kctr was reading it (\(e.message))",
                            hint: "list what exists now with `\(list)`")
        } catch {
            throw session.explain(error, doing: "reading \(what) \(id.prefix(13))")
        }
    }

    public func pods(_ f: PodFilter, details: Bool) async throws -> [PodRow] {
        try await podItems(f, details: details).map(\.row)
    }

    /// crictl's `pods -o json`: `{"items": [PodSandbox...]}`, each with kctr's `sandboxImage` under `kctr`.
    public func podsDocument(_ f: PodFilter) async throws -> JSONValue {
        let items = try await podItems(f, details: true)
        return .object(["items": .array(items.map { item in
            CRIDocument.adding(item.row.sandboxImage.map { ["sandboxImage": .string($0)] } ?? [:],
                               to: CRIDocument.message(item.sandbox.message))
        })])
    }

    func podItems(_ f: PodFilter, details: Bool) async throws -> [(sandbox: SandboxSummary, row: PodRow)] {
        var items = try await session.doing("listing pod sandboxes") { try await session.cri.listPodSandboxes() }
        let nameRE = try f.name.map { try Workloads.regex($0, flag: "--name") }
        let nsRE = try f.namespace.map { try Workloads.regex($0, flag: "--namespace") }
        items = items.filter { s in
            if let nameRE, !Workloads.matches(nameRE, s.name) { return false }
            if let nsRE, !Workloads.matches(nsRE, s.namespace) { return false }
            if let st = f.state, s.state.lowercased() != st.lowercased() { return false }
            if let p = f.idPrefix, !s.id.hasPrefix(p) { return false }
            return f.labels.allSatisfy { s.labels[$0.key] == $0.value }
        }
        items.sort { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
        if f.latest { items = Array(items.prefix(1)) }
        if let n = f.last { items = Array(items.prefix(n)) }
        var images: [String: String] = [:]
        if details {
            // The pause image each sandbox runs: containerd's record of the sandbox container (one listing, not
            // one verbose status per pod).
            let sandboxes = try await session.doing("listing containerd's sandbox containers in k8s.io") {
                try await session.store.namespacedStore(Workloads.criNamespace)
                    .containers(filters: [#"labels."io.cri-containerd.kind"==sandbox"#])
            }
            for c in sandboxes where !c.image.isEmpty { images[c.id] = c.image }
        }
        return items.map { s in
            (s, PodRow(id: s.id, name: s.name, namespace: s.namespace, uid: s.uid, attempt: s.attempt, state: s.state,
                   createdAt: Workloads.iso(s.createdAt), created: s.createdAt, runtimeHandler: s.runtimeHandler,
                   sandboxImage: images[s.id], labels: s.labels))
        }
    }

    public func containers(_ f: ContainerFilter, details: Bool) async throws -> [ContainerRow] {
        try await containerItems(f, details: details).map(\.row)
    }

    /// What `ps -o json` adds to CRI's container, under `kctr`.
    struct ContainerExtras: Encodable {
        var image: String
        var podName: String
        var podNamespace: String
        var pid: Int?
        var taskStatus: String?
        var taskExitStatus: Int?
    }

    /// crictl's `ps -o json`: `{"containers": [Container...]}`, each with the image's name, the pod's name and
    /// namespace and containerd's task (PID, status, exit status) under `kctr`.
    public func containersDocument(_ f: ContainerFilter) async throws -> JSONValue {
        let items = try await containerItems(f, details: true)
        return .object(["containers": .array(try items.map { c, r in
            let extras = ContainerExtras(image: r.image, podName: r.podName, podNamespace: r.podNamespace, pid: r.pid,
                                         taskStatus: r.taskStatus, taskExitStatus: r.taskExitStatus)
            return CRIDocument.adding(try CRIDocument.encoded(extras).object ?? [:], to: CRIDocument.message(c.message))
        })])
    }

    func containerItems(_ f: ContainerFilter, details: Bool) async throws -> [(container: ContainerSummary, row: ContainerRow)] {
        async let listed = session.doing("listing containers") { try await session.cri.listContainers() }
        async let sandboxes = session.doing("listing pod sandboxes") { try await session.cri.listPodSandboxes() }
        // containerd's tasks in CRI's namespace: the process and its status as the runtime sees it, next to
        // CRI's state (one listing, read while CRI answers).
        async let taskList: [TaskRecord] = details
            ? session.doing("listing containerd's tasks in k8s.io") { try await session.store.namespacedStore(Workloads.criNamespace).tasks() }
            : []
        var items = try await listed
        let pods = try await sandboxes
        var podByID: [String: SandboxSummary] = [:]
        for p in pods { podByID[p.id] = p }
        let nameByID = try await imageNames(ids: Set(items.flatMap { [$0.imageRef, $0.image] }.filter(Digest.isValid)))
        let nameRE = try f.name.map { try Workloads.regex($0, flag: "--name") }
        let podID: String? = try f.pod.map { prefix in try Workloads.unique(prefix, pods.map(\.id), what: "pod sandbox", list: "kctr pods -q") }
        items = items.filter { c in
            if !f.all && f.state == nil && c.state != "Running" { return false }
            if let st = f.state, c.state.lowercased() != st.lowercased() { return false }
            if let podID, c.podSandboxID != podID { return false }
            if let nameRE, !Workloads.matches(nameRE, c.name) { return false }
            if let p = f.idPrefix, !c.id.hasPrefix(p) { return false }
            if let img = f.image {
                let shown = nameByID[c.imageRef] ?? nameByID[c.image] ?? c.image
                if !(shown.contains(img) || c.image.contains(img) || c.imageRef.contains(img)) { return false }
            }
            return f.labels.allSatisfy { c.labels[$0.key] == $0.value }
        }
        items.sort { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
        if f.latest { items = Array(items.prefix(1)) }
        if let n = f.last { items = Array(items.prefix(n)) }
        var tasks: [String: TaskRecord] = [:]
        for t in try await taskList { tasks[t.containerID] = t }
        return items.map { c in
            let pod = podByID[c.podSandboxID]
            let image = nameByID[c.imageRef] ?? nameByID[c.image] ?? (Digest.isValid(c.image) ? c.image : c.image)
            return (c, ContainerRow(
                id: c.id, name: c.name, attempt: c.attempt, state: c.state, image: image, imageID: c.imageRef,
                createdAt: Workloads.iso(c.createdAt), created: c.createdAt, podID: c.podSandboxID,
                podName: c.labels["io.kubernetes.pod.name"] ?? pod?.name ?? "",
                podNamespace: c.labels["io.kubernetes.pod.namespace"] ?? pod?.namespace ?? "",
                pid: tasks[c.id].map { Int($0.pid) },
                taskStatus: tasks[c.id]?.status,
                taskExitStatus: tasks[c.id].flatMap { $0.status == "stopped" ? Int($0.exitStatus) : nil },
                labels: c.labels))
        }
    }

    /// Image ID -> the name `ps` shows (first repo tag, else first repo digest), for the images
    /// the containers use. A few IDs are asked for one by one (ImageStatus): listing every image
    /// made `kctr ps` slow on nodes with thousands of images. Many IDs: one ListImages.
    func imageNames(ids: Set<String>) async throws -> [String: String] {
        var out: [String: String] = [:]
        if ids.count > 16 {
            for image in try await session.doing("listing images", { try await session.cri.listImages() }) { out[image.id] = Workloads.shownName(image) }
            return out
        }
        return try await withThrowingTaskGroup(of: (String, String?).self) { group in
            for id in ids {
                group.addTask {
                    let image = try await session.doing("reading the status of image \(id)") { try await session.cri.imageStatus(id) }
                    // Only an image with this very ID names it (as when looking it up in the whole list).
                    return (id, image.flatMap { $0.id == id ? Workloads.shownName($0) : nil })
                }
            }
            for try await (id, shown) in group { if let shown { out[id] = shown } }
            return out
        }
    }

    static func shownName(_ image: CRIImage) -> String? { image.repoTags.first ?? image.repoDigests.first }

    /// `kctr pods inspect`: the status, the runtime's verbose info (parsed), and the pod's containers.
    public func inspectPod(_ prefix: String) async throws -> Inspected {
        let ids = try await session.doing("listing pod sandboxes") { try await session.cri.listPodSandboxes() }.map(\.id)
        let id = try Workloads.unique(prefix, ids, what: "pod sandbox", list: "kctr pods -q")
        async let statusCall = status(of: "pod sandbox", id: id, list: "kctr pods") { try await session.cri.podSandboxStatus(id: id, verbose: true) }
        async let containersCall = session.doing("listing the containers of \(id)") { try await session.cri.listContainers(podSandboxID: id) }
        let status = try await statusCall
        let containers: JSONValue = .array(try await containersCall.sorted { $0.createdAt > $1.createdAt }.map {
            .object(["id": .string($0.id), "name": .string($0.name), "state": .string($0.state),
                     "attempt": .number(Double($0.attempt))])
        })
        let document = CRIDocument.status(CRIDocument.podSandboxStatus(status.status), info: status.info)
        return Inspected(summary: .object([
            "status": JSONValue(MessageDocuments.plain(status.status)),
            "info": .object(status.info.mapValues(JSONValue.parse)),
            "containers": containers,
        ]), document: CRIDocument.adding(["containers": containers], to: document))
    }

    /// `kctr inspect`: the container's status and the runtime's verbose info (parsed).
    public func inspectContainer(_ prefix: String) async throws -> Inspected {
        let ids = try await session.doing("listing containers") { try await session.cri.listContainers() }.map(\.id)
        let id = try Workloads.unique(prefix, ids, what: "container", list: "kctr ps -a -q")
        let status = try await status(of: "container", id: id, list: "kctr ps -a") { try await session.cri.containerStatus(id: id, verbose: true) }
        return Inspected(summary: .object([
            "status": JSONValue(MessageDocuments.plain(status.status)),
            "info": .object(status.info.mapValues(JSONValue.parse)),
        ]), document: CRIDocument.status(CRIDocument.containerStatus(status.status), info: status.info))
    }

    /// The one ID starting with `prefix`.
    public static func unique(_ prefix: String, _ ids: [String], what: String, list: String) throws -> String {
        guard !prefix.isEmpty else { throw KctrError.usage("empty \(what) ID") }
        let matches = ids.filter { $0.hasPrefix(prefix) }
        if matches.count == 1, let id = matches.first { return id }
        if matches.isEmpty {
            throw KctrError("no \(what) with ID \(prefix)", hint: "list them with `\(list)`")
        }
        throw KctrError("\(what) ID prefix \(prefix) is ambiguous: \(matches.sorted().map { String($0.prefix(13)) }.joined(separator: ", "))",
                        hint: "give more characters of the ID")
    }

    static func regex(_ pattern: String, flag: String) throws -> NSRegularExpression {
        do {
            return try NSRegularExpression(pattern: pattern)
        } catch {
            throw KctrError.usage("\(flag) \(pattern) is not a valid regular expression")
        }
    }

    static func matches(_ re: NSRegularExpression, _ s: String) -> Bool {
        re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }
}
