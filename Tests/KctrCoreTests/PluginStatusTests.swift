import Foundation
import XCTest
import KctrCore
import KctrRPC

/// `PluginRecord` has no public memberwise initialiser; it is public
/// Decodable, so the records are built from JSON.
final class PluginStatusTests: XCTestCase {
    private func record(type: String = "io.containerd.snapshotter.v1", id: String, initError: String?) throws -> PluginRecord {
        var object: [String: Any] = [
            "type": type, "id": id,
            "requires": ["io.containerd.content.v1"],
            "platforms": [["os": "linux", "architecture": "amd64", "variant": ""],
                          ["os": "linux", "architecture": "arm", "variant": "v7"]],
            "exports": ["root": "/var/lib/containerd/\(type).\(id)"],
            "capabilities": ["remap-ids"],
        ]
        if let initError { object["initError"] = initError }
        let data = try JSONSerialization.data(withJSONObject: object)
        return try JSONDecoder().decode(PluginRecord.self, from: data)
    }

    func testOk() throws {
        let s = PluginStatus(try record(id: "overlayfs", initError: nil))
        XCTAssertEqual(s.status, "ok")
        XCTAssertNil(s.initError)
        XCTAssertEqual(s.type, "io.containerd.snapshotter.v1")
        XCTAssertEqual(s.id, "overlayfs")
        XCTAssertEqual(s.platforms, ["linux/amd64", "linux/arm/v7"])
        XCTAssertEqual(s.requires, ["io.containerd.content.v1"])
        XCTAssertEqual(s.capabilities, ["remap-ids"])
        XCTAssertEqual(s.exports, ["root": "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs"])
    }

    func testSkip() throws {
        let s = PluginStatus(try record(id: "btrfs", initError: "path /var/lib/containerd/io.containerd.snapshotter.v1.btrfs (ext4) must be a btrfs filesystem to be used with the btrfs snapshotter: skip plugin"))
        XCTAssertEqual(s.status, "skip")
        XCTAssertEqual(s.initError, "path /var/lib/containerd/io.containerd.snapshotter.v1.btrfs (ext4) must be a btrfs filesystem to be used with the btrfs snapshotter: skip plugin")
    }

    func testError() throws {
        let s = PluginStatus(try record(type: "io.containerd.grpc.v1", id: "cri", initError: "failed to create CRI service: invalid config"))
        XCTAssertEqual(s.status, "error")
        XCTAssertEqual(s.initError, "failed to create CRI service: invalid config")
        XCTAssertEqual(PluginStatus(try record(id: "x", initError: "error code 13")).status, "error")
    }

    func testOrderingByTypeThenID() throws {
        let a = PluginStatus(try record(type: "io.containerd.content.v1", id: "content", initError: nil))
        let b = PluginStatus(try record(type: "io.containerd.snapshotter.v1", id: "btrfs", initError: nil))
        let c = PluginStatus(try record(type: "io.containerd.snapshotter.v1", id: "overlayfs", initError: nil))
        XCTAssertEqual([c, a, b].sorted().map(\.id), ["content", "btrfs", "overlayfs"])
        XCTAssertTrue(b < c)
        XCTAssertFalse(c < b)
    }
}
