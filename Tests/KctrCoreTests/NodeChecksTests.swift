import Foundation
import XCTest
@testable import KctrCore

final class NodeChecksTests: XCTestCase {
    static let live = "/run/containerd/containerd.sock"

    /// A context whose root, kubelet config and crictl.yaml are the fixture's fake root.
    private func context(_ fixture: String, crictl: String = "etc/crictl.yaml",
                         kubelet: String = "var/lib/kubelet/config.yaml") throws -> VerifyContext {
        let root = try ConfigChecksTests.fixtureDir(fixture)
        var paths = VerifyPaths()
        paths.root = root
        paths.crictlConfig = root + "/" + crictl
        paths.kubeletConfig = root + "/" + kubelet
        var ctx = VerifyContext(paths: paths, endpoint: Endpoint(path: Self.live, source: "default"))
        (ctx.kubeletConfig, ctx.kubeletConfigError) = FileChecks.loadKubeletConfig(path: paths.kubeletConfig)
        return ctx
    }

    private func byID(_ results: [CheckResult], group: String, file: StaticString = #filePath, line: UInt = #line) -> [String: CheckResult] {
        for r in results {
            XCTAssertEqual(r.group, group, file: file, line: line)
            XCTAssertFalse(r.evidence.isEmpty, "\(r.id) has no evidence", file: file, line: line)
            if r.status == .warn || r.status == .fail { XCTAssertNotNil(r.fix, "\(r.id) has no fix", file: file, line: line) }
        }
        return Dictionary(uniqueKeysWithValues: results.map { ($0.id, $0) })
    }

    // MARK: - kubelet config, cgroup driver, PID 1

    func testLoadKubeletConfig() throws {
        let ctx = try context("node-good")
        XCTAssertNil(ctx.kubeletConfigError)
        let k = try XCTUnwrap(ctx.kubeletConfig)
        XCTAssertEqual(k["cgroupDriver"], .string("systemd"))
        XCTAssertEqual(k["failSwapOn"], .bool(true))
        XCTAssertEqual(k["maxPods"], .number(110))
        XCTAssertEqual(k["clusterDNS"], .array([.string("10.96.0.10")]))
        XCTAssertEqual(k["evictionHard"]?["memory.available"], .string("100Mi"))

        let (missing, noError) = FileChecks.loadKubeletConfig(path: ctx.paths.root + "/nope.yaml")
        XCTAssertNil(missing)
        XCTAssertNil(noError)
        let (broken, error) = FileChecks.loadKubeletConfig(path: try ConfigChecksTests.fixtureDir("node-swap-allowed") + "/var/lib/kubelet/broken.yaml")
        XCTAssertNil(broken)
        XCTAssertTrue(error?.hasPrefix("cannot parse ") == true, error ?? "nil")
    }

    func testKubeletCgroupDriver() throws {
        let good = try context("node-good")
        let driver = try XCTUnwrap(FileChecks.kubeletCgroupDriver(good))
        XCTAssertEqual(driver.driver, "systemd")
        XCTAssertEqual(driver.source, good.paths.kubeletConfig + ": cgroupDriver")

        let absent = try XCTUnwrap(FileChecks.kubeletCgroupDriver(try context("node-bad")))
        XCTAssertEqual(absent.driver, "cgroupfs")
        XCTAssertTrue(absent.source.contains("cgroupDriver not set"), absent.source)

        var none = good
        none.kubeletConfig = nil
        XCTAssertNil(FileChecks.kubeletCgroupDriver(none))
    }

    func testSystemdIsPID1() throws {
        XCTAssertTrue(FileChecks.systemdIsPID1(root: try ConfigChecksTests.fixtureDir("node-good")))
        XCTAssertFalse(FileChecks.systemdIsPID1(root: try ConfigChecksTests.fixtureDir("node-bad")))
        XCTAssertFalse(FileChecks.systemdIsPID1(root: try ConfigChecksTests.fixtureDir("node-swap-allowed")))
    }

