import Foundation
import XCTest
@testable import KctrCore

final class EndpointTests: XCTestCase {
    /// No crictl.yaml, only the default socket exists: nothing on the host leaks in.
    private func resolve(flag: String? = nil, env: [String: String] = [:], crictlConfig: String? = nil,
                         files: [String: String] = [:], existing: Set<String> = [Endpoint.defaultPath]) throws -> Endpoint {
        try Endpoint.resolve(flag: flag, environment: env, crictlConfig: crictlConfig,
                             fileExists: { existing.contains($0) }, readFile: { files[$0] })
    }

    private func kctrError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> KctrError? {
        do {
            try body()
            XCTFail("expected a KctrError", file: file, line: line)
        } catch let e as KctrError {
            return e
        } catch {
            XCTFail("expected a KctrError, got \(error)", file: file, line: line)
        }
        return nil
    }

    static let crictl = ["/etc/crictl.yaml": "runtime-endpoint: unix:///run/crictl/c.sock\n"]
    static let allEnv = ["CONTAINERD_ADDRESS": "unix:///run/env-a.sock", "CONTAINER_RUNTIME_ENDPOINT": "unix:///run/env-b.sock"]

    // MARK: precedence

    func testFlagWinsOverEverything() throws {
        let e = try resolve(flag: "/run/flag.sock", env: Self.allEnv, files: Self.crictl)
        XCTAssertEqual(e, Endpoint(path: "/run/flag.sock", source: "--address", note: nil))
        XCTAssertEqual(e.grpcTarget, "unix:///run/flag.sock")
    }

    func testEmptyFlagIsIgnored() throws {
        let e = try resolve(flag: "", env: Self.allEnv, files: Self.crictl)
        XCTAssertEqual(e, Endpoint(path: "/run/env-a.sock", source: "CONTAINERD_ADDRESS", note: nil))
    }

    func testContainerdAddressWinsOverRuntimeEndpointAndCrictl() throws {
        let e = try resolve(env: Self.allEnv, files: Self.crictl)
        XCTAssertEqual(e.path, "/run/env-a.sock")
        XCTAssertEqual(e.source, "CONTAINERD_ADDRESS")
    }

    func testContainerRuntimeEndpointWinsOverCrictl() throws {
        let e = try resolve(env: ["CONTAINER_RUNTIME_ENDPOINT": "unix:///run/env-b.sock"], files: Self.crictl)
        XCTAssertEqual(e, Endpoint(path: "/run/env-b.sock", source: "CONTAINER_RUNTIME_ENDPOINT", note: nil))
        let emptyFirst = try resolve(env: ["CONTAINERD_ADDRESS": "", "CONTAINER_RUNTIME_ENDPOINT": "/run/env-b.sock"])
        XCTAssertEqual(emptyFirst.source, "CONTAINER_RUNTIME_ENDPOINT")
        XCTAssertEqual(emptyFirst.path, "/run/env-b.sock")
    }

    func testCrictlRuntimeEndpointWinsOverDefault() throws {
        let e = try resolve(env: ["CONTAINERD_NAMESPACE": "k8s.io"], files: Self.crictl)
        XCTAssertEqual(e, Endpoint(path: "/run/crictl/c.sock", source: "runtime-endpoint in /etc/crictl.yaml", note: nil))
    }

    func testCrictlConfigFlagPathIsReadAndNamed() throws {
        let files = ["/opt/crictl.yaml": "runtime-endpoint: unix:/run/other.sock\n"].merging(Self.crictl) { a, _ in a }
        let e = try resolve(crictlConfig: "/opt/crictl.yaml", files: files)
        XCTAssertEqual(e, Endpoint(path: "/run/other.sock", source: "runtime-endpoint in /opt/crictl.yaml", note: nil))
    }

    func testCrictlWithoutRuntimeEndpointFallsToDefault() throws {
        let files = ["/etc/crictl.yaml": "image-endpoint: unix:///run/img.sock\ntimeout: 2\n"]
        XCTAssertEqual(try resolve(files: files), Endpoint(path: "/run/containerd/containerd.sock", source: "default", note: nil))
        let emptyEndpoint = ["/etc/crictl.yaml": "runtime-endpoint: \"\"\n"]
        XCTAssertEqual(try resolve(files: emptyEndpoint).source, "default")
    }

    func testDefault() throws {
        let e = try resolve()
        XCTAssertEqual(e, Endpoint(path: "/run/containerd/containerd.sock", source: "default", note: nil))
        XCTAssertEqual(e.grpcTarget, "unix:///run/containerd/containerd.sock")
        // Neither socket exists: still the default (the error comes when connecting).
        XCTAssertEqual(try resolve(existing: []), Endpoint(path: "/run/containerd/containerd.sock", source: "default", note: nil))
    }

