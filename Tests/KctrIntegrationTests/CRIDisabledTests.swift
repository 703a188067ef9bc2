import Foundation
import KctrCore
import XCTest

/// containerd with `disabled_plugins = ["io.containerd.grpc.v1.cri"]`, as some
/// distributions ship it: kctr says so, and its containerd parts still work.
final class CRIDisabledTests: XCTestCase {
    static let shared = SharedLab(["--disable-cri"]) { lab in
        let r = lab.ctr(["images", "import", try TestImages.path("busybox.oci.tar")])
        guard r.status == 0 else { throw SetupError("ctr import failed: \(r.stderr)") }
    }

    override class func tearDown() { shared.stop() }

    func testVersionShowsContainerdAndSaysCRIIsDisabled() throws {
        let lab = try Self.shared.get()
        let r = lab.kctr(["version"])
        XCTAssertExit(r, 0)
        // Debian prints "1.6.20~ds1", upstream builds "v1.7.34".
        let version = r.stdout.components(separatedBy: "containerd:\n  Version:             ").dropFirst().first?.prefix { $0 != "\n" }
        XCTAssertEqual(version.flatMap { ContainerdRelease(String($0)) }, lab.version, r.stdout)
        XCTAssertTrue(r.stdout.contains("CRI:\n  not serving"), r.stdout)
        XCTAssertTrue(r.stderr.contains("the CRI plugin is not serving on \(lab.socket)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("disabled_plugins"), r.stderr)
    }

    func testImagesStillListWithoutCRIColumns() throws {
        let lab = try Self.shared.get()
        let r = lab.kctr(["images", "ls", "-o", "json"])
        XCTAssertExit(r, 0)
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["name"] as? String }, ["docker.io/library/busybox:kctr-test"])
        XCTAssertNil(rows.first?["cri"])
        XCTAssertEqual(lab.kctr(["images", "ls", "-q"]).lines, lab.ctr(["images", "ls", "-q"]).lines)
    }

    func testInfoFailsWithTheFix() throws {
        let lab = try Self.shared.get()
        let r = lab.kctr(["info"])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("the CRI plugin is not serving"), r.stderr)
        XCTAssertTrue(r.stderr.contains("remove \"cri\" / \"io.containerd.grpc.v1.cri\" from disabled_plugins"), r.stderr)
        let plugins = lab.kctr(["plugins", "ls", "-q"])
        XCTAssertExit(plugins, 0)
        XCTAssertFalse(plugins.lines.contains("io.containerd.grpc.v1.cri"), plugins.stdout)
    }

    func testPodsAndContainersSayCRIIsDisabled() throws {
        let lab = try Self.shared.get()
        for command in [["pods"], ["ps"], ["inspectp", "abc"], ["logs", "abc"]] {
            let r = lab.kctr(command)
            XCTAssertExit(r, 1)
            XCTAssertTrue(r.stderr.contains("the CRI plugin is not serving"), "\(command): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("disabled_plugins"), "\(command): \(r.stderr)")
        }
    }
}
