import Foundation
import XCTest
@testable import KctrCore
@testable import KctrRPC

/// The `pause` group from facts: the sandbox image (named by the status on 1.x, by config.toml or the
/// release's default on 2.x), its ImageStatus, record, snapshot and the running sandboxes.
final class PauseGroupTests: XCTestCase {
    private let image = "registry.k8s.io/pause:3.9"

    private func record() -> ImageRecord {
        ImageRecord(name: image, labels: [:], target: Descriptor(mediaType: "application/vnd.oci.image.index.v1+json", digest: "sha256:7031c1b2", size: 2_405))
    }

    private func resolved(unpacked: Bool, problem: String? = nil) -> ImageCatalog.Resolved {
        ImageCatalog.Resolved(size: 321_538, configDigest: "sha256:e6f18168", chainID: problem == nil ? "sha256:e3e5579d" : nil,
                              unpacked: unpacked, problem: problem)
    }

    private func pause(daemon: String = "1.7.20", snapshotter: String = "overlayfs", criImage: CRIImage?, record: ImageRecord?,
                       resolved: ImageCatalog.Resolved?, sandboxes: Fact<[RunningSandbox]> = .known([]),
                       source: SandboxImage.Source = .daemon, kubelet: Int? = nil, fileVersion: Int? = nil,
                       file: StaticString = #filePath, line: UInt = #line) -> [String: CheckResult] {
        var f = VerifyFixtures.answered(daemon)
        f.daemon.criStatus = .known(VerifyFixtures.status(#"{"sandboxImage": "\#(image)", "containerd": {"snapshotter": "\#(snapshotter)"}}"#))
        if let kubelet { f.kubelet.version = .known(KubeletRelease(minor: kubelet)) }
        if let fileVersion { f.config.merged = .object(["version": .number(Double(fileVersion))]) }
        f.pause = PauseFacts(image: SandboxImage(name: image, source: source), criImage: .known(criImage), record: .known(record),
                             resolved: resolved, sandboxes: sandboxes)
        let results = PauseGroup.results(f)
        XCTAssertEqual(results.map(\.id), Check.of(.pause).map(\.id), file: file, line: line)
        return byID(results, group: "pause", file: file, line: line)
    }

    func testPresentUnpackedPinnedPass() throws {
        let c = pause(criImage: try VerifyFixtures.criImage(pinned: true), record: record(), resolved: resolved(unpacked: true))
        XCTAssertEqual(c["pause.present"]?.status, .pass)
        XCTAssertEqual(c["pause.unpacked"]?.found, "\(image) is unpacked for overlayfs")
        XCTAssertTrue(c["pause.unpacked"]!.evidence.contains("chain ID sha256:e3e5579d"))
        XCTAssertEqual(c["pause.pinned"]?.status, .pass)
        XCTAssertEqual(c["pause.in-use"]?.found, "no running sandboxes")
    }

    func testInStoreButNotInCRIWarns() {
        let c = pause(criImage: nil, record: record(), resolved: resolved(unpacked: true))
        XCTAssertEqual(c["pause.present"]?.status, .warn)
        assertFix(c["pause.present"], "restart containerd", "kctr import pause.tar")
        XCTAssertEqual(c["pause.pinned"]?.status, .skip)
    }

    func testNotUnpackedWarnsAndUnresolvableFails() throws {
        let c = pause(snapshotter: "native", criImage: try VerifyFixtures.criImage(pinned: true), record: record(), resolved: resolved(unpacked: false))
        XCTAssertEqual(c["pause.unpacked"]?.status, .warn)
        assertFound(c["pause.unpacked"], "not unpacked for CRI's snapshotter native")
        assertFix(c["pause.unpacked"], "ctr -n k8s.io images unpack --snapshotter native registry.k8s.io/pause:3.9", "kctr import pause.tar")
        let bad = pause(criImage: try VerifyFixtures.criImage(pinned: true), record: record(),
                        resolved: resolved(unpacked: false, problem: "content missing: content digest sha256:7031c1b2: not found"))
        XCTAssertEqual(bad["pause.unpacked"]?.status, .fail)
        assertFound(bad["pause.unpacked"], "cannot be resolved: content missing")
        assertFix(bad["pause.unpacked"], "remove and re-import it", "crictl pull registry.k8s.io/pause:3.9")
    }

    func testAbsentFailsNamingTheKeyOfTheFilesVersion() {
        let c = pause(criImage: nil, record: nil, resolved: nil)
        XCTAssertEqual(c["pause.present"]?.status, .fail)
        assertFix(c["pause.present"], "crictl pull registry.k8s.io/pause:3.9", "sandbox_image in [plugins.\"io.containerd.grpc.v1.cri\"]")
        XCTAssertEqual(c["pause.unpacked"]?.status, .skip)
        // 2.x ignores sandbox_image: its key is pinned_images.sandbox in the images table.
        for version in [3, 4] {
            let v2 = pause(daemon: "v2.3.4", criImage: nil, record: nil, resolved: nil,
                           source: .file("/etc/containerd/config.toml: plugins.'io.containerd.cri.v1.images'.pinned_images.sandbox"), fileVersion: version)
            assertFix(v2["pause.present"], "pinned_images.sandbox in [plugins.'io.containerd.cri.v1.images'] of /etc/containerd/config.toml")
            XCTAssertFalse(v2["pause.present"]!.fix!.contains("sandbox_image"), v2["pause.present"]!.fix!)
            XCTAssertTrue(v2["pause.present"]!.evidence.contains("(containerd 2.3 does not report its sandbox image)"), v2["pause.present"]!.evidence)
        }
    }

    func testPinning() throws {
        let p17 = pause(daemon: "1.7.13", criImage: try VerifyFixtures.criImage(pinned: false), record: record(), resolved: resolved(unpacked: true))["pause.pinned"]
        XCTAssertEqual(p17?.status, .warn)
        XCTAssertTrue(p17!.evidence.hasPrefix("runtime.v1.ImageService/ImageStatus: image.pinned = false"))
        assertFix(p17, "ctr -n k8s.io images label registry.k8s.io/pause:3.9 io.cri-containerd.pinned=pinned")
        // 2.x pins its configured sandbox image itself: unpinned means it runs with another one.
        let p2 = pause(daemon: "v2.3.4", criImage: try VerifyFixtures.criImage(pinned: false), record: record(), resolved: resolved(unpacked: true),
                       source: .releaseDefault(ContainerdRelease(2, 3, 4)))["pause.pinned"]
        XCTAssertEqual(p2?.status, .warn)
        assertFound(p2, "it runs with another one")
        assertFix(p2, "systemctl restart containerd", "config.drift")
        // 1.6 has no pinning.
        let p16 = pause(daemon: "1.6.20", criImage: try VerifyFixtures.criImage(pinned: false), record: record(), resolved: resolved(unpacked: true))["pause.pinned"]
        XCTAssertEqual(p16?.status, .skip)
        assertFound(p16, "no image pinning (added in 1.7)")
    }

    func testInUse() throws {
        let sandboxes: [RunningSandbox] = [
            .init(name: "coredns-5d78c9869d-abcde", namespace: "kube-system", image: image),
            // By repo digest, by image id: the configured image.
            .init(name: "kube-proxy-x1", namespace: "kube-system", image: "registry.k8s.io/pause@sha256:abcd"),
            .init(name: "web-0", namespace: "default", image: "sha256:pauseid"),
            .init(name: "old", namespace: "default", image: nil),
        ]
        let ok = pause(criImage: try VerifyFixtures.criImage(pinned: true), record: record(), resolved: resolved(unpacked: true), sandboxes: .known(sandboxes))
        XCTAssertEqual(ok["pause.in-use"]?.found, "all 3 running sandboxes use \(image) (1 did not say)")

        let other = pause(criImage: try VerifyFixtures.criImage(pinned: true), record: record(), resolved: resolved(unpacked: true),
                          sandboxes: .known([sandboxes[0], .init(name: "web-0", namespace: "default", image: "registry.k8s.io/pause:3.6")]))
        XCTAssertEqual(other["pause.in-use"]?.status, .warn)
        XCTAssertEqual(other["pause.in-use"]?.found, "1 of 2 running sandboxes use another image than \(image): default/web-0 uses registry.k8s.io/pause:3.6")
        assertFix(other["pause.in-use"], "--pod-infra-container-image", "sandbox_image in [plugins.\"io.containerd.grpc.v1.cri\"] of /etc/containerd/config.toml", "drain the node")

        let failed = pause(criImage: nil, record: record(), resolved: resolved(unpacked: true), sandboxes: .unknown(KctrError("listing sandboxes: DeadlineExceeded")))
        XCTAssertEqual(failed["pause.in-use"]?.found, "cannot list sandboxes: listing sandboxes: DeadlineExceeded")
    }

    // MARK: pause.version

    func testSandboxImageOnK8sGcrIoWarns() throws {
        var f = VerifyFixtures.answered("1.7.20")
        f.daemon.criStatus = .known(VerifyFixtures.status(#"{"sandboxImage": "k8s.gcr.io/pause:3.4.1"}"#))
        f.pause = PauseFacts(image: SandboxImage(name: "k8s.gcr.io/pause:3.4.1", source: .daemon), criImage: .known(nil), record: .known(nil),
                             resolved: nil, sandboxes: .known([]))
        let v = byID(PauseGroup.results(f), group: "pause")["pause.version"]
        XCTAssertEqual(v?.status, .warn)
        assertFound(v, "k8s.gcr.io, frozen since April 2023")
        assertFix(v, "set `sandbox_image = \"registry.k8s.io/pause:3.4.1\"` in [plugins.\"io.containerd.grpc.v1.cri\"]")
        f.kubelet.version = .known(KubeletRelease(minor: 31))
        assertFix(byID(PauseGroup.results(f), group: "pause")["pause.version"], "\"registry.k8s.io/pause:3.10\"")
    }

    func testOlderThanTheKubeletExpectsWarns() throws {
        let old = pause(criImage: nil, record: nil, resolved: nil, kubelet: 33)["pause.version"]
        XCTAssertEqual(old?.status, .warn)
        XCTAssertEqual(old?.found, "the sandbox image registry.k8s.io/pause:3.9 is older than pause 3.10, which the kubelet 1.33.0 (kubeadm) expects")
        assertFix(old, "set `sandbox_image = \"registry.k8s.io/pause:3.10\"`")
        let v4 = pause(daemon: "v2.3.4", criImage: nil, record: nil, resolved: nil, kubelet: 35, fileVersion: 4)["pause.version"]
        assertFix(v4, "set `pinned_images.sandbox = \"registry.k8s.io/pause:3.10.1\"` in [plugins.'io.containerd.cri.v1.images']")
        XCTAssertEqual(pause(criImage: nil, record: nil, resolved: nil, kubelet: 29)["pause.version"]?.status, .pass)
        let unknown = pause(criImage: nil, record: nil, resolved: nil)["pause.version"]
        XCTAssertEqual(unknown?.status, .pass)
        assertFound(unknown, "not compared with it")
    }

    func testWithoutDaemonOrCRISkips() {
        XCTAssertEqual(PauseGroup.results(VerifyFixtures.facts()).map(\.status), [.skip, .skip, .skip, .skip, .skip])
        var noCRI = VerifyFixtures.answered("1.7.20")
        noCRI.daemon.criStatus = .unknown(KctrError("not serving"))
        XCTAssertTrue(PauseGroup.results(noCRI).allSatisfy { $0.status == .skip && $0.found == "CRI is not serving (see daemon.cri-plugin)" })
    }

    /// Where the sandbox image's name comes from on each version.
    func testTheDaemonsOwnWordFirstThenTheFilesKeyThenTheReleaseDefault() throws {
        var v16 = VerifyFixtures.answered("1.6.20")
        v16.daemon.criStatus = .known(VerifyFixtures.status(#"{"sandboxImage": "registry.k8s.io/pause:3.9"}"#))
        XCTAssertEqual(v16.sandboxImage, SandboxImage(name: "registry.k8s.io/pause:3.9", source: .daemon))

        var v2 = VerifyFixtures.answered("v2.0.1", config: "/etc/containerd/config.toml")
        v2.daemon.criStatus = .known(VerifyFixtures.status("{}"))
        XCTAssertEqual(v2.sandboxImage, SandboxImage(name: "registry.k8s.io/pause:3.10", source: .releaseDefault(ContainerdRelease(2, 0, 1))))
        v2.config.merged = try TOML.parse("version = 3\n[plugins.'io.containerd.cri.v1.images'.pinned_images]\nsandbox = 'registry.local/pause:3.10'\n")
        XCTAssertEqual(v2.sandboxImage?.name, "registry.local/pause:3.10")
        // A version 2 file read by 2.x keeps it as sandbox_image.
        v2.config.merged = try TOML.parse("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\nsandbox_image = \"registry.local/pause:3.9\"\n")
        XCTAssertEqual(v2.sandboxImage?.name, "registry.local/pause:3.9")
        var v23 = VerifyFixtures.answered("v2.3.4")
        v23.daemon.criStatus = .known(VerifyFixtures.status("{}"))
        XCTAssertEqual(v23.sandboxImage?.name, "registry.k8s.io/pause:3.10.2")
    }
}
