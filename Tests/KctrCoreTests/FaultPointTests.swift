import XCTest
@testable import KctrCore

/// `KCTR_TEST_FAULT=POINT:ACTION`, read in one place (debug builds, as the tests are).
final class FaultPointTests: XCTestCase {
    func testPointAndAction() throws {
        let stop = try XCTUnwrap(try FaultPoint.parse("import-after-upload:stop"))
        XCTAssertEqual(stop.point, .importAfterUpload)
        XCTAssertEqual(stop.action, .stop)
        // A gate's path may hold colons: only the first one separates.
        let gate = try XCTUnwrap(try FaultPoint.parse("status-read:gate=/tmp/a:b/gate"))
        XCTAssertEqual(gate.point, .statusRead)
        XCTAssertEqual(gate.action, .gate(path: "/tmp/a:b/gate"))
        XCTAssertNil(try FaultPoint.parse(""))
    }

    func testMalformedValuesAreUsageErrorsNamingWhatExists() {
        for (value, message) in [
            ("import-after-upload", "KCTR_TEST_FAULT=import-after-upload does not start with a known point and a colon"),
            ("import-after-uplod:stop", "KCTR_TEST_FAULT=import-after-uplod:stop does not start with a known point and a colon"),
            ("import-mid-blob:pause", "KCTR_TEST_FAULT=import-mid-blob:pause has no known action after import-mid-blob:"),
            ("status-read:gate=", "KCTR_TEST_FAULT=status-read:gate= has no known action after status-read:"),
        ] {
            XCTAssertThrowsError(try FaultPoint.parse(value), value) { error in
                let e = error as? KctrError
                XCTAssertEqual(e?.exitCode, 64, value)
                XCTAssertEqual(e?.message, message)
                XCTAssertEqual(e?.hint, "points: import-mid-blob, import-after-upload, import-before-record, import-after-record, status-read; actions: stop, gate=PATH")
            }
        }
    }
}