    // MARK: - crictl

    func testCrictlPointsAtLiveSocket() throws {
        let results = FileChecks.crictlChecks(try context("node-good"), isSocket: { $0 == Self.live })
        XCTAssertEqual(results.map(\.id), ["crictl.runtime-endpoint", "crictl.image-endpoint"])
        let c = byID(results, group: "crictl")
        XCTAssertEqual(c["crictl.runtime-endpoint"]?.status, .pass)
        XCTAssertEqual(c["crictl.image-endpoint"]?.status, .pass)
        XCTAssertTrue(c["crictl.runtime-endpoint"]!.evidence.hasSuffix("etc/crictl.yaml: runtime-endpoint"))
    }

    func testCrictlImageEndpointFallsBackToRuntimeEndpoint() throws {
        let c = byID(FileChecks.crictlChecks(try context("node-swap-allowed"), isSocket: { $0 == Self.live }), group: "crictl")
        XCTAssertEqual(c["crictl.runtime-endpoint"]?.status, .pass)
        XCTAssertEqual(c["crictl.image-endpoint"]?.status, .pass)
        XCTAssertTrue(c["crictl.image-endpoint"]!.found.contains("crictl uses runtime-endpoint"))
    }

    func testCrictlPointsElsewhereFails() throws {
        let c = byID(FileChecks.crictlChecks(try context("node-bad"), isSocket: { $0 == Self.live }), group: "crictl")
        let runtime = try XCTUnwrap(c["crictl.runtime-endpoint"])
        XCTAssertEqual(runtime.status, .fail)
        XCTAssertTrue(runtime.found.contains("unix:///var/run/dockershim.sock but containerd listens on \(Self.live)"), runtime.found)
        XCTAssertEqual(runtime.fix, "crictl config --set runtime-endpoint=unix://\(Self.live)")
        let image = try XCTUnwrap(c["crictl.image-endpoint"])
        XCTAssertEqual(image.status, .fail)
        XCTAssertTrue(image.found.contains("not a unix socket"), image.found)
        XCTAssertEqual(image.fix, "crictl config --set image-endpoint=unix://\(Self.live)")
    }

    func testCrictlRightPathButNoSocketFails() throws {
        let c = byID(FileChecks.crictlChecks(try context("node-good"), isSocket: { _ in false }), group: "crictl")
        XCTAssertEqual(c["crictl.runtime-endpoint"]?.status, .fail)
        XCTAssertTrue(c["crictl.runtime-endpoint"]!.found.contains("is not a unix socket"))
        XCTAssertTrue(c["crictl.runtime-endpoint"]!.fix!.contains("systemctl start containerd"))
    }

    func testCrictlMissingFileSkips() throws {
        let results = FileChecks.crictlChecks(try context("node-good", crictl: "etc/none.yaml"), isSocket: { _ in true })
        XCTAssertEqual(results.map(\.status), [.skip, .skip])
        XCTAssertTrue(results[0].found.contains("crictl uses its defaults"))
    }

    func testCrictlUnparsableFails() throws {
        let results = FileChecks.crictlChecks(try context("node-swap-allowed", crictl: "etc/crictl-broken.yaml"), isSocket: { _ in true })
        XCTAssertEqual(results.map(\.status), [.fail, .fail])
        XCTAssertTrue(results[0].found.contains("cannot parse"), results[0].found)
    }

