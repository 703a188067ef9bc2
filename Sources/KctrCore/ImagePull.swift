import Foundation
import KctrRPC

/// What `kctr pull` reports.
public struct PullReport: Codable, Sendable, Equatable {
    /// The normalised reference pulled.
    public var name: String
    /// CRI's image ID (the config digest), what the kubelet sees.
    public var imageID: String
    /// The image record's target digest.
    public var digest: String?
    public var size: Int64?
    /// The snapshotter CRI unpacks for, and whether the image is unpacked there.
    public var snapshotter: String?
    public var unpacked: Bool
    public var seconds: Double
}

/// Credentials for `kctr pull`, as crictl takes them.
public enum PullCredentials {
    /// `--creds USER[:PASS]`.
    public static func fromCreds(_ creds: String, password: () throws -> String) throws -> RegistryAuth {
        let parts = creds.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let user = parts.first, !user.isEmpty else {
            throw KctrError.usage("--creds needs USER[:PASSWORD], got an empty user name")
        }
        return RegistryAuth(username: user, password: parts.count == 2 ? parts[1] : try password())
    }

    /// `--auth BASE64`: base64 of "user:password", as a docker config.json's `auth`.
    public static func fromAuth(_ auth: String) throws -> RegistryAuth {
        guard let data = Data(base64Encoded: auth), let text = String(data: data, encoding: .utf8), text.contains(":") else {
            throw KctrError.usage("--auth must be base64 of USER:PASSWORD (as in a docker config.json)",
                                  hint: "e.g. --auth $(printf 'user:secret' | base64)")
        }
        return RegistryAuth(auth: auth)
    }

    /// The credentials a docker `config.json` holds for `ref`'s registry, or nil when it holds none.
    public static func fromDockerConfig(_ path: String, for ref: ImageReference) throws -> RegistryAuth? {
        guard let text = try SmallFile.text(path) else {
            throw KctrError("cannot read the registry config \(path): no such file", hint: "give the path of a docker config.json, e.g. ~/.docker/config.json")
        }
        guard case .object(let doc) = JSONValue.parse(text) else {
            throw KctrError("\(path) is not a JSON document", hint: "give a docker config.json ({\"auths\": {...}})")
        }
        guard case .object(let auths)? = doc["auths"] else { return nil }
        for key in registryKeys(ref.domain) {
            guard case .object(let entry)? = auths[key] else { continue }
            var auth = RegistryAuth()  // no server_address: containerd parses it as a URL, and the key may be a bare host:port
            if case .string(let a)? = entry["auth"] { auth.auth = a }
            if case .string(let u)? = entry["username"] { auth.username = u }
            if case .string(let p)? = entry["password"] { auth.password = p }
            if case .string(let t)? = entry["identitytoken"] { auth.identityToken = t }
            if case .string(let t)? = entry["registrytoken"] { auth.registryToken = t }
            return auth
        }
        return nil
    }

    /// The `auths` keys a registry may be stored under (docker's own spellings of Docker Hub included).
    static func registryKeys(_ domain: String) -> [String] {
        if domain == "docker.io" {
            return ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io", "https://docker.io"]
        }
        return [domain, "https://\(domain)", "http://\(domain)", "https://\(domain)/v1/", "https://\(domain)/v2/"]
    }
}

/// Pulls an image through CRI `PullImage` and reports what the kubelet will see.
public struct ImagePuller: Sendable {
    public let session: Session
    /// Progress lines (stderr on a terminal), from the content store's active ingests while the pull runs.
    public var progress: ProgressSink?

    public init(session: Session, progress: ProgressSink? = nil) {
        self.session = session
        self.progress = progress
    }

