import Foundation
import KctrRPC
import XCTest
@testable import KctrCore

final class WorkloadIDTests: XCTestCase {
    func testUniquePrefix() throws {
        let ids = ["abc123", "abd456", "ffff00"]
        XCTAssertEqual(try Workloads.unique("abc", ids, what: "container", list: "kctr ps -a -q"), "abc123")
        XCTAssertEqual(try Workloads.unique("ffff00", ids, what: "container", list: "kctr ps -a -q"), "ffff00")
        XCTAssertThrowsError(try Workloads.unique("ab", ids, what: "container", list: "kctr ps -a -q")) { error in
            XCTAssertEqual("\(error)", "container ID prefix ab is ambiguous: abc123, abd456 (hint: give more characters of the ID)")
        }
        XCTAssertThrowsError(try Workloads.unique("99", ids, what: "pod sandbox", list: "kctr pods -q")) { error in
            XCTAssertEqual("\(error)", "no pod sandbox with ID 99 (hint: list them with `kctr pods -q`)")
        }
        XCTAssertThrowsError(try Workloads.unique("", ids, what: "container", list: "x")) { error in
            XCTAssertEqual((error as? KctrError)?.exitCode, 64)
        }
    }

    func testProtoJSONUsesCamelCaseAndObjectsForMaps() {
        let p = Proto(["log_path": .string("/x"), "exit_code": .int(3),
                       "labels": .map(["a": "1"]), "mounts": .list([.message(Proto(["host_path": .string("/h")]))])])
        XCTAssertEqual(ProtoJSON.value(p), .object([
            "logPath": .string("/x"), "exitCode": .number(3), "labels": .object(["a": .string("1")]),
            "mounts": .array([.object(["hostPath": .string("/h")])]),
        ]))
    }
}
