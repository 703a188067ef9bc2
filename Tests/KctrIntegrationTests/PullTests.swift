import Foundation
import XCTest

/// A registry on 127.0.0.1 (Debian's docker-registry), with htpasswd credentials when asked,
/// that the tests push to with skopeo. Stopped by `stop()`.
final class LocalRegistry {
    let dir: String
    let port: Int
    let process: Process
    var host: String { "127.0.0.1:\(port)" }
    static let user = "kctr", password = "s3cret-pw"

    init(auth: Bool) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-registry-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        port = try Self.freePort()
        var config = """
        version: 0.1
        log:
          level: warn
        storage:
          filesystem:
            rootdirectory: \(dir)/data
        http:
          addr: 127.0.0.1:\(port)
          secret: kctr-test-secret

        """
        if auth {
            let r = runProcess(["/usr/bin/htpasswd", "-Bbn", Self.user, Self.password])
            guard r.status == 0 else { throw SetupError("htpasswd failed (apt-get install apache2-utils): \(r.stderr)") }
            try r.stdout.write(toFile: dir + "/htpasswd", atomically: true, encoding: .utf8)
            config += "auth:\n  htpasswd:\n    realm: kctr-test\n    path: \(dir)/htpasswd\n"
        }
        try config.write(toFile: dir + "/config.yml", atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
        process.arguments = ["serve", dir + "/config.yml"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        for _ in 0..<100 {
            if runProcess(["/usr/bin/curl", "-s", "-o", "/dev/null", "http://\(host)/v2/"]).status == 0 { return }
            usleep(50_000)
        }
        stop()
        throw SetupError("docker-registry did not answer on \(host)")
    }

    func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Pushes an OCI archive as host/repository:tag with skopeo.
    func push(_ archive: String, as repository: String) throws {
        var argv = ["/usr/bin/skopeo", "copy", "--dest-tls-verify=false"]
        if FileManager.default.fileExists(atPath: dir + "/htpasswd") { argv += ["--dest-creds", "\(Self.user):\(Self.password)"] }
        let r = runProcess(argv + ["oci-archive:\(archive)", "docker://\(host)/\(repository)"], timeout: 120)
        guard r.status == 0 else { throw SetupError("skopeo push failed: \(r.stderr)") }
    }

    /// Lets `lab`'s containerd reach this registry over plain HTTP (hosts.toml under its CRI registry config_path).
    func declare(in lab: Lab) throws {
        let hosts = lab.base + "/certs.d/\(host)"
        try FileManager.default.createDirectory(atPath: hosts, withIntermediateDirectories: true)
        try """
        server = "http://\(host)"
        [host."http://\(host)"]
          capabilities = ["pull", "resolve"]

        """.write(toFile: hosts + "/hosts.toml", atomically: true, encoding: .utf8)
    }

    static func freePort() throws -> Int {
        let r = runProcess(["/usr/bin/python3", "-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"])
        guard r.status == 0, let port = Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SetupError("cannot find a free port: \(r.stderr)")
        }
        return port
    }
}

/// `kctr pull` through CRI PullImage against real registries on 127.0.0.1: anonymous, with
/// htpasswd credentials (--creds, --auth, --registry-config), wrong credentials, a missing tag and
/// an unreachable registry; each failure says why and leaves nothing behind.
final class PullTests: XCTestCase {
    static let shared = SharedLab()
    override class func tearDown() { shared.stop() }

    /// A fresh unique image pushed to `registry` as kctr/app-<id>:1; returns its reference and config digest.
    func pushed(to registry: LocalRegistry, in dir: TempDir) throws -> (ref: String, config: String) {
        let script = dir.file("verified.py")
        try VerifiedImportTests.python.write(toFile: script, atomically: true, encoding: .utf8)
        let r = runProcess(["/usr/bin/python3", script, "genuine", dir.file("app.tar")])
        guard r.status == 0, let doc = jsonObject(r.stdout) as? [String: String], let config = doc["config"] else {
            throw SetupError("cannot build an image: \(r.stderr)")
        }
        let repository = "kctr/app-\(UUID().uuidString.prefix(8).lowercased()):1"
        try registry.push(dir.file("app.tar"), as: repository)
        return ("\(registry.host)/\(repository)", config)
    }

