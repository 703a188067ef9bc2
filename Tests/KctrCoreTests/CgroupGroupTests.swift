import Foundation
import XCTest
@testable import KctrCore
@testable import KctrRPC

/// The `cgroup` group from recorded daemons of each version: the driver against PID 1 and the
/// kubelet, which side sets the kubelet's driver, cgroup v1.
final class CgroupGroupTests: XCTestCase {
    /// A recorded daemon of `version` whose runc runs with `systemdCgroup`, PID 1 `systemd` or not.
    private func facts(_ version: String, systemdCgroup: Bool, pid1Systemd: Bool = false, fileVersion: Int? = nil) throws -> VerifyFacts {
        var f = try VerifyFixtures.recorded(version)
        if systemdCgroup {
            let status = try VerifyFixtures.recordedStatus(version)
            let config = (status.info["config"] ?? "").replacing("\"SystemdCgroup\":false", with: "\"SystemdCgroup\":true")
            f.daemon.criStatus = .known(CRIStatus(conditions: status.conditions, info: ["config": config]))
            if version.hasPrefix("2.") { f.daemon.cgroupDriver = .known("systemd") }
        }
        f.host.pid1IsSystemd = pid1Systemd
        f.host.cgroupMode = .v2
        if let fileVersion { f.config.merged = .object(["version": .number(Double(fileVersion))]) }
        return f
    }

    private func cgroup(_ f: VerifyFacts, file: StaticString = #filePath, line: UInt = #line) -> [String: CheckResult] {
        let results = CgroupGroup.results(f)
        XCTAssertEqual(results.map(\.id), Check.of(.cgroup).map(\.id), file: file, line: line)
        return byID(results, group: "cgroup", file: file, line: line)
    }

    private func kubelet(_ f: inout VerifyFacts, driver: String?, failCgroupV1: Bool? = nil) {
        var o: [String: JSONValue] = ["kind": .string("KubeletConfiguration")]
        if let driver { o["cgroupDriver"] = .string(driver) }
        if let failCgroupV1 { o["failCgroupV1"] = .bool(failCgroupV1) }
        f.kubelet.config = .object(o)
    }

    /// The done-when case of issue 14: on every version, SystemdCgroup = true without systemd fails, and
    /// the fix names that version's table in its own quoting.
    func testSystemdCgroupWithoutSystemdFailsNamingEachVersionsTable() throws {
        let tables = ["1.6.20": "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]",
                      "1.7.34": "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]",
                      "2.3.4": "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]"]
        for version in VerifyFixtures.recordedVersions {
            let f = try facts(version, systemdCgroup: true, fileVersion: ContainerdRelease(version)?.configVersion)
            let m = cgroup(f)["cgroup.driver-match"]
            XCTAssertEqual(m?.status, .fail, version)
            assertFound(m, "SystemdCgroup = true", "expected cgroupsPath to be of format slice:prefix:name")
            assertFix(m, "set `SystemdCgroup = false` in \(tables[version] ?? "") of /etc/containerd/config.toml", "systemctl restart containerd")
            XCTAssertTrue(m!.evidence.contains(version.hasPrefix("2.") ? "RuntimeConfig: linux.cgroup_driver = systemd" : "options.SystemdCgroup = true"),
                          m!.evidence)
            // Without a readable file, the table of the version the daemon writes.
            var noFile = f
            noFile.config.merged = nil
            assertFix(cgroup(noFile)["cgroup.driver-match"], tables[version] ?? "")
        }
    }

    func testCgroupfsWithoutKubeletConfigSkipsTheComparison() throws {
        for version in VerifyFixtures.recordedVersions {
            let m = cgroup(try facts(version, systemdCgroup: false))["cgroup.driver-match"]
            XCTAssertEqual(m?.status, .skip, version)
            assertFound(m, "containerd uses the cgroupfs cgroup driver", "kubelet comparison skipped")
        }
    }

    func testKubeletMismatchFails() throws {
        var f = try facts("1.7.34", systemdCgroup: false)
        kubelet(&f, driver: "systemd")
        let m = cgroup(f)["cgroup.driver-match"]
        XCTAssertEqual(m?.status, .fail)
        assertFix(m, "PID 1 is not systemd: set cgroupDriver: cgroupfs")

        var systemdHost = try facts("1.7.34", systemdCgroup: false, pid1Systemd: true)
        kubelet(&systemdHost, driver: "systemd")
        assertFix(cgroup(systemdHost)["cgroup.driver-match"], "set `SystemdCgroup = true` in [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]")

        var match = try facts("2.3.4", systemdCgroup: true, pid1Systemd: true)
        kubelet(&match, driver: "systemd")
        XCTAssertEqual(cgroup(match)["cgroup.driver-match"]?.status, .pass)
    }