    func testK3sFallbackOnlyWhenDefaultIsMissing() throws {
        let k3s = try resolve(existing: ["/run/k3s/containerd/containerd.sock"])
        XCTAssertEqual(k3s.path, "/run/k3s/containerd/containerd.sock")
        XCTAssertEqual(k3s.source, "default")
        XCTAssertEqual(k3s.note, "/run/containerd/containerd.sock does not exist; using k3s's containerd at /run/k3s/containerd/containerd.sock")

        let both = try resolve(existing: ["/run/k3s/containerd/containerd.sock", "/run/containerd/containerd.sock"])
        XCTAssertEqual(both, Endpoint(path: "/run/containerd/containerd.sock", source: "default", note: nil))

        // Any explicit choice beats the k3s fallback.
        let explicit = try resolve(env: ["CONTAINERD_ADDRESS": "/run/x.sock"], existing: ["/run/k3s/containerd/containerd.sock"])
        XCTAssertEqual(explicit, Endpoint(path: "/run/x.sock", source: "CONTAINERD_ADDRESS", note: nil))
    }

    // MARK: errors

    func testUnreadableCrictlConfigFlagIsAnError() {
        let e = kctrError { _ = try self.resolve(crictlConfig: "/nope/crictl.yaml") }
        XCTAssertEqual(e?.message, "cannot read the crictl config /nope/crictl.yaml")
        XCTAssertEqual(e?.hint, "check the path given to --crictl-config")
        XCTAssertEqual(e?.exitCode, 1)
    }

