import Foundation
import XCTest
@testable import KctrCore

/// The node's files: the kubelet's config, crictl.yaml and the kernel's /proc and /sys, from fake roots
/// (Fixtures/verify/node-*), gathered as the gatherer does, then checked by the `crictl` and `kernel` groups.
final class NodeGroupTests: XCTestCase {
    static let live = "/run/containerd/containerd.sock"

    /// Facts whose root, kubelet config and crictl.yaml are the fixture's fake root (no daemon: kube-proxy
    /// is read from the root's /var/lib/kube-proxy/config.conf).
    private func facts(_ fixture: String, crictl: String = "etc/crictl.yaml", kubelet: String = "var/lib/kubelet/config.yaml",
                       sockets: [String: Bool]? = nil) throws -> VerifyFacts {
        let root = try VerifyFixtures.dir(fixture)
        var f = VerifyFixtures.facts(root: root, kubelet: root + "/" + kubelet, socket: Self.live)
        f.paths.crictlConfig = root + "/" + crictl
        (f.kubelet.config, f.kubelet.configError) = NodeFiles.loadKubeletConfig(path: f.paths.kubeletConfig)
        f.host = VerifyGatherer.host(f.paths)
        f.kernel = VerifyGatherer.kernel(f.paths)
        f.kubeProxy = VerifyGatherer.kubeProxyFromHost(f.paths)
        f.crictl = VerifyGatherer.crictl(f.paths, live: Self.live)
        if let sockets { f.crictl?.sockets = sockets }
        return f
    }

    // MARK: kubelet config, cgroup driver, PID 1

    func testLoadKubeletConfig() throws {
        let f = try facts("node-good")
        XCTAssertNil(f.kubelet.configError)
        let k = try XCTUnwrap(f.kubelet.config)
        XCTAssertEqual(k["cgroupDriver"], .string("systemd"))
        XCTAssertEqual(k["maxPods"], .number(110))
        XCTAssertEqual(k["evictionHard"]?["memory.available"], .string("100Mi"))
        let (missing, noError) = NodeFiles.loadKubeletConfig(path: f.paths.root + "/nope.yaml")
        XCTAssertNil(missing)
        XCTAssertNil(noError)
        let (broken, error) = NodeFiles.loadKubeletConfig(path: try VerifyFixtures.dir("node-swap-allowed") + "/var/lib/kubelet/broken.yaml")
        XCTAssertNil(broken)
        XCTAssertTrue(error?.hasPrefix("cannot parse ") == true, error ?? "nil")
    }

    func testKubeletCgroupDriverAndPID1() throws {
        let good = try facts("node-good")
        XCTAssertEqual(good.kubeletCgroupDriver?.driver, "systemd")
        XCTAssertEqual(good.kubeletCgroupDriver?.source, good.paths.kubeletConfig + ": cgroupDriver")
        let bad = try facts("node-bad")
        XCTAssertEqual(bad.kubeletCgroupDriver?.driver, "cgroupfs")
        XCTAssertTrue(bad.kubeletCgroupDriver?.source.contains("cgroupDriver not set") == true)
        var none = good
        none.kubelet.config = nil
        XCTAssertNil(none.kubeletCgroupDriver)
        XCTAssertTrue(good.host.pid1IsSystemd)
        XCTAssertFalse(bad.host.pid1IsSystemd)
        XCTAssertFalse(try facts("node-swap-allowed").host.pid1IsSystemd)
    }

    // MARK: crictl

    private func crictl(_ f: VerifyFacts, file: StaticString = #filePath, line: UInt = #line) -> [String: CheckResult] {
        let results = CrictlGroup.results(f)
        XCTAssertEqual(results.map(\.id), Check.of(.crictl).map(\.id), file: file, line: line)
        return byID(results, group: "crictl", file: file, line: line)
    }

    func testCrictlPointsAtTheLiveSocket() throws {
        let c = crictl(try facts("node-good", sockets: [Self.live: true]))
        XCTAssertEqual(c["crictl.runtime-endpoint"]?.status, .pass)
        XCTAssertEqual(c["crictl.image-endpoint"]?.status, .pass)
        XCTAssertTrue(c["crictl.runtime-endpoint"]!.evidence.hasSuffix("etc/crictl.yaml: runtime-endpoint"))
        let fallback = crictl(try facts("node-swap-allowed", sockets: [Self.live: true]))
        XCTAssertEqual(fallback["crictl.image-endpoint"]?.status, .pass)
        assertFound(fallback["crictl.image-endpoint"], "crictl uses runtime-endpoint")
    }

