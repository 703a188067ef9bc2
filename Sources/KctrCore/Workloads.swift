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
    /// The task's PID (0 when not running).
    public var pid: Int?
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

/// Pods and containers: CRI's view joined with the runtime's verbose details.
public struct Workloads: Sendable {
    public let session: Session

    public init(session: Session) { self.session = session }

    static func iso(_ ns: Int64) -> String {
        Render.utc(Double(ns) / 1e9)
    }

    private func cri<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw session.explain(error, doing: what)
        }
    }

    /// A status read of something just listed: NotFound means it went away in between.
    private func status<T>(of what: String, id: String, list: String, _ body: () async throws -> T) async throws -> T {
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
        var items = try await cri("listing pod sandboxes") { try await session.cri.listPodSandboxes() }
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
            images = await withTaskGroup(of: (String, String?).self) { group in
                for s in items {
                    group.addTask {
                        let status = try? await session.cri.podSandboxStatus(id: s.id, verbose: true)
                        let info = status?.info["info"].map(JSONValue.parse)
                        return (s.id, info?["image"]?.string)
                    }
                }
                var out: [String: String] = [:]
                for await (id, image) in group { if let image { out[id] = image } }
                return out
            }
        }
        return items.map { s in
            PodRow(id: s.id, name: s.name, namespace: s.namespace, uid: s.uid, attempt: s.attempt, state: s.state,
                   createdAt: Workloads.iso(s.createdAt), created: s.createdAt, runtimeHandler: s.runtimeHandler,
                   sandboxImage: images[s.id], labels: s.labels)
        }
    }

    public func containers(_ f: ContainerFilter, details: Bool) async throws -> [ContainerRow] {
        async let listed = cri("listing containers") { try await session.cri.listContainers() }
        async let sandboxes = cri("listing pod sandboxes") { try await session.cri.listPodSandboxes() }
        async let imageList = cri("listing images") { try await session.cri.listImages() }
        var items = try await listed
        let pods = try await sandboxes
        let images = try await imageList
        var podByID: [String: SandboxSummary] = [:]
        for p in pods { podByID[p.id] = p }
        var nameByID: [String: String] = [:]
        for image in images { nameByID[image.id] = image.repoTags.first ?? image.repoDigests.first }
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
        var pids: [String: Int] = [:]
        if details {
            pids = await withTaskGroup(of: (String, Int?).self) { group in
                for c in items {
                    group.addTask {
                        let status = try? await session.cri.containerStatus(id: c.id, verbose: true)
                        let info = status?.info["info"].map(JSONValue.parse)
                        if case .number(let n)? = info?["pid"] { return (c.id, Int(n)) }
                        return (c.id, nil)
                    }
                }
                var out: [String: Int] = [:]
                for await (id, pid) in group { if let pid { out[id] = pid } }
                return out
            }
        }
        return items.map { c in
            let pod = podByID[c.podSandboxID]
            let image = nameByID[c.imageRef] ?? nameByID[c.image] ?? (Digest.isValid(c.image) ? c.image : c.image)
            return ContainerRow(
                id: c.id, name: c.name, attempt: c.attempt, state: c.state, image: image, imageID: c.imageRef,
                createdAt: Workloads.iso(c.createdAt), created: c.createdAt, podID: c.podSandboxID,
                podName: c.labels["io.kubernetes.pod.name"] ?? pod?.name ?? "",
                podNamespace: c.labels["io.kubernetes.pod.namespace"] ?? pod?.namespace ?? "",
                pid: pids[c.id], labels: c.labels)
        }
    }

    /// `kctr pods inspect`: the status, the runtime's verbose info (parsed), and the pod's containers.
    public func inspectPod(_ prefix: String) async throws -> JSONValue {
        let ids = try await cri("listing pod sandboxes") { try await session.cri.listPodSandboxes() }.map(\.id)
        let id = try Workloads.unique(prefix, ids, what: "pod sandbox", list: "kctr pods -q")
        async let statusCall = status(of: "pod sandbox", id: id, list: "kctr pods") { try await session.cri.podSandboxStatus(id: id, verbose: true) }
        async let containersCall = cri("listing the containers of \(id)") { try await session.cri.listContainers(podSandboxID: id) }
        let status = try await statusCall
        let containers = try await containersCall
        return .object([
            "status": ProtoJSON.value(status.status),
            "info": .object(status.info.mapValues(JSONValue.parse)),
            "containers": .array(containers.sorted { $0.createdAt > $1.createdAt }.map {
                .object(["id": .string($0.id), "name": .string($0.name), "state": .string($0.state),
                         "attempt": .number(Double($0.attempt))])
            }),
        ])
    }

    /// `kctr inspect`: the container's status and the runtime's verbose info (parsed).
    public func inspectContainer(_ prefix: String) async throws -> JSONValue {
        let ids = try await cri("listing containers") { try await session.cri.listContainers() }.map(\.id)
        let id = try Workloads.unique(prefix, ids, what: "container", list: "kctr ps -a -q")
        let status = try await status(of: "container", id: id, list: "kctr ps -a") { try await session.cri.containerStatus(id: id, verbose: true) }
        return .object([
            "status": ProtoJSON.value(status.status),
            "info": .object(status.info.mapValues(JSONValue.parse)),
        ])
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
