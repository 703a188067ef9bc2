// Swift values the RPC layer returns. Plain data: no C, no behaviour.

public struct Descriptor: Sendable, Equatable, Hashable, Codable {
    public var mediaType: String
    public var digest: String
    public var size: Int64
    public var annotations: [String: String]

    public init(mediaType: String, digest: String, size: Int64, annotations: [String: String] = [:]) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
    }

    init(_ p: Proto) {
        self.init(mediaType: p.string("media_type"), digest: p.string("digest"), size: p.int("size"),
                  annotations: p.map("annotations"))
    }

    var proto: Proto {
        var p = Proto(["media_type": .string(mediaType), "digest": .string(digest), "size": .int(size)])
        if !annotations.isEmpty { p["annotations"] = .map(annotations) }
        return p
    }
}

public struct Platform: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String

    public init(os: String, architecture: String, variant: String = "") {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    init(_ p: Proto) {
        self.init(os: p.string("os"), architecture: p.string("architecture"), variant: p.string("variant"))
    }

    public var description: String {
        variant.isEmpty ? "\(os)/\(architecture)" : "\(os)/\(architecture)/\(variant)"
    }
}

public struct DaemonVersion: Sendable, Equatable, Codable {
    public var version: String
    public var revision: String
}

public struct NamespaceRecord: Sendable, Equatable, Codable {
    public var name: String
    public var labels: [String: String]
}

/// An image record of containerd's image store.
public struct ImageRecord: Sendable, Equatable, Codable {
    public var name: String
    public var labels: [String: String]
    public var target: Descriptor
    /// Seconds since 1970.
    public var createdAt: Double?
    public var updatedAt: Double?

    public init(name: String, labels: [String: String], target: Descriptor, createdAt: Double? = nil, updatedAt: Double? = nil) {
        self.name = name
        self.labels = labels
        self.target = target
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    init(_ p: Proto) {
        self.init(name: p.string("name"), labels: p.map("labels"), target: Descriptor(p.message("target") ?? Proto()),
                  createdAt: p.timestamp("created_at"), updatedAt: p.timestamp("updated_at"))
    }
}

public struct PluginRecord: Sendable, Equatable, Codable {
    public var type: String
    public var id: String
    public var requires: [String]
    public var platforms: [Platform]
    public var exports: [String: String]
    public var capabilities: [String]
    /// Set when the plugin failed to initialise (or was skipped).
    public var initError: String?

    init(_ p: Proto) {
        type = p.string("type")
        id = p.string("id")
        requires = p.strings("requires")
        platforms = p.messages("platforms").map(Platform.init)
        exports = p.map("exports")
        capabilities = p.strings("capabilities")
        if let err = p.message("init_err") {
            let message = err.string("message")
            initError = message.isEmpty ? "error code \(err.int("code"))" : message
        } else {
            initError = nil
        }
    }
}

/// Introspection.Server: who the daemon is and what it has seen deprecated.
public struct ServerInfo: Sendable, Equatable, Codable {
    public var uuid: String
    /// 0 when the daemon does not send it.
    public var pid: UInt64
    public var pidNamespace: UInt64
    public var deprecations: [DeprecationWarning]

    public init(uuid: String, pid: UInt64, pidNamespace: UInt64, deprecations: [DeprecationWarning]) {
        self.uuid = uuid
        self.pid = pid
        self.pidNamespace = pidNamespace
        self.deprecations = deprecations
    }

    init(_ p: Proto) {
        self.init(uuid: p.string("uuid"), pid: p.uint("pid"), pidNamespace: p.uint("pidns"),
                  deprecations: p.messages("deprecations").map {
                      DeprecationWarning(id: $0.string("id"), message: $0.string("message"), lastOccurrence: $0.timestamp("last_occurrence"))
                  })
    }
}

/// A deprecated feature in use, as containerd reports it ("io.containerd.deprecation/cgroup-v1").
public struct DeprecationWarning: Sendable, Equatable, Codable {
    public var id: String
    public var message: String
    /// Seconds since 1970.
    public var lastOccurrence: Double?