    func testCrictlPointsElsewhereOrAtNoSocketFails() throws {
        let c = crictl(try facts("node-bad", sockets: [Self.live: true]))
        assertFound(c["crictl.runtime-endpoint"], "unix:///var/run/dockershim.sock but containerd listens on \(Self.live)")
        XCTAssertEqual(c["crictl.runtime-endpoint"]?.fix, "crictl config --set runtime-endpoint=unix://\(Self.live)")
        assertFound(c["crictl.image-endpoint"], "not a unix socket")
        let dead = crictl(try facts("node-good", sockets: [:]))
        XCTAssertEqual(dead["crictl.runtime-endpoint"]?.status, .fail)
        assertFix(dead["crictl.runtime-endpoint"], "systemctl start containerd")
    }

    func testCrictlMissingSkipsAndUnparsableFails() throws {
        let missing = CrictlGroup.results(try facts("node-good", crictl: "etc/none.yaml"))
        XCTAssertEqual(missing.map(\.status), [.skip, .skip])
        assertFound(missing[0], "crictl uses its defaults")
        let broken = CrictlGroup.results(try facts("node-swap-allowed", crictl: "etc/crictl-broken.yaml"))
        XCTAssertEqual(broken.map(\.status), [.fail, .fail])
        assertFound(broken[0], "cannot parse")
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
        var f = VerifyFixtures.facts(socket: Self.live)
        f.paths.crictlConfig = dir.appendingPathComponent("crictl.yaml").path
        f.crictl = VerifyGatherer.crictl(f.paths, live: Self.live)
        f.crictl?.sockets = ["/var/run/containerd/containerd.sock": true, Self.live: true]
        XCTAssertEqual(CrictlGroup.results(f)[0].status, .pass, CrictlGroup.results(f)[0].found)
    }

    func testIsSocket() throws {
        XCTAssertFalse(HostProbes.isSocket(try VerifyFixtures.dir("node-good") + "/etc/crictl.yaml"))
        XCTAssertFalse(HostProbes.isSocket("/nonexistent/x.sock"))
    }

    // MARK: kernel

    private func kernel(_ f: VerifyFacts, file: StaticString = #filePath, line: UInt = #line) -> [String: CheckResult] {
        let results = KernelGroup.results(f)
        XCTAssertEqual(results.map(\.id), Check.of(.kernel).map(\.id), file: file, line: line)
        return byID(results, group: "kernel", file: file, line: line)
    }

    func testKernelGoodNode() throws {
        let c = kernel(try facts("node-good"))
        for (id, r) in c { XCTAssertEqual(r.status, .pass, "\(id): \(r.found)") }
        // overlay is found through /sys/module (built in), br_netfilter through /proc/modules.
        XCTAssertTrue(c["kernel.overlay"]!.evidence.hasSuffix("sys/module/overlay"), c["kernel.overlay"]!.evidence)
        XCTAssertTrue(c["kernel.br_netfilter"]!.evidence.hasSuffix("proc/modules: br_netfilter"))
        assertFound(c["kernel.ipvs"], "kube-proxy mode is ipvs")
        XCTAssertEqual(c["kernel.swap"]?.found, "no swap is active")
    }

    func testKernelBadNode() throws {
        let c = kernel(try facts("node-bad"))
        XCTAssertEqual(c["kernel.overlay"]?.status, .warn)
        assertFix(c["kernel.overlay"], "modprobe overlay", "/etc/modules-load.d/")
        XCTAssertEqual(c["kernel.br_netfilter"]?.fix, "modprobe br_netfilter && echo br_netfilter >> /etc/modules-load.d/k8s.conf")
        XCTAssertEqual(c["kernel.ip-forward"]?.found, "net.ipv4.ip_forward = 0: pods cannot reach anything off the node")
        XCTAssertEqual(c["kernel.ip-forward"]?.fix, "sysctl -w net.ipv4.ip_forward=1 && echo 'net.ipv4.ip_forward = 1' >> /etc/sysctl.d/99-kubernetes.conf")
        for id in ["kernel.bridge-nf-call-iptables", "kernel.bridge-nf-call-ip6tables"] {
            XCTAssertEqual(c[id]?.status, .fail)
            assertFound(c[id], "br_netfilter not loaded")
        }
        XCTAssertEqual(c["kernel.ipvs"]?.found, "kube-proxy mode is ipvs but ip_vs_rr, ip_vs_wrr, ip_vs_sh are not loaded")
        assertFix(c["kernel.ipvs"], "modprobe $m", "/etc/modules-load.d/ipvs.conf")
        assertFound(c["kernel.swap"], "/dev/sda3")
        XCTAssertTrue(c["kernel.swap"]!.evidence.contains("failSwapOn (absent: defaults to true)"))
        assertFix(c["kernel.swap"], "swapoff -a", "/etc/fstab", "failSwapOn: false")
    }

