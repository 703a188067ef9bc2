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

    init(_ p: Containerd.Types.Descriptor) {
        self.init(mediaType: p.mediaType, digest: p.digest, size: p.size, annotations: p.annotations)
    }

    var message: Containerd.Types.Descriptor {
        Containerd.Types.Descriptor(mediaType: mediaType, digest: digest, size: size, annotations: annotations)
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

    init(_ p: Containerd.Types.Platform) {
        self.init(os: p.os, architecture: p.architecture, variant: p.variant)
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

    init(_ p: Containerd.Images.Image) {
        self.init(name: p.name, labels: p.labels, target: Descriptor(p.target ?? .init()),
                  createdAt: p.createdAt?.secondsSince1970, updatedAt: p.updatedAt?.secondsSince1970)
    }

    var message: Containerd.Images.Image {
        Containerd.Images.Image(name: name, labels: labels, target: target.message)
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

    public init(_ p: Containerd.Introspection.Plugin) {
        type = p.type
        id = p.id
        requires = p.requires
        platforms = p.platforms.map(Platform.init)
        exports = p.exports
        capabilities = p.capabilities
        if let err = p.initErr {
            initError = err.message.isEmpty ? "error code \(err.code)" : err.message
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

    init(_ p: Containerd.Introspection.ServerResponse) {
        self.init(uuid: p.uuid, pid: p.pid, pidNamespace: p.pidns, deprecations: p.deprecations.map {
            DeprecationWarning(id: $0.id, message: $0.message, lastOccurrence: $0.lastOccurrence?.secondsSince1970)
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

    public init(_ p: Containerd.Snapshots.Info) {
        name = p.name
        parent = p.parent
        kind = SnapshotInfo.kindName(p.kind)
        labels = p.labels
    }

    static func kindName(_ kind: Containerd.Snapshots.Kind) -> String {
        switch kind {
        case .view: "view"
        case .active: "active"
        case .committed: "committed"
        case .unknown, .unrecognized: "unknown"
        }
    }
}

public struct ContentInfo: Sendable, Equatable, Codable {
    public var digest: String
    public var size: Int64
    public var labels: [String: String]

    public init(_ p: Containerd.Content.Info) {
        digest = p.digest
        size = p.size
        labels = p.labels
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
    public var reply = CRI.StatusResponse()

    public init(conditions: [CRICondition], info: [String: String], reply: CRI.StatusResponse = .init()) {
        self.conditions = conditions
        self.info = info
        self.reply = reply
    }
}

public struct CRIImage: Sendable, Equatable, Codable {
    public var id: String
    public var repoTags: [String]
    public var repoDigests: [String]
    public var size: UInt64
    public var pinned: Bool

    public init(_ p: CRI.Image) {
        self.init(id: p.id, repoTags: p.repoTags, repoDigests: p.repoDigests, size: p.size, pinned: p.pinned)
    }

    public init(id: String, repoTags: [String], repoDigests: [String], size: UInt64, pinned: Bool) {
        self.id = id
        self.repoTags = repoTags
        self.repoDigests = repoDigests
        self.size = size
        self.pinned = pinned
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

    init(_ p: Containerd.TaskTypes.Process) {
        // containerd fills `id` with the task's (= the container's) ID and leaves `container_id` empty.
        containerID = p.containerId.isEmpty ? p.id : p.containerId
        pid = p.pid
        status = TaskRecord.statusName(p.status)
        exitStatus = p.exitStatus
    }

    public static func statusName(_ v: Containerd.TaskTypes.Status) -> String {
        switch v {
        case .created: "created"
        case .running: "running"
        case .stopped: "stopped"
        case .paused: "paused"
        case .pausing: "pausing"
        case .unknown, .unrecognized: "unknown"
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

    init(_ p: Containerd.Containers.Container) {
        id = p.id
        image = p.image
        labels = p.labels
        runtime = p.runtime?.name ?? ""
        snapshotter = p.snapshotter
        snapshotKey = p.snapshotKey
    }
}