    /// kubelet 1.34+ takes the driver from a runtime that answers RuntimeConfig (2.x): its own
    /// cgroupDriver no longer decides, so a stale one is a warning of driver-source, not a failure.
    func testKubelet134TakesTheDriverFromContainerd2() throws {
        var f = try facts("2.3.4", systemdCgroup: true, pid1Systemd: true)
        kubelet(&f, driver: "cgroupfs")
        f.kubelet.version = .known(KubeletRelease(minor: 34))
        let c = cgroup(f)
        XCTAssertEqual(c["cgroup.driver-match"]?.status, .pass, c["cgroup.driver-match"]?.found ?? "")
        assertFound(c["cgroup.driver-match"], "the kubelet takes it from containerd")
        let s = c["cgroup.driver-source"]
        XCTAssertEqual(s?.status, .warn)
        assertFound(s, "takes the systemd cgroup driver from containerd and ignores cgroupDriver: cgroupfs")
        assertFix(s, "set cgroupDriver: systemd in /var/lib/kubelet/config.yaml (or remove it)")

        kubelet(&f, driver: nil)
        XCTAssertEqual(cgroup(f)["cgroup.driver-source"]?.status, .pass)
        assertFound(cgroup(f)["cgroup.driver-source"], "takes the systemd cgroup driver from containerd (RuntimeConfig)")
    }

    func testOlderKubeletOrContainerd1xKeepsTheKubeletsSetting() throws {
        var old = try facts("2.3.4", systemdCgroup: false)
        kubelet(&old, driver: "systemd")
        old.kubelet.version = .known(KubeletRelease(minor: 33))
        let c = cgroup(old)
        XCTAssertEqual(c["cgroup.driver-match"]?.status, .fail)
        XCTAssertEqual(c["cgroup.driver-source"]?.status, .pass)
        assertFound(c["cgroup.driver-source"], "the kubelet 1.33.0 uses its own cgroupDriver (systemd)")

        var v17 = try facts("1.7.34", systemdCgroup: false)
        kubelet(&v17, driver: "systemd")
        v17.kubelet.version = .known(KubeletRelease(minor: 35))
        let d = cgroup(v17)
        XCTAssertEqual(d["cgroup.driver-match"]?.status, .fail, "1.7 does not answer RuntimeConfig: the kubelet uses its own driver")
        assertFound(d["cgroup.driver-source"], "does not answer RuntimeConfig: the kubelet 1.35.0 uses its own cgroupDriver (systemd)")

        var unknown = try facts("1.7.34", systemdCgroup: false)
        unknown.kubelet.version = .unknown(KctrError("no kubelet on PATH"))
        XCTAssertEqual(cgroup(unknown)["cgroup.driver-source"]?.found, "no kubelet on PATH: not known which side sets the driver")
    }

    // MARK: cgroup.v1

    func testCgroupV1UnderContainerd22Warns() throws {
        var f = try facts("2.3.4", systemdCgroup: false)
        f.host.cgroupMode = .v1(hybrid: true)
        let v = cgroup(f)["cgroup.v1"]
        XCTAssertEqual(v?.status, .warn)
        assertFound(v, "the host runs cgroup v1 under containerd v2.3.4: The support for cgroup v1 is deprecated since containerd v2.2")
        XCTAssertTrue(v!.evidence.contains("hybrid") && v!.evidence.contains("containerd reports io.containerd.deprecation/cgroup-v1"), v!.evidence)
        assertFix(v, "systemd.unified_cgroup_hierarchy=1")
        // Not visible under --root, but containerd says so.
        f.host.cgroupMode = .unknown
        XCTAssertEqual(cgroup(f)["cgroup.v1"]?.status, .warn)
    }

    func testCgroupV1UnderContainerd1xPassesUnlessTheKubeletRefuses() throws {
        var f = try facts("1.7.34", systemdCgroup: false)
        f.host.cgroupMode = .v1(hybrid: false)
        XCTAssertEqual(cgroup(f)["cgroup.v1"]?.status, .pass)
        kubelet(&f, driver: "cgroupfs", failCgroupV1: true)
        let v = cgroup(f)["cgroup.v1"]
        XCTAssertEqual(v?.status, .fail)
        assertFound(v, "failCgroupV1 is true: the kubelet refuses to start")
        assertFix(v, "set failCgroupV1: false")
    }

    func testCgroupV2PassesAndUnknownSkips() throws {
        XCTAssertEqual(cgroup(try facts("2.3.4", systemdCgroup: false))["cgroup.v1"]?.status, .pass, "cgroup v2")
        var f = try facts("1.7.34", systemdCgroup: false)
        f.host.cgroupMode = .unknown
        XCTAssertEqual(cgroup(f)["cgroup.v1"]?.status, .skip)
    }

    func testUnreachableSkips() {
        let results = CgroupGroup.results(VerifyFixtures.facts())
        XCTAssertEqual(results.first?.found, "daemon not reachable (see daemon.socket)")
    }
}

/// Where the host's cgroup mode is read: /sys/fs/cgroup under --root.
final class CgroupModeProbeTests: ScratchDirectoryTestCase {
    func testModes() throws {
        var paths = VerifyPaths()
        paths.root = dir
        XCTAssertEqual(HostProbes.cgroupMode(paths), .unknown)
        try FileManager.default.createDirectory(atPath: dir + "/sys/fs/cgroup/memory", withIntermediateDirectories: true)
        XCTAssertEqual(HostProbes.cgroupMode(paths), .v1(hybrid: false))
        try FileManager.default.createDirectory(atPath: dir + "/sys/fs/cgroup/unified", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/sys/fs/cgroup/unified/cgroup.controllers", contents: Data())
        XCTAssertEqual(HostProbes.cgroupMode(paths), .v1(hybrid: true))
        _ = FileManager.default.createFile(atPath: dir + "/sys/fs/cgroup/cgroup.controllers", contents: Data("cpu memory\n".utf8))
        XCTAssertEqual(HostProbes.cgroupMode(paths), .v2)
    }
}