    func testCrictlSymlinkedRunDirectoryIsTheSameSocket() throws {
        // /var/run -> /run on Debian: unix:///var/run/containerd/containerd.sock is the live socket.
        guard (try? FileManager.default.destinationOfSymbolicLink(atPath: "/var/run")) != nil else {
            throw XCTSkip("/var/run is not a symlink here")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-crictl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "runtime-endpoint: unix:///var/run/containerd/containerd.sock\n".write(to: dir.appendingPathComponent("crictl.yaml"), atomically: true, encoding: .utf8)
        var paths = VerifyPaths()
        paths.crictlConfig = dir.appendingPathComponent("crictl.yaml").path
        let ctx = VerifyContext(paths: paths, endpoint: Endpoint(path: Self.live, source: "default"))
        let r = FileChecks.crictlChecks(ctx, isSocket: { _ in true })
        XCTAssertEqual(r[0].status, .pass, r[0].found)
    }

    func testIsSocket() throws {
        XCTAssertFalse(FileChecks.isSocket(try ConfigChecksTests.fixtureDir("node-good") + "/etc/crictl.yaml"))
        XCTAssertFalse(FileChecks.isSocket("/nonexistent/x.sock"))
    }

    // MARK: - kernel

    private let kernelIDs = ["kernel.overlay", "kernel.br_netfilter", "kernel.ip-forward", "kernel.bridge-nf-call-iptables",
                             "kernel.bridge-nf-call-ip6tables", "kernel.ipvs", "kernel.swap"]

    func testKernelGoodNode() throws {
        let results = FileChecks.kernelChecks(try context("node-good"))
        XCTAssertEqual(results.map(\.id), kernelIDs)
        for r in results { XCTAssertEqual(r.status, .pass, "\(r.id): \(r.found)") }
        let c = byID(results, group: "kernel")
        // overlay is found through /sys/module (built in), br_netfilter through /proc/modules.
        XCTAssertTrue(c["kernel.overlay"]!.evidence.hasSuffix("sys/module/overlay"), c["kernel.overlay"]!.evidence)
        XCTAssertTrue(c["kernel.br_netfilter"]!.evidence.hasSuffix("proc/modules: br_netfilter"))
        XCTAssertTrue(c["kernel.ipvs"]!.found.contains("kube-proxy mode is ipvs"))
        XCTAssertEqual(c["kernel.swap"]!.found, "no swap is active")
    }

    func testKernelBadNode() throws {
        let results = FileChecks.kernelChecks(try context("node-bad"))
        XCTAssertEqual(results.map(\.id), kernelIDs)
        let c = byID(results, group: "kernel")
        XCTAssertEqual(c["kernel.overlay"]?.status, .warn)
        XCTAssertTrue(c["kernel.overlay"]!.fix!.contains("modprobe overlay"))
        XCTAssertTrue(c["kernel.overlay"]!.fix!.contains("/etc/modules-load.d/"))
        XCTAssertEqual(c["kernel.br_netfilter"]?.status, .fail)
        XCTAssertEqual(c["kernel.br_netfilter"]?.fix, "modprobe br_netfilter && echo br_netfilter >> /etc/modules-load.d/k8s.conf")

        let forward = try XCTUnwrap(c["kernel.ip-forward"])
        XCTAssertEqual(forward.status, .fail)
        XCTAssertEqual(forward.found.prefix(21), "net.ipv4.ip_forward =")
        XCTAssertEqual(forward.fix, "sysctl -w net.ipv4.ip_forward=1 && echo 'net.ipv4.ip_forward = 1' >> /etc/sysctl.d/99-kubernetes.conf")
        XCTAssertTrue(forward.evidence.hasSuffix("proc/sys/net/ipv4/ip_forward"))

        for id in ["kernel.bridge-nf-call-iptables", "kernel.bridge-nf-call-ip6tables"] {
            XCTAssertEqual(c[id]?.status, .fail)
            XCTAssertTrue(c[id]!.found.contains("br_netfilter not loaded"), c[id]!.found)
            XCTAssertTrue(c[id]!.fix!.hasPrefix("modprobe br_netfilter"))
        }

        let ipvs = try XCTUnwrap(c["kernel.ipvs"])
        XCTAssertEqual(ipvs.status, .fail)
        XCTAssertEqual(ipvs.found, "kube-proxy mode is ipvs but ip_vs_rr, ip_vs_wrr, ip_vs_sh are not loaded")
        XCTAssertTrue(ipvs.fix!.contains("modprobe $m"))
        XCTAssertTrue(ipvs.fix!.contains("/etc/modules-load.d/ipvs.conf"))

        let swap = try XCTUnwrap(c["kernel.swap"])
        XCTAssertEqual(swap.status, .fail)
        XCTAssertTrue(swap.found.contains("/dev/sda3"))
        XCTAssertTrue(swap.evidence.contains("failSwapOn (absent: defaults to true)"), swap.evidence)
        XCTAssertTrue(swap.fix!.hasPrefix("swapoff -a"))
        XCTAssertTrue(swap.fix!.contains("/etc/fstab"))
        XCTAssertTrue(swap.fix!.contains("failSwapOn: false"))
    }

    func testBrNetfilterSeenThroughItsSysctlsWithoutProcModules() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-br-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let bridge = root.appendingPathComponent("proc/sys/net/bridge")
        try FileManager.default.createDirectory(at: bridge, withIntermediateDirectories: true)
        try "1\n".write(to: bridge.appendingPathComponent("bridge-nf-call-iptables"), atomically: true, encoding: .utf8)
        var paths = VerifyPaths()
        paths.root = root.path
        let c = byID(FileChecks.kernelChecks(VerifyContext(paths: paths, endpoint: Endpoint(path: Self.live, source: "default"))),
                     group: "kernel")
        XCTAssertEqual(c["kernel.br_netfilter"]?.status, .pass)
        XCTAssertTrue(c["kernel.br_netfilter"]!.evidence.hasSuffix("bridge-nf-call-iptables exists"))
        XCTAssertEqual(c["kernel.bridge-nf-call-iptables"]?.status, .pass)
        XCTAssertEqual(c["kernel.bridge-nf-call-ip6tables"]?.status, .fail)
    }