    func testBrNetfilterSeenThroughItsSysctlsWithoutProcModules() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-br-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let bridge = root.appendingPathComponent("proc/sys/net/bridge")
        try FileManager.default.createDirectory(at: bridge, withIntermediateDirectories: true)
        try "1\n".write(to: bridge.appendingPathComponent("bridge-nf-call-iptables"), atomically: true, encoding: .utf8)
        var f = VerifyFixtures.facts(root: root.path)
        f.kernel = VerifyGatherer.kernel(f.paths)
        let c = kernel(f)
        XCTAssertEqual(c["kernel.br_netfilter"]?.status, .pass)
        XCTAssertTrue(c["kernel.br_netfilter"]!.evidence.hasSuffix("bridge-nf-call-iptables exists"))
        XCTAssertEqual(c["kernel.bridge-nf-call-ip6tables"]?.status, .fail)
        XCTAssertEqual(c["kernel.swap"]?.status, .skip)
    }

    func testSwapAllowedByKubeletAndNonIPVSMode() throws {
        let c = kernel(try facts("node-swap-allowed"))
        XCTAssertEqual(c["kernel.swap"]?.status, .pass)
        assertFound(c["kernel.swap"], "failSwapOn: false")
        XCTAssertEqual(c["kernel.ipvs"]?.found, "kube-proxy mode is iptables, not ipvs")
        assertFound(c["kernel.ip-forward"], "cannot be read")
    }

    func testIPVSSkipsWithoutKubeProxy() throws {
        var f = try facts("config-good")
        f.kubeProxy = VerifyGatherer.kubeProxyFromHost(f.paths)
        let r = kernel(f)["kernel.ipvs"]
        XCTAssertEqual(r?.status, .skip)
        assertFound(r, "no running kube-proxy container and no", "kube-proxy's mode is unknown")
    }

    /// On kubeadm nodes config.conf exists only inside the kube-proxy pod: kctr reads kube-proxy's
    /// arguments and, through /proc/PID/root, the file they name.
    func testKubeProxyModeFromTheRunningContainer() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-kp-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let inside = root + "/proc/4321/root/var/lib/kube-proxy"
        try FileManager.default.createDirectory(atPath: inside, withIntermediateDirectories: true)
        try "kind: KubeProxyConfiguration\nmode: ipvs\n".write(toFile: inside + "/config.conf", atomically: true, encoding: .utf8)
        var paths = VerifyPaths()
        paths.root = root
        let args = ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--hostname-override=node-1"]
        let fromFile = KubeProxyArguments.mode(args: args, container: "0123456789ab", pid: 4321, paths: paths).value
        XCTAssertEqual(fromFile?.mode, "ipvs")
        XCTAssertEqual(fromFile?.evidence, "the kube-proxy container 0123456789ab: --config /var/lib/kube-proxy/config.conf (\(inside)/config.conf): mode")
        let flag = KubeProxyArguments.mode(args: ["kube-proxy", "--proxy-mode", "nftables", "--config=/x"], container: "c", pid: nil, paths: paths)
        XCTAssertEqual(flag.value?.mode, "nftables")
        let gone = KubeProxyArguments.mode(args: ["kube-proxy", "--config=/etc/none.conf"], container: "c", pid: 4321, paths: paths)
        XCTAssertTrue(gone.problem?.message.contains("does not exist") == true, "\(gone)")
        XCTAssertEqual(KubeProxyArguments.mode(args: ["kube-proxy"], container: "c", pid: 1, paths: paths).value?.mode, "")

        // A ConfigMap's relative symlinks are followed; anything that would leave the container's root is not.
        let croot = root + "/proc/4321/root"
        try FileManager.default.createDirectory(atPath: croot + "/cm/..2024_01", withIntermediateDirectories: true)
        try "mode: nftables\n".write(toFile: croot + "/cm/..2024_01/config.conf", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: croot + "/cm/..data", withDestinationPath: "..2024_01")
        try FileManager.default.createSymbolicLink(atPath: croot + "/cm/config.conf", withDestinationPath: "..data/config.conf")
        try FileManager.default.createSymbolicLink(atPath: croot + "/cm/host.conf", withDestinationPath: "/etc/hostname")
        XCTAssertEqual(KubeProxyArguments.mode(args: ["kube-proxy", "--config=/cm/config.conf"], container: "c", pid: 4321, paths: paths).value?.mode, "nftables")
        for escape in ["/cm/host.conf", "/../../../etc/hostname"] {
            let refused = KubeProxyArguments.mode(args: ["kube-proxy", "--config=" + escape], container: "c", pid: 4321, paths: paths)
            XCTAssertEqual(refused.problem?.message, "the kube-proxy container c names --config \(escape), which leads out of the container (an absolute symlink or ..): not read")
        }
    }
}
