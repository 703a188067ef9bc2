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

    func testPlainDocumentUsesCamelCaseAndObjectsForMaps() {
        let status = CRI.ContainerStatus(exitCode: 3, labels: ["a": "1"], mounts: [.init(hostPath: "/h")], logPath: "/x")
        guard case .object(let o) = JSONValue(MessageDocuments.plain(status)) else { return XCTFail("not an object") }
        XCTAssertEqual(o["logPath"], .string("/x"))
        XCTAssertEqual(o["exitCode"], .number(3))
        XCTAssertEqual(o["labels"], .object(["a": .string("1")]))
        XCTAssertEqual(o["state"], .number(0), "enums as numbers")
        guard case .array(let mounts)? = o["mounts"], case .object(let mount)? = mounts.first else { return XCTFail("\(o)") }
        XCTAssertEqual(mount["hostPath"], .string("/h"))
        XCTAssertNil(o["metadata"], "an unset message is left out")
    }
}