    func testSysctlValueZeroVsMissing() throws {
        let c = byID(FileChecks.kernelChecks(try context("node-bad")), group: "kernel")
        XCTAssertEqual(c["kernel.ip-forward"]?.found, "net.ipv4.ip_forward = 0: pods cannot reach anything off the node")
    }

    func testSwapAllowedByKubeletAndNonIPVSMode() throws {
        let c = byID(FileChecks.kernelChecks(try context("node-swap-allowed")), group: "kernel")
        XCTAssertEqual(c["kernel.swap"]?.status, .pass)
        XCTAssertTrue(c["kernel.swap"]!.found.contains("failSwapOn: false"))
        XCTAssertEqual(c["kernel.ipvs"]?.status, .skip)
        XCTAssertEqual(c["kernel.ipvs"]?.found, "kube-proxy mode is iptables, not ipvs")
        // No /proc/sys at all: the sysctls cannot be read.
        XCTAssertEqual(c["kernel.ip-forward"]?.status, .fail)
        XCTAssertTrue(c["kernel.ip-forward"]!.found.contains("cannot be read"))
    }

    func testSwapWithoutKubeletConfigDefaultsToFailSwapOn() throws {
        var ctx = try context("node-bad")
        ctx.kubeletConfig = nil
        let swap = FileChecks.swapCheck(ctx)
        XCTAssertEqual(swap.status, .fail)
        XCTAssertTrue(swap.evidence.contains("absent: failSwapOn defaults to true"), swap.evidence)
    }

    func testIPVSSkipsWithoutKubeProxyConfig() throws {
        var paths = VerifyPaths()
        paths.root = try ConfigChecksTests.fixtureDir("config-good")
        let r = FileChecks.ipvsCheck(paths, modules: [])
        XCTAssertEqual(r.status, .skip)
        XCTAssertTrue(r.found.contains("does not exist"))
    }

    func testSwapSkipsWithoutProcSwaps() throws {
        var paths = VerifyPaths()
        paths.root = try ConfigChecksTests.fixtureDir("config-good")
        let r = FileChecks.swapCheck(VerifyContext(paths: paths, endpoint: Endpoint(path: Self.live, source: "default")))
        XCTAssertEqual(r.status, .skip)
    }
}