    func testUnreadableCrictlConfigFlagWithRealFileSystem() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-missing-\(UUID().uuidString).yaml").path
        let e = kctrError { _ = try Endpoint.resolve(flag: nil, environment: [:], crictlConfig: missing) }
        XCTAssertEqual(e?.message, "cannot read the crictl config \(missing)")
    }

    func testCrictlConfigFlagWithRealFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-crictl-\(UUID().uuidString).yaml")
        try "runtime-endpoint: unix:///run/real.sock\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let e = try Endpoint.resolve(flag: nil, environment: [:], crictlConfig: url.path)
        XCTAssertEqual(e, Endpoint(path: "/run/real.sock", source: "runtime-endpoint in \(url.path)", note: nil))
    }

    func testMissingDefaultCrictlConfigIsNotAnError() throws {
        // Without --crictl-config an absent /etc/crictl.yaml is normal.
        XCTAssertEqual(try resolve(files: [:]).source, "default")
    }

    func testInvalidYAMLNamesThePath() {
        let files = ["/etc/crictl.yaml": "runtime-endpoint: [unix:///x\n"]
        let e = kctrError { _ = try self.resolve(files: files) }
        XCTAssertTrue(e?.message.hasPrefix("cannot parse /etc/crictl.yaml: ") ?? false, e?.message ?? "nil")
        XCTAssertEqual(e?.hint, "fix the YAML or pass --address to bypass it")

        let custom = ["/srv/c.yaml": "a: b: c\n"]
        let c = kctrError { _ = try self.resolve(crictlConfig: "/srv/c.yaml", files: custom) }
        XCTAssertTrue(c?.message.hasPrefix("cannot parse /srv/c.yaml: ") ?? false, c?.message ?? "nil")
    }

    func testInvalidYAMLIsIgnoredWhenAFlagIsGiven() throws {
        let files = ["/etc/crictl.yaml": "runtime-endpoint: [unix:///x\n"]
        XCTAssertEqual(try resolve(flag: "/run/f.sock", files: files).path, "/run/f.sock")
    }

    func testTcpFromEnvironmentIsAnErrorNamingTheSource() {
        let e = kctrError { _ = try self.resolve(env: ["CONTAINERD_ADDRESS": "tcp://10.0.0.1:1"]) }
        XCTAssertEqual(e?.message, "unsupported address tcp://10.0.0.1:1 (from CONTAINERD_ADDRESS): scheme tcp is not a unix socket")
        XCTAssertEqual(e?.hint, "containerd listens on a unix socket, e.g. --address /run/containerd/containerd.sock")
    }

    func testTcpInCrictlIsAnErrorNamingTheFile() {
        let files = ["/etc/crictl.yaml": "runtime-endpoint: tcp://h:1\n"]
        let e = kctrError { _ = try self.resolve(files: files) }
        XCTAssertEqual(e?.message, "unsupported address tcp://h:1 (from runtime-endpoint in /etc/crictl.yaml): scheme tcp is not a unix socket")
    }

    // MARK: socketPath

    func testSocketPathForms() throws {
        XCTAssertEqual(try Endpoint.socketPath("unix:///x", source: "s"), "/x")
        XCTAssertEqual(try Endpoint.socketPath("unix:/x", source: "s"), "/x")
        XCTAssertEqual(try Endpoint.socketPath("/x", source: "s"), "/x")
        XCTAssertEqual(try Endpoint.socketPath("unix:///run/containerd/containerd.sock", source: "s"), "/run/containerd/containerd.sock")
        XCTAssertEqual(try Endpoint.socketPath("relative.sock", source: "s"), "relative.sock")
    }

    func testSocketPathTcpIsAnError() {
        let e = kctrError { _ = try Endpoint.socketPath("tcp://h:1", source: "--address") }
        XCTAssertEqual(e?.message, "unsupported address tcp://h:1 (from --address): scheme tcp is not a unix socket")
        XCTAssertEqual(e?.exitCode, 1)
    }

    func testSocketPathEmptyIsAnError() {
        let e = kctrError { _ = try Endpoint.socketPath("unix://", source: "--address") }
        XCTAssertEqual(e?.message, "empty socket path in address \"unix://\" (from --address)")
        XCTAssertEqual(e?.hint, "pass --address /run/containerd/containerd.sock")
        XCTAssertNotNil(kctrError { _ = try Endpoint.socketPath("unix:", source: "s") })
        XCTAssertNotNil(kctrError { _ = try Endpoint.socketPath("", source: "s") })
    }

    func testSocketPathErrorThroughTheFlag() {
        let e = kctrError { _ = try self.resolve(flag: "unix://") }
        XCTAssertEqual(e?.message, "empty socket path in address \"unix://\" (from --address)")
    }

    // MARK: namespace

    func testNamespacePrecedence() {
        XCTAssertEqual(SessionConfig.namespace(flag: "default", environment: ["CONTAINERD_NAMESPACE": "moby"]), "default")
        XCTAssertEqual(SessionConfig.namespace(flag: "", environment: ["CONTAINERD_NAMESPACE": "moby"]), "moby")
        XCTAssertEqual(SessionConfig.namespace(flag: nil, environment: ["CONTAINERD_NAMESPACE": ""]), "k8s.io")
        XCTAssertEqual(SessionConfig.namespace(flag: nil, environment: [:]), "k8s.io")
    }

    // MARK: checkSocket

    func testCheckSocketMissingAndNotASocket() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-sock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("none.sock").path
        let m = kctrError { try Session.checkSocket(Endpoint(path: missing, source: "default")) }
        XCTAssertEqual(m?.message, "cannot reach containerd at \(missing) (the default): no such socket")
        XCTAssertEqual(m?.hint, Session.addressHint)

        let file = dir.appendingPathComponent("plain").path
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        let f = kctrError { try Session.checkSocket(Endpoint(path: file, source: "--address")) }
        XCTAssertEqual(f?.message, "\(file) (from --address) is not a socket")
    }
}

final class CrictlConfigTests: XCTestCase {
    func testTheEndpointsAreReadAndNothingElse() throws {
        let text = """
        runtime-endpoint: unix:///run/containerd/containerd.sock
        image-endpoint: unix:///run/containerd/image.sock
        timeout: 10
        debug: true
        pull-image-on-create: false
        """
        let c = try CrictlConfig.parse(text, path: "/etc/crictl.yaml")
        XCTAssertEqual(c.runtimeEndpoint, "unix:///run/containerd/containerd.sock")
        XCTAssertEqual(c.imageEndpoint, "unix:///run/containerd/image.sock")
        // timeout, debug and the rest are crictl's own: not read (a wrong type there is no error).
        XCTAssertEqual(c, CrictlConfig(runtimeEndpoint: c.runtimeEndpoint, imageEndpoint: c.imageEndpoint))
        XCTAssertEqual(try CrictlConfig.parse("timeout: ten\ndebug: maybe\n", path: "p"), CrictlConfig())
    }

    func testMissingKeysAreNil() throws {
        let c = try CrictlConfig.parse("debug: false\n", path: "p")
        XCTAssertNil(c.runtimeEndpoint)
        XCTAssertNil(c.imageEndpoint)
    }

    func testValuesOfTheWrongTypeAreNil() throws {
        let c = try CrictlConfig.parse("runtime-endpoint: 5\nimage-endpoint: [a]\n", path: "p")
        XCTAssertEqual(c, CrictlConfig())
    }

