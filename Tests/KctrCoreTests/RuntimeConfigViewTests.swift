import Foundation
import XCTest
@testable import KctrCore

final class RuntimeConfigViewTests: XCTestCase {
    private func fixture(_ name: String) throws -> JSONValue {
        let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"),
                                "fixture \(name).json is not in the test bundle")
        return try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: url))
    }

    /// `kctr info -o json` against containerd 1.6.20: its "info"."config" is CRI's verbose Status config.
    func testContainerd16Config() throws {
        let info = try fixture("cri-status-info-1.6")
        let config = try XCTUnwrap(info["info"]?["config"])
        let view = RuntimeConfigView(configJSON: config)

        XCTAssertEqual(view.snapshotter, "overlayfs")
        XCTAssertEqual(view.sandboxImage, "registry.k8s.io/pause:3.9")
        XCTAssertEqual(view.defaultRuntime, "runc")
        XCTAssertEqual(view.systemdCgroupLegacy, false)
        XCTAssertEqual(view.cniBinDir, "/usr/lib/cni")
        XCTAssertEqual(view.cniConfDir, "/etc/cni/net.d")
        XCTAssertEqual(view.rootDir, "/var/lib/containerd/io.containerd.grpc.v1.cri")
        XCTAssertEqual(view.stateDir, "/run/containerd/io.containerd.grpc.v1.cri")

        XCTAssertEqual(view.runtimes.map(\.name), ["runc"])
        let runc = try XCTUnwrap(view.runtimes.first)
        XCTAssertEqual(runc.runtimeType, "io.containerd.runc.v2")
        XCTAssertEqual(runc.systemdCgroup, false)
        XCTAssertNil(runc.binaryName)
        XCTAssertEqual(runc.root, "/run/containerd/runc")
    }

    /// The same file holds the view kctr printed ("runtime"): the encoded view must equal it.
    func testEncodedViewMatchesWhatKctrPrinted() throws {
        let info = try fixture("cri-status-info-1.6")
        let view = RuntimeConfigView(configJSON: try XCTUnwrap(info["info"]?["config"]))
        let encoded = try JSONDecoder().decode(JSONValue.self, from: Data(try Render.json(view).utf8))
        XCTAssertEqual(encoded, info["runtime"])
    }

    func testSystemdCgroupVariant() throws {
        let view = RuntimeConfigView(configJSON: try fixture("cri-config-systemd-cgroup"))
        XCTAssertEqual(view.snapshotter, "native")
        XCTAssertEqual(view.sandboxImage, "registry.k8s.io/pause:3.10")
        XCTAssertEqual(view.defaultRuntime, "crun")
        XCTAssertEqual(view.systemdCgroupLegacy, false)

        // Sorted by name.
        XCTAssertEqual(view.runtimes.map(\.name), ["crun", "runc"])
        let crun = view.runtimes[0]
        XCTAssertEqual(crun.runtimeType, "io.containerd.runc.v2")
        XCTAssertEqual(crun.systemdCgroup, true)
        XCTAssertEqual(crun.binaryName, "/usr/bin/crun")
        XCTAssertNil(crun.root)
        let runc = view.runtimes[1]
        XCTAssertEqual(runc.runtimeType, "io.containerd.runc.v2")
        XCTAssertEqual(runc.systemdCgroup, true)
        XCTAssertEqual(runc.binaryName, "/usr/local/sbin/runc")
        XCTAssertEqual(runc.root, "/run/containerd/runc")
    }

    func testEmptyAndPartialConfigs() {
        let empty = RuntimeConfigView(configJSON: .null)
        XCTAssertNil(empty.snapshotter)
        XCTAssertNil(empty.sandboxImage)
        XCTAssertNil(empty.defaultRuntime)
        XCTAssertEqual(empty.runtimes, [])
        XCTAssertNil(empty.systemdCgroupLegacy)

        let partial = RuntimeConfigView(configJSON: JSONValue.parse(
            #"{"containerd":{"runtimes":{"kata":{"runtimeType":"io.containerd.kata.v2","options":null},"x":{}}}}"#))
        XCTAssertEqual(partial.runtimes.map(\.name), ["kata", "x"])
        XCTAssertEqual(partial.runtimes[0].runtimeType, "io.containerd.kata.v2")
        XCTAssertNil(partial.runtimes[0].systemdCgroup)
        XCTAssertEqual(partial.runtimes[1].runtimeType, "")
        XCTAssertNil(partial.snapshotter)
    }

    func testFromStatusWithoutConfigIsEmpty() {
        // Not valid JSON: parsed as a string, which has no keys.
        let view = RuntimeConfigView(configJSON: JSONValue.parse("{not json"))
        XCTAssertEqual(view.runtimes, [])
        XCTAssertNil(view.snapshotter)
    }
}
