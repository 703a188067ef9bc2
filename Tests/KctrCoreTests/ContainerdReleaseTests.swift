import KctrCore
@testable import KctrRPC
import XCTest

/// ContainerdRelease: every version form containerd reports, and how they sort.
final class ContainerdReleaseTests: XCTestCase {
    func testForms() {
        let cases: [(String, ContainerdRelease?)] = [
            ("v2.3.4", ContainerdRelease(2, 3, 4)),
            ("2.3.4", ContainerdRelease(2, 3, 4)),
            ("1.7", ContainerdRelease(1, 7, 0)),
            (" v1.7.34\n", ContainerdRelease(1, 7, 34)),
            ("1.6.20~ds1", ContainerdRelease(1, 6, 20)),
            ("1.6.20~ds1-1", ContainerdRelease(1, 6, 20)),
            ("1:1.6.20~ds1-1+deb12u3", ContainerdRelease(1, 6, 20)),
            ("1.7.24~dfsg-2", ContainerdRelease(1, 7, 24)),
            ("2.1.0~rc1~ds1-1", ContainerdRelease(2, 1, 0, prerelease: "rc1")),
            ("2.3.4-rc.1", ContainerdRelease(2, 3, 4, prerelease: "rc.1")),
            ("v2.0.0-beta.2+build.5", ContainerdRelease(2, 0, 0, prerelease: "beta.2")),
            ("1.7.0+unknown", ContainerdRelease(1, 7, 0)),
            ("v2.1.0-beta.0-123-g7e3f4a5b", ContainerdRelease(2, 1, 0, prerelease: "beta.0", commitsAfterTag: 123)),
            ("v2.1.0-12-gabcdef0", ContainerdRelease(2, 1, 0, commitsAfterTag: 12)),
            ("v2.1.0-12-gabcdef0-dirty", ContainerdRelease(2, 1, 0, commitsAfterTag: 12)),
            ("v2.1.0-dirty", ContainerdRelease(2, 1, 0)),
            ("devel", nil), ("1", nil), ("", nil), ("v", nil), ("1.", nil), ("1.x", nil), ("1.7.", nil),
            ("x1.7.0", nil), ("99999999999.1.0", nil),
        ]
        for (text, want) in cases {
            XCTAssertEqual(ContainerdRelease(text), want, text)
        }
    }

    func testOrder() throws {
        let texts = ["1.6.20~ds1", "v1.7.0-beta.0", "v1.7.0-beta.0-5-g1234567", "v1.7.0-beta.2", "1.7.0-rc.1", "1.7.0-rc.1.2",
                     "1.7.0-rc.alpha", "1.7.0", "v1.7.0-3-g1234567", "1.7.1", "1.7.10", "2.0.0-rc.1", "2.0.0-rc.10", "2.0.0", "10.0.0"]
        let releases = try texts.map { try XCTUnwrap(ContainerdRelease($0), $0) }
        XCTAssertEqual(releases.shuffled().sorted(), releases)
        for (a, b) in zip(releases, releases.dropFirst()) {
            XCTAssertLessThan(a, b, "\(a) < \(b)")
            XCTAssertFalse(b < a, "\(b) < \(a)")
            XCTAssertNotEqual(a, b)
        }
    }

    func testLinesAndText() throws {
        let rc = try XCTUnwrap(ContainerdRelease("v2.3.0-rc.1"))
        XCTAssertTrue(rc.isAtLeast(2, 3))
        XCTAssertFalse(rc.isAtLeast(2, 4))
        XCTAssertTrue(rc.isAtLeast(1, 7))
        XCTAssertLessThan(rc, ContainerdRelease(2, 3), "a prerelease comes before its release")
        XCTAssertEqual(rc.description, "2.3.0-rc.1")
        XCTAssertEqual(rc.line, "2.3")
        XCTAssertEqual(ContainerdRelease("v2.1.0-beta.0-123-g7e3f4a5b")?.description, "2.1.0-beta.0+123")
        XCTAssertEqual(ContainerdRelease("1.6.20~ds1")?.description, "1.6.20")
        XCTAssertEqual(DaemonVersion(version: "v2.3.4", revision: "x").release, ContainerdRelease(2, 3, 4))
        XCTAssertNil(DaemonVersion(version: "devel", revision: "x").release)
    }
}