    func testEmptyDocuments() throws {
        XCTAssertEqual(try CrictlConfig.parse("", path: "p"), CrictlConfig())
        XCTAssertEqual(try CrictlConfig.parse("# only a comment\n", path: "p"), CrictlConfig())
    }

    /// "---" (and "~") is an explicit empty document: Yams gives NSNull, which
    /// CrictlConfig.parse reports as "not a mapping". Skipped while that bug
    /// stands (see the report); asserts the intended result once fixed.
    func testExplicitNullDocumentIsEmpty() throws {
        for text in ["---\n", "~\n", "null\n"] {
            let result = Result { () throws(KctrError) in try CrictlConfig.parse(text, path: "p") }
            if case .failure(let e) = result, e.message == "cannot parse p: the document is not a mapping" {
                throw XCTSkip("known bug: an explicit null YAML document is rejected (Endpoint.swift, CrictlConfig.parse)")
            }
            XCTAssertEqual(try result.get(), CrictlConfig(), text)
        }
    }

    func testListIsNotAMapping() {
        XCTAssertThrowsError(try CrictlConfig.parse("- runtime-endpoint: unix:///x\n- b\n", path: "/etc/crictl.yaml")) { error in
            XCTAssertEqual(error as? KctrError,
                           KctrError("cannot parse /etc/crictl.yaml: the document is not a mapping",
                                     hint: "it should hold keys such as runtime-endpoint: unix:///run/containerd/containerd.sock"))
        }
        XCTAssertThrowsError(try CrictlConfig.parse("just a string\n", path: "/x.yaml")) { error in
            XCTAssertEqual((error as? KctrError)?.message, "cannot parse /x.yaml: the document is not a mapping")
        }
    }

    func testInvalidYAML() {
        XCTAssertThrowsError(try CrictlConfig.parse("key: [unclosed\n", path: "/tmp/c.yaml")) { error in
            let e = error as? KctrError
            XCTAssertTrue(e?.message.hasPrefix("cannot parse /tmp/c.yaml: ") ?? false, "\(error)")
            XCTAssertNotEqual(e?.message, "cannot parse /tmp/c.yaml: the document is not a mapping")
            XCTAssertEqual(e?.hint, "fix the YAML or pass --address to bypass it")
        }
    }
}

final class DurationTests: XCTestCase {
    func testMilliseconds() {
        XCTAssertEqual(DurationText.milliseconds("500ms"), 500)
        XCTAssertEqual(DurationText.milliseconds("10s"), 10_000)
        XCTAssertEqual(DurationText.milliseconds("2m"), 120_000)
        XCTAssertEqual(DurationText.milliseconds("1h"), 3_600_000)
        XCTAssertEqual(DurationText.milliseconds("1.5"), 1_500)
        XCTAssertEqual(DurationText.milliseconds("0.25s"), 250)
        XCTAssertEqual(DurationText.milliseconds("30"), 30_000)
        XCTAssertEqual(DurationText.milliseconds("0"), 0)
        XCTAssertEqual(DurationText.milliseconds(" 10s "), 10_000)
    }

    func testInvalid() {
        XCTAssertNil(DurationText.milliseconds("abc"))
        XCTAssertNil(DurationText.milliseconds("-1s"))
        XCTAssertNil(DurationText.milliseconds("-1"))
        XCTAssertNil(DurationText.milliseconds(""))
        XCTAssertNil(DurationText.milliseconds("ms"))
        XCTAssertNil(DurationText.milliseconds("10 s"))
        XCTAssertNil(DurationText.milliseconds("10x"))
        XCTAssertNil(DurationText.milliseconds("nan"))
    }

    func testDescribe() {
        XCTAssertEqual(DurationText.describe(milliseconds: 10_000), "10s")
        XCTAssertEqual(DurationText.describe(milliseconds: 500), "500ms")
        XCTAssertEqual(DurationText.describe(milliseconds: 1_500), "1500ms")
        XCTAssertEqual(DurationText.describe(milliseconds: 0), "0s")
    }
}

final class KctrErrorTests: XCTestCase {
    func testDescription() {
        XCTAssertEqual(KctrError("boom").description, "boom")
        XCTAssertEqual(KctrError("boom", hint: "").description, "boom")
        XCTAssertEqual(KctrError("boom", hint: "try again").description, "boom (hint: try again)")
        XCTAssertEqual(KctrError("boom").exitCode, 1)
        XCTAssertEqual(KctrError.usage("bad flag").exitCode, 64)
        XCTAssertEqual(KctrError.usage("bad flag", hint: "h").description, "bad flag (hint: h)")
    }
}