    public func pull(_ text: String, auth: RegistryAuth?, podConfig: JSONValue?, timeoutMilliseconds: Int64) async throws -> PullReport {
        guard let ref = ImageReference.parse(text) else {
            throw KctrError.usage("\(ImportPlan.invalidName(text))", hint: "e.g. kctr pull registry.example.com/team/app:1.0")
        }
        var sandbox: CRI.PodSandboxConfig?
        if let podConfig {
            do {
                sandbox = try MessageDocuments.message(podConfig.document, as: CRI.PodSandboxConfig.self)
            } catch {
                throw KctrError(error.message, hint: error.hint)
            }
        }
        let started = Timestamps.monotonic()
        progress?(.image(index: 1, name: ref.description))
        let watcher = progress.map { report in Task { await watch(report) } }
        defer { watcher?.cancel() }
        let imageRef: String
        do {
            imageRef = try await session.cri.pullImage(ref.description, auth: auth, sandboxConfig: sandbox,
                                                       timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            throw explainPull(error, ref: ref, anonymous: auth == nil)
        }
        watcher?.cancel()
        let seconds = Timestamps.monotonic() - started
        var report = PullReport(name: ref.description, imageID: imageRef, unpacked: false, seconds: seconds)
        let rows = (try? await ImageCatalog(session: session).list(includeDigestNames: false, pattern: ref.description)) ?? []
        if let row = rows.first(where: { $0.name == ref.description }) {
            report.digest = row.digest
            report.size = row.size
            report.snapshotter = row.snapshotter
            report.unpacked = row.unpacked
            if let id = row.cri?.id { report.imageID = id }
        }
        return report
    }

    /// A pod sandbox config file (JSON or YAML, as crictl's), bounded like every configuration kctr reads.
    public static func podConfig(_ path: String) throws -> JSONValue {
        guard let text = try SmallFile.text(path) else {
            throw KctrError("cannot read the pod config \(path): no such file", hint: "give a pod sandbox config in JSON or YAML, as crictl runp takes")
        }
        let (doc, error) = NodeFiles.parseYAML(text, path: path)
        guard let doc, error == nil else {
            throw KctrError(error ?? "\(path) is empty", hint: "give a pod sandbox config in JSON or YAML, as crictl runp takes")
        }
        return doc
    }

    /// The pull's progress, from the content store's active ingests, every quarter second.
    /// Bytes are counted per ingest (ref): what each has written since the last look.
    private func watch(_ report: ProgressSink) async {
        var seen: [String: (offset: Int64, total: Int64)] = [:]
        report(.step("resolving"))
        while !Task.isCancelled {
            if let ingests = try? await session.store.namespacedStore(Workloads.criNamespace).ingestStatuses(), !ingests.isEmpty {
                for i in ingests {
                    let before = seen[i.ref]?.offset ?? 0
                    if i.offset > before { report(.bytes(i.offset - before)) }
                    seen[i.ref] = (i.offset, max(i.total, i.offset))
                }
                report(.job(bytes: seen.values.reduce(0) { $0 + $1.total }, images: 1))
                report(.step("downloading \(ingests.count) layer(s)"))
            }
            try? await Task.sleep(nanoseconds: 250_000_000)
        }
    }

    /// Why a pull failed, with what to do. The daemon's CRI reports registry failures as gRPC
    /// Unknown/NotFound with the resolver's text: the text is the only place the cause is named, so
    /// it is read here (and only here).
    func explainPull(_ error: Error, ref: ImageReference, anonymous: Bool) -> Error {
        guard let e = error as? RPCError else { return error }
        let text = e.message.lowercased()
        let registry = ref.domain
        let hosts = "/etc/containerd/certs.d/\(registry)/hosts.toml"
        func fail(_ why: String, _ hint: String) -> KctrError {
            KctrError("cannot pull \(ref): \(why) (\(e.message))", hint: hint)
        }
        if text.contains("401") || text.contains("unauthorized") || text.contains("authorization failed")
            || text.contains("403") || text.contains("denied") {
            if anonymous {
                return fail("the registry \(registry) wants credentials and none were given",
                            "pass --creds USER[:PASSWORD], --auth BASE64 or --registry-config ~/.docker/config.json (or configure them for containerd)")
            }
            return fail("the registry \(registry) refused the credentials",
                        "check the user name and password (--creds USER[:PASSWORD], --auth BASE64, --registry-config); check that the account may pull this repository")
        }
        if text.contains("not found") || text.contains("manifest unknown") || text.contains("name unknown") || e.code == .notFound {
            return fail("\(ref) does not exist on \(registry)", "check the repository and tag (or digest); list tags with skopeo list-tags docker://\(ref.repository)")
        }
        if text.contains("x509") || text.contains("certificate") || text.contains("tls") || text.contains("server gave http response to https client") {
            return fail("TLS with \(registry) failed",
                        "install the registry's CA, or declare the registry in \(hosts) (server, ca or skip_verify) and point containerd's registry config_path at /etc/containerd/certs.d")
        }
        if text.contains("connection refused") || text.contains("no such host") || text.contains("i/o timeout")
            || text.contains("dial tcp") || text.contains("network is unreachable") || e.code == .deadlineExceeded {
            return fail("\(registry) cannot be reached from this node",
                        "check DNS, the network and proxies from the node (containerd's own environment: HTTP_PROXY, NO_PROXY), or configure a mirror in \(hosts)")
        }
        return session.explain(error, doing: "pulling \(ref)")
    }
}

/// Registry credentials (CRI's AuthConfig), for the commands.
public typealias RegistryAuth = KctrRPC.RegistryAuth