    /// A registry declared to the lab, and a fresh image pushed to it. Stop the registry when done.
    func serving(auth: Bool) throws -> (lab: Lab, registry: LocalRegistry, image: (ref: String, config: String), dir: TempDir) {
        let lab = try Self.shared.get()
        let registry = try LocalRegistry(auth: auth)
        do {
            try registry.declare(in: lab)
            let dir = try tempDir()
            return (lab, registry, try pushed(to: registry, in: dir), dir)
        } catch {
            registry.stop()
            throw error
        }
    }

    func assertNothingLeft(_ lab: Lab, file: StaticString = #filePath, line: UInt = #line) {
        let active = lab.ctr(["content", "active"]).lines.filter { !$0.hasPrefix("REF") && !$0.isEmpty }
        XCTAssertEqual(active, [], "ingests left", file: file, line: line)
    }

    func testAnonymousPullReportsImageIDAndUnpack() throws {
        let (lab, registry, image, _) = try serving(auth: false)
        defer { registry.stop() }
        let r = lab.kctr(["pull", image.ref])
        XCTAssertExit(r, 0)
        XCTAssertEqual(r.stdout, "Image is up to date for \(image.config)\n")
        XCTAssertTrue(r.stderr.contains("pulled \(image.ref) in "), r.stderr)
        XCTAssertTrue(r.stderr.contains("unpacked for overlayfs"), r.stderr)
        // Independent check: containerd's own record and CRI's view.
        XCTAssertTrue(lab.ctr(["images", "ls", "-q"]).lines.contains(image.ref))
        let json = lab.kctr(["pull", "-o", "json", image.ref])
        XCTAssertExit(json, 0)
        let doc = try XCTUnwrap(jsonObject(json.stdout) as? [String: Any])
        XCTAssertEqual(doc["imageID"] as? String, image.config)
        XCTAssertEqual(doc["unpacked"] as? Bool, true)
    }

    func testCredentialsAreNeededRefusedAndAccepted() throws {
        let (lab, registry, image, dir) = try serving(auth: true)
        defer { registry.stop() }

        let anonymous = lab.kctr(["pull", image.ref])
        XCTAssertExit(anonymous, 1)
        XCTAssertTrue(anonymous.stderr.contains("kctr: cannot pull \(image.ref): the registry \(registry.host) wants credentials and none were given"), anonymous.stderr)
        XCTAssertTrue(anonymous.stderr.contains("hint: pass --creds USER[:PASSWORD]"), anonymous.stderr)

        let wrong = lab.kctr(["pull", "--creds", "\(LocalRegistry.user):nope", image.ref])
        XCTAssertExit(wrong, 1)
        XCTAssertTrue(wrong.stderr.contains("the registry \(registry.host) refused the credentials"), wrong.stderr)
        assertNothingLeft(lab)
        XCTAssertFalse(lab.ctr(["images", "ls", "-q"]).lines.contains(image.ref))

        let creds = lab.kctr(["pull", "--creds", "\(LocalRegistry.user):\(LocalRegistry.password)", image.ref])
        XCTAssertExit(creds, 0)
        XCTAssertEqual(creds.stdout, "Image is up to date for \(image.config)\n")

        let base64 = Data("\(LocalRegistry.user):\(LocalRegistry.password)".utf8).base64EncodedString()
        XCTAssertExit(lab.kctr(["pull", "--auth", base64, image.ref]), 0)

        let config = dir.file("config.json")
        try #"{"auths": {"\#(registry.host)": {"auth": "\#(base64)"}}}"#.write(toFile: config, atomically: true, encoding: .utf8)
        XCTAssertExit(lab.kctr(["pull", "--registry-config", config, image.ref]), 0)
    }

