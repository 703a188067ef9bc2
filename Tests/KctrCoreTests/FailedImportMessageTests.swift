import Foundation
import XCTest
@testable import KctrCore
import KctrRPC

/// The pure parts of the fault handling: the full-disk message and what a
/// failed import says about the lease it held (the daemon side is in
/// KctrIntegrationTests/FaultMatrixTests).
final class FailedImportMessageTests: XCTestCase {
    func testDiskFullNamesContainerdsRootFromThePathInTheMessage() throws {
        let e = RPCError(code: .unknown,
                         message: "failed to write: write /data/containerd/io.containerd.content.v1.content/ingest/ab/data: no space left on device",
                         method: "/containerd.services.content.v1.Content/Write")
        let full = try XCTUnwrap(Session.diskFull(e, call: "writing x (Content/Write)"))
        XCTAssertTrue(full.message.hasPrefix("writing x (Content/Write): no space left on the device holding containerd's root /data/containerd ("),
                      full.message)
        XCTAssertTrue(full.hint?.contains("df -h /data/containerd") == true, full.description)
        // No path in the message: the config key and the default are named instead.
        let bare = try XCTUnwrap(Session.diskFull(RPCError(code: .unknown, message: "no space left on device"), call: "c"))
        XCTAssertTrue(bare.message.contains("root in /etc/containerd/config.toml"), bare.message)
        XCTAssertNil(Session.diskFull(RPCError(code: .unknown, message: "permission denied"), call: "c"))
    }

    func testAnnotateSaysWhatBecameOfTheLease() throws {
        let lost = KctrError("writing x: containerd at /s stopped answering", hint: Session.stoppedHint)
        let restarted = try XCTUnwrap(ImageImporter.annotate(lost, cleanup: .releasedAfterRestart, lease: "L", namespace: "k8s.io",
                                                             waited: 10_000) as? KctrError)
        XCTAssertEqual(restarted.hint?.hasPrefix("containerd came back and kctr removed what this import had written"), true)
        let left = try XCTUnwrap(ImageImporter.annotate(lost, cleanup: .leftBehind, lease: "L", namespace: "k8s.io",
                                                        waited: 2_000) as? KctrError)
        XCTAssertTrue(left.hint?.hasPrefix("containerd did not answer again within 2s: check systemctl status containerd") == true,
                      left.description)
        XCTAssertTrue(left.hint?.hasSuffix("or remove it now with ctr -n k8s.io leases rm L") == true, left.description)
        let kept = try XCTUnwrap(ImageImporter.annotate(lost, cleanup: .released, lease: "L", namespace: "k8s.io", waited: 0,
                                                        created: ["a:1"]) as? KctrError)
        XCTAssertTrue(kept.hint?.contains("a:1 had been imported whole") == true, kept.description)
        // An ordinary failure with the lease released at once: the message is left as it was.
        let corrupt = KctrError("archive corrupt", hint: "export it again")
        XCTAssertEqual(ImageImporter.annotate(corrupt, cleanup: .released, lease: "L", namespace: "k8s.io", waited: 0) as? KctrError,
                       corrupt)
    }
}
