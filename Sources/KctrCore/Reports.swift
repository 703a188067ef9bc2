import KctrRPC

public enum KctrVersion {
    public static let number = "0.1.0"
    /// The commit of the build (`git describe`), recorded by `make dist`; "unknown" otherwise.
    public static let revision = RPCRuntime.buildCommit ?? "unknown"
    /// What `kctr --version` prints.
    public static var version: String { "\(number) (commit \(revision))" }
}

/// `kctr version`: client, daemon and CRI versions.
public struct VersionReport: Codable, Sendable, Equatable {
    public struct Client: Codable, Sendable, Equatable {
        public var version: String
        /// The commit kctr was built from.
        public var revision: String
    }
    public var client: Client
    public var containerd: DaemonVersion
    /// nil when the CRI plugin does not serve.
    public var cri: CRIVersion?
    public var criError: String?

    public static func gather(_ session: Session) async throws -> VersionReport {
        async let daemon = session.store.version()
        async let cri = session.cri.version()
        let containerd: DaemonVersion
        do {
            containerd = try await daemon
        } catch {
            throw session.explain(error, doing: "asking containerd for its version")
        }
        var report = VersionReport(client: Client(version: KctrVersion.number, revision: KctrVersion.revision), containerd: containerd)
        do {
            report.cri = try await cri
        } catch where Session.isCRIUnavailable(error) {
            report.criError = "\(session.explain(error, doing: "CRI version"))"
        } catch {
            throw session.explain(error, doing: "asking CRI for its version")
        }
        return report
    }

    public var text: String {
        var s = """
        Client:
          Version:             \(client.version)
          Revision:            \(client.revision)
        containerd:
          Version:             \(containerd.version)
          Revision:            \(containerd.revision)

        """
        if let cri {
            s += """
            CRI:
              RuntimeName:         \(cri.runtimeName)
              RuntimeVersion:      \(cri.runtimeVersion)
              RuntimeApiVersion:   \(cri.runtimeApiVersion)

            """
        } else {
            s += "CRI:\n  not serving\n"
        }
        return s
    }
}

/// `kctr info`: the CRI status (verbose), decoded.
public struct InfoReport: Codable, Sendable, Equatable {
    public var endpoint: String
    public var namespace: String
    public var containerd: DaemonVersion
    public var conditions: [CRICondition]
    public var runtime: RuntimeConfigView
    /// Every verbose info document, parsed as JSON where it is JSON.
    public var info: [String: JSONValue]
    /// CRI's StatusResponse, whole (for crictl's document).
    public var reply = CRI.StatusResponse()
    /// The verbose info as the runtime sent it.
    public var rawInfo: [String: String] = [:]

    enum CodingKeys: String, CodingKey {
        case endpoint, namespace, containerd, conditions, runtime, info
    }

    /// What kctr adds to crictl's `info` document, under `kctr`.
    struct Extras: Encodable {
        var endpoint: String
        var namespace: String
        var containerd: DaemonVersion
        var runtime: RuntimeConfigView
    }

    /// crictl's `info -o json`: `status` (RuntimeStatus), `runtimeHandlers` and `features` (as Go's encoding/json
    /// writes them: proto field names, zero values left out), each verbose info entry at the top level; kctr's
    /// endpoint, namespace, containerd version and runtime summary under `kctr`.
    public func document() throws -> JSONValue {
        var out = CRIDocument.info(rawInfo)
        if let status = reply.status {
            out["status"] = CRIDocument.message(status)
        }
        if !reply.runtimeHandlers.isEmpty {
            out["runtimeHandlers"] = .array(reply.runtimeHandlers.map(CRIDocument.goStruct))
        }
        if let features = reply.features {
            out["features"] = CRIDocument.goStruct(features)
        }
        out["kctr"] = try CRIDocument.encoded(Extras(endpoint: endpoint, namespace: namespace, containerd: containerd, runtime: runtime))
        return .object(out)
    }

    public static func gather(_ session: Session) async throws -> InfoReport {
        async let daemon = session.store.version()
        async let status = session.cri.status(verbose: true)
        let containerd: DaemonVersion
        do {
            containerd = try await daemon
        } catch {
            throw session.explain(error, doing: "asking containerd for its version")
        }
        let s: CRIStatus
        do {
            s = try await status
        } catch {
            throw session.explain(error, doing: "reading the CRI runtime status of containerd \(containerd.version)")
        }
        var runtime = RuntimeConfigView(status: s)
        if runtime.snapshotter == nil { runtime.snapshotter = await session.criSnapshotter(status: s) }
        return InfoReport(endpoint: session.config.endpoint.path, namespace: session.config.namespace,
                          containerd: containerd, conditions: s.conditions, runtime: runtime,
                          info: s.info.mapValues(JSONValue.parse), reply: s.reply, rawInfo: s.info)
    }

    public var text: String {
        var s = "Endpoint:        \(endpoint)\n"
        s += "containerd:      \(containerd.version) (\(containerd.revision))\n"
        s += "\nConditions:\n"
        s += Render.table(["TYPE", "STATUS", "REASON", "MESSAGE"], conditions.map {
            [$0.type, $0.status ? "true" : "false", $0.reason.isEmpty ? "-" : $0.reason, $0.message.isEmpty ? "-" : $0.message]
        }).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        s += "\nCRI configuration:\n"
        s += "  Snapshotter:     \(runtime.snapshotter ?? "-")\n"
        s += "  Sandbox image:   \(runtime.sandboxImage ?? (containerd.release?.reportsImageConfig == false ? "- (containerd 2.x does not report it; kctr verify-runtime --check pause finds it)" : "-"))\n"
        s += "  Default runtime: \(runtime.defaultRuntime ?? "-")\n"
        s += "  CNI bin dir:     \(runtime.cniBinDir ?? "-")\n"
        s += "  CNI conf dir:    \(runtime.cniConfDir ?? "-")\n"
        s += "  Root / state:    \(runtime.rootDir ?? "-") / \(runtime.stateDir ?? "-")\n"
        s += "\nRuntimes:\n"
        s += Render.table(["NAME", "TYPE", "SYSTEMDCGROUP", "BINARY", "ROOT"], runtime.runtimes.map {
            [$0.name, $0.runtimeType, $0.systemdCgroup.map { $0 ? "true" : "false" } ?? "-",
             $0.binaryName.flatMap { $0.isEmpty ? nil : $0 } ?? "-", $0.root.flatMap { $0.isEmpty ? nil : $0 } ?? "-"]
        }).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        return s
    }
}