    func testMissingTagAndUnreachableRegistry() throws {
        let lab = try Self.shared.get()
        let registry = try LocalRegistry(auth: false)
        defer { registry.stop() }
        try registry.declare(in: lab)
        let missing = lab.kctr(["pull", "\(registry.host)/kctr/none:missing"])
        XCTAssertExit(missing, 1)
        XCTAssertTrue(missing.stderr.contains("kctr: cannot pull \(registry.host)/kctr/none:missing: \(registry.host)/kctr/none:missing does not exist on \(registry.host)"), missing.stderr)
        XCTAssertTrue(missing.stderr.contains("hint: check the repository and tag"), missing.stderr)
        assertNothingLeft(lab)

        let port = try LocalRegistry.freePort()
        let down = lab.kctr(["pull", "127.0.0.1:\(port)/kctr/app:1"])
        XCTAssertExit(down, 1)
        XCTAssertTrue(down.stderr.contains("127.0.0.1:\(port) cannot be reached from this node"), down.stderr)
        XCTAssertTrue(down.stderr.contains("connection refused"), down.stderr)
    }

    func testUsageErrors() throws {
        let lab = try Self.shared.get()
        let both = lab.kctr(["pull", "--creds", "a:b", "--auth", "YTpi", "example.com/a:1"])
        XCTAssertExit(both, 64)
        XCTAssertTrue(both.stderr.contains("--creds, --auth and --registry-config exclude each other"), both.stderr)
        let bad = lab.kctr(["pull", "--auth", "not base64!", "example.com/a:1"])
        XCTAssertExit(bad, 64)
        XCTAssertTrue(bad.stderr.contains("--auth must be base64 of USER:PASSWORD"), bad.stderr)
        let noTTY = runProcess([Paths.kctr, "--address", lab.socket, "pull", "--creds", "alice", "example.com/a:1"], stdin: "")
        XCTAssertExit(noTTY, 64)
        XCTAssertTrue(noTTY.stderr.contains("--creds USER without a password needs a terminal to ask on"), noTTY.stderr)
        let ref = lab.kctr(["pull", "docker.io/library/UPPER:Case!!"])
        XCTAssertExit(ref, 64)
        XCTAssertTrue(ref.stderr.contains("is not a valid image reference: the tag \"Case!!\""), ref.stderr)
        let pod = lab.kctr(["pull", "--pod-config", "/nonexistent.json", "example.com/a:1"])
        XCTAssertExit(pod, 1)
        XCTAssertTrue(pod.stderr.contains("cannot read the pod config /nonexistent.json: no such file"), pod.stderr)
    }

    /// --pod-config reads crictl's pod config (JSON or YAML) through the PodSandboxConfig schema:
    /// a wrong field is refused naming its path, a good one is sent with the pull.
    func testPodConfig() throws {
        let (lab, registry, image, dir) = try serving(auth: false)
        defer { registry.stop() }
        let good = dir.file("pod.yaml")
        try "metadata:\n  name: puller\n  namespace: default\n  uid: u1\nlabels:\n  app: x\nlinux:\n  securityContext:\n    namespaceOptions:\n      network: NODE\n"
            .write(toFile: good, atomically: true, encoding: .utf8)
        XCTAssertExit(lab.kctr(["pull", "--pod-config", good, image.ref]), 0)
        let bad = dir.file("bad.json")
        try #"{"metadata": {"name": "x", "nmespace": "y"}}"#.write(toFile: bad, atomically: true, encoding: .utf8)
        let r = lab.kctr(["pull", "--pod-config", bad, image.ref])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("metadata.nmespace: runtime.v1.PodSandboxMetadata has no field nmespace"), r.stderr)
        let enumBad = dir.file("enum.json")
        try #"{"linux": {"securityContext": {"namespaceOptions": {"network": "HOSTY"}}}}"#.write(toFile: enumBad, atomically: true, encoding: .utf8)
        let e = lab.kctr(["pull", "--pod-config", enumBad, image.ref])
        XCTAssertExit(e, 1)
        XCTAssertTrue(e.stderr.contains("linux.securityContext.namespaceOptions.network must be one of POD, CONTAINER, NODE, TARGET"), e.stderr)
    }
}