    public init(id: String, message: String, lastOccurrence: Double? = nil) {
        self.id = id
        self.message = message
        self.lastOccurrence = lastOccurrence
    }
}

public struct SnapshotInfo: Sendable, Equatable, Codable {
    public var name: String
    public var parent: String
    /// "view", "active" or "committed".
    public var kind: String
    public var labels: [String: String]

    init(_ p: Proto) {
        name = p.string("name")
        parent = p.string("parent")
        switch p.enumValue("kind") {
        case 1: kind = "view"
        case 2: kind = "active"
        case 3: kind = "committed"
        default: kind = "unknown"
        }
        labels = p.map("labels")
    }
}

public struct ContentInfo: Sendable, Equatable, Codable {
    public var digest: String
    public var size: Int64
    public var labels: [String: String]

    init(_ p: Proto) {
        digest = p.string("digest")
        size = p.int("size")
        labels = p.map("labels")
    }
}

// MARK: CRI

public struct CRIVersion: Sendable, Equatable, Codable {
    public var version: String
    public var runtimeName: String
    public var runtimeVersion: String
    public var runtimeApiVersion: String
}

public struct CRICondition: Sendable, Equatable, Codable {
    public var type: String
    public var status: Bool
    public var reason: String
    public var message: String
}

public struct CRIStatus: Sendable, Equatable {
    public var conditions: [CRICondition]
    /// Verbose info: JSON documents by key ("config", "cniconfig", ...).
    public var info: [String: String]
    /// The CRI `StatusResponse`, whole.
    public var reply = Proto()
}

public struct CRIImage: Sendable, Equatable, Codable {
    public var id: String
    public var repoTags: [String]
    public var repoDigests: [String]
    public var size: UInt64
    public var pinned: Bool

    public init(id: String, repoTags: [String], repoDigests: [String], size: UInt64, pinned: Bool) {
        self.id = id
        self.repoTags = repoTags
        self.repoDigests = repoDigests
        self.size = size
        self.pinned = pinned
    }

    init(_ p: Proto) {
        id = p.string("id")
        repoTags = p.strings("repo_tags")
        repoDigests = p.strings("repo_digests")
        size = p.uint("size")
        pinned = p.bool("pinned")
    }
}

/// A containerd task (the container's init process) as the tasks service lists it.
public struct TaskRecord: Sendable, Equatable {
    public var containerID: String
    public var pid: UInt32
    /// containerd's words: created, running, stopped, paused, pausing, unknown.
    public var status: String
    public var exitStatus: UInt32

    public init(containerID: String, pid: UInt32, status: String, exitStatus: UInt32) {
        self.containerID = containerID
        self.pid = pid
        self.status = status
        self.exitStatus = exitStatus
    }

    init(_ p: Proto) {
        // containerd fills `id` with the task's (= the container's) ID and leaves `container_id` empty.
        containerID = p.string("container_id").isEmpty ? p.string("id") : p.string("container_id")
        pid = UInt32(clamping: p.uint("pid"))
        status = TaskRecord.statusName(p.enumValue("status"))
        exitStatus = UInt32(clamping: p.uint("exit_status"))
    }

    public static func statusName(_ v: Int32) -> String {
        switch v {
        case 1: "created"
        case 2: "running"
        case 3: "stopped"
        case 4: "paused"
        case 5: "pausing"
        default: "unknown"
        }
    }
}

/// A containerd container record (metadata only: no spec).
public struct ContainerRecord: Sendable, Equatable {
    public var id: String
    public var image: String
    public var labels: [String: String]
    public var runtime: String
    public var snapshotter: String
    public var snapshotKey: String

    public init(id: String, image: String, labels: [String: String], runtime: String, snapshotter: String, snapshotKey: String) {
        self.id = id
        self.image = image
        self.labels = labels
        self.runtime = runtime
        self.snapshotter = snapshotter
        self.snapshotKey = snapshotKey
    }

    init(_ p: Proto) {
        id = p.string("id")
        image = p.string("image")
        labels = p.map("labels")
        runtime = p.message("runtime")?.string("name") ?? ""
        snapshotter = p.string("snapshotter")
        snapshotKey = p.string("snapshot_key")
    }
}
