import Foundation
import KctrRPC

/// The outcome of one check of `kctr verify-runtime`.
public enum CheckStatus: String, Codable, Sendable, Comparable, CaseIterable {
    case pass, warn, fail, skip

    var rank: Int {
        switch self {
        case .pass: return 0
        case .skip: return 1
        case .warn: return 2
        case .fail: return 3
        }
    }

    public static func < (a: CheckStatus, b: CheckStatus) -> Bool { a.rank < b.rank }
}

/// One finding: what was checked, what was found, where, and the fix.
public struct CheckResult: Codable, Sendable, Equatable {
    /// Stable id, "<group>.<name>", e.g. "cgroup.driver-match" (the catalogue: `Check`). `--check` selects by group or id.
    public var id: String
    /// One of `VerifyGroup.allCases` raw values.
    public var group: String
    public var title: String
    public var status: CheckStatus
    /// What was found, in one sentence.
    public var found: String
    /// Where: a file and key ("/etc/containerd/config.toml: plugins...SystemdCgroup"), or an RPC and field.
    public var evidence: String
    /// What to do, when status is warn or fail.
    public var fix: String?

    public init(id: String, group: VerifyGroup, title: String, status: CheckStatus, found: String, evidence: String, fix: String? = nil) {
        self.id = id
        self.group = group.rawValue
        self.title = title
        self.status = status
        self.found = found
        self.evidence = evidence
        self.fix = fix
    }
}

/// The groups of checks, in the order they run and print (each check's group: `Check`).
public enum VerifyGroup: String, CaseIterable, Codable, Sendable {
    case daemon          // 1. socket, version, CRI plugin loaded and serving, deprecations, kubelet skew, decompression
    case cri             // 2. RuntimeReady/NetworkReady, CNI config and binaries
    case cgroup          // 3. SystemdCgroup vs kubelet cgroupDriver vs PID 1, who sets it, cgroup v1
    case snapshotter     // 4. plugin loaded; filesystem can serve it
    case pause           // 5. sandbox image present, unpacked, pinned, current; pods use it
    case config          // 6. config.toml: parses, version, unknown keys, disabled_plugins, drift
    case runtimes        // 7. default runtime exists, type, binary runs
    case crictl          // 8. /etc/crictl.yaml endpoints
    case kernel          // 9. modules, sysctls, ip_vs, swap
}

/// Paths verify-runtime reads; each can be overridden so that tests (and a
/// mounted node image) can be checked.
public struct VerifyPaths: Sendable, Equatable {
    public var containerdConfig = "/etc/containerd/config.toml"
    public var kubeletConfig = "/var/lib/kubelet/config.yaml"
    public var crictlConfig = "/etc/crictl.yaml"
    /// Prefix for /proc and /sys ("" for the live system).
    public var root = ""

    public init() {}

    public func proc(_ path: String) -> String { root + "/proc/" + path }
    public func sys(_ path: String) -> String { root + "/sys/" + path }
}

public struct VerifyReport: Codable, Sendable, Equatable {
    /// The node's name when given (`--node`), for `--summarize`; absent from the JSON otherwise.
    public var node: String?
    public var endpoint: String
    public var containerdVersion: String?
    public var checks: [CheckResult]
    public var summary: [String: Int]

    public init(endpoint: String, containerdVersion: String?, checks: [CheckResult]) {
        self.endpoint = endpoint
        self.containerdVersion = containerdVersion
        self.checks = checks
        var counts: [String: Int] = [:]
        for s in CheckStatus.allCases { counts[s.rawValue] = checks.filter { $0.status == s }.count }
        self.summary = counts
    }

    /// 0 when nothing fails (with `strict`, nothing warns either), else 1.
    public func exitCode(strict: Bool) -> Int32 {
        let worst = checks.map(\.status).max() ?? .pass
        if worst == .fail || (strict && worst == .warn) { return 1 }
        return 0
    }
}
