import Foundation
import XCTest
@testable import KctrCore
@testable import KctrRPC

/// Facts for verify-runtime's groups built by hand or from the replies recorded from real daemons
/// (Fixtures/verify/recorded): the groups are pure functions of them, so no daemon is needed.
enum VerifyFixtures {
    static func dir(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/verify/\(name)", withExtension: nil),
                                "fixture verify/\(name) is not in the test bundle", file: file, line: line)
        return url.path
    }

    /// A file or directory under Fixtures/ in the test bundle.
    static func fixture(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/\(relative)", withExtension: nil),
                                "fixture \(relative) is not in the test bundle", file: file, line: line)
        return url.path
    }

    static func text(_ name: String) throws -> String {
        try String(contentsOfFile: try dir(name), encoding: .utf8)
    }

    /// Facts with nothing gathered: the daemon did not answer.
    static func facts(root: String = "", config: String = "/etc/containerd/config.toml",
                      kubelet: String = "/var/lib/kubelet/config.yaml", socket: String = "/run/containerd/containerd.sock") -> VerifyFacts {
        var paths = VerifyPaths()
        paths.root = root
        paths.containerdConfig = config
        paths.kubeletConfig = kubelet
        return VerifyFacts(paths: paths, endpoint: Endpoint(path: socket, source: "default"))
    }

    /// Facts of a daemon that answered Version with `version` (and nothing else yet).
    static func answered(_ version: String, root: String = "", config: String = "/etc/containerd/config.toml") -> VerifyFacts {
        var f = facts(root: root, config: config)
        f.daemon.version = DaemonVersion(version: version, revision: "abc123")
        f.daemon.unreachable = nil
        return f
    }

    static func plugin(_ type: String, _ id: String, initError: String? = nil) throws -> PluginStatus {
        var object: [String: Any] = ["type": type, "id": id, "requires": [], "platforms": [], "exports": [:], "capabilities": []]
        if let initError { object["initError"] = initError }
        return PluginStatus(try JSONDecoder().decode(PluginRecord.self, from: JSONSerialization.data(withJSONObject: object)))
    }

    static func criImage(id: String = "sha256:pauseid", tags: [String] = ["registry.k8s.io/pause:3.9"],
                         digests: [String] = ["registry.k8s.io/pause@sha256:abcd"], pinned: Bool) throws -> CRIImage {
        let object: [String: Any] = ["id": id, "repoTags": tags, "repoDigests": digests, "size": 321_538, "pinned": pinned]
        return try JSONDecoder().decode(CRIImage.self, from: JSONSerialization.data(withJSONObject: object))
    }

    /// A CRI status whose verbose config is `config` (JSON).
    static func status(_ config: String, conditions: [CRICondition] = []) -> CRIStatus {
        CRIStatus(conditions: conditions, info: ["config": config])
    }

    static func status(_ config: JSONValue, conditions: [CRICondition] = []) -> CRIStatus {
        status(String(decoding: (try? JSONEncoder().encode(config)) ?? Data(), as: UTF8.self), conditions: conditions)
    }

    // MARK: Recorded replies

    static let recordedVersions = ["1.6.20", "1.7.34", "2.3.4"]

    /// CRI's verbose status as `version` answered it.
    static func recordedStatus(_ version: String) throws -> CRIStatus {
        let doc = JSONValue.parse(try text("recorded/cri-status-verbose-\(version).json"))
        guard case .array(let items)? = doc["status"]?["conditions"] else { throw SetupFailure("no conditions in the recording of \(version)") }
        let conditions = items.map {
            CRICondition(type: $0["type"]?.string ?? "", status: $0["status"]?.bool ?? false,
                         reason: $0["reason"]?.string ?? "", message: $0["message"]?.string ?? "")
        }
        let config = String(decoding: try JSONEncoder().encode(doc["config"] ?? .null), as: UTF8.self)
        return CRIStatus(conditions: conditions, info: ["config": config])
    }

    /// `ctr plugins ls` as `version` printed it.
    static func recordedPlugins(_ version: String) throws -> [PluginStatus] {
        try text("recorded/plugins-\(version).txt").split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard f.count >= 4 else { return nil }
            return try plugin(f[0], f[1], initError: f[3] == "ok" ? nil : f[3] == "skip" ? "skip plugin" : "error")
        }
    }

    /// A daemon of `version` as recorded: Version, plugins, CRI Version and Status; RuntimeConfig where
    /// 2.x answers it (cgroupfs); ImageFsInfo naming overlayfs under /var/lab/root.
    static func recorded(_ version: String, config: String = "/etc/containerd/config.toml") throws -> VerifyFacts {
        var f = answered(version.hasPrefix("1.6") ? version + "~ds1" : "v" + version, config: config)
        f.daemon.plugins = .known(try recordedPlugins(version))
        f.daemon.criVersion = .known(CRIVersion(version: "0.1.0", runtimeName: "containerd", runtimeVersion: version, runtimeApiVersion: "v1"))
        f.daemon.criStatus = .known(try recordedStatus(version))
        f.daemon.cgroupDriver = .known(version.hasPrefix("2.") ? "cgroupfs" : nil)
        f.daemon.imageFilesystems = .known(["/var/lab/root/io.containerd.snapshotter.v1.overlayfs"])
        f.daemon.server = .known(ServerInfo(uuid: "u", pid: 0, pidNamespace: 0, deprecations: []))
        return f
    }

    /// config.toml loaded from `text` (written to a scratch file under `dir`).
    static func config(_ text: String, in dir: String, name: String = "config.toml") throws -> ContainerdConfigFile {
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return ContainerdConfigFile.load(path: path)
    }
}

struct SetupFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Results by id, after the checks every result must pass: its group, evidence, and a fix exactly when
/// it warns or fails; and its id and title from the catalogue.
func byID(_ results: [CheckResult], group: String, file: StaticString = #filePath, line: UInt = #line) -> [String: CheckResult] {
    for r in results {
        XCTAssertEqual(r.group, group, r.id, file: file, line: line)
        XCTAssertEqual(Check(rawValue: r.id)?.title, r.title, "\(r.id) is not the catalogue's", file: file, line: line)
        XCTAssertFalse(r.evidence.isEmpty, "\(r.id) has no evidence", file: file, line: line)
        if r.status == .warn || r.status == .fail {
            XCTAssertNotNil(r.fix, "\(r.id) has no fix", file: file, line: line)
        } else {
            XCTAssertNil(r.fix, "\(r.id) is \(r.status) but has a fix", file: file, line: line)
        }
    }
    return Dictionary(uniqueKeysWithValues: results.map { ($0.id, $0) })
}

func assertFix(_ r: CheckResult?, _ needles: String..., file: StaticString = #filePath, line: UInt = #line) {
    guard let r else { return XCTFail("no result", file: file, line: line) }
    let fix = r.fix ?? ""
    for n in needles { XCTAssertTrue(fix.contains(n), "\(r.id) fix lacks \"\(n)\": \(fix)", file: file, line: line) }
}

func assertFound(_ r: CheckResult?, _ needles: String..., file: StaticString = #filePath, line: UInt = #line) {
    guard let r else { return XCTFail("no result", file: file, line: line) }
    for n in needles { XCTAssertTrue(r.found.contains(n), "\(r.id) found lacks \"\(n)\": \(r.found)", file: file, line: line) }
}
