import Foundation
import XCTest
@testable import KctrCore

final class StaleImportsTests: XCTestCase {
    func testOnlyDeadImportsOfThisPidNamespaceAreStale() {
        let ns = StaleImports.pidNamespace
        XCTAssertNotEqual(ns, "0", "/proc/self/ns/pid is readable on Linux")
        let mine = StaleImports.name("lease")
        XCTAssertTrue(mine.hasPrefix("kctr-import-\(ns)-\(getpid())-"), mine)
        XCTAssertFalse(StaleImports.isStale(mine), "this process is alive")
        // pid 1 is alive in every namespace.
        XCTAssertFalse(StaleImports.isStale("kctr-import-\(ns)-1-abcd1234-lease"))
        // A pid that cannot exist (above pid_max) in this namespace is dead.
        XCTAssertTrue(StaleImports.isStale("kctr-import-\(ns)-2147483646-abcd1234-lease"))
        // The same pid in another pid namespace is not ours to judge.
        XCTAssertFalse(StaleImports.isStale("kctr-import-1-2147483646-abcd1234-lease"))
        XCTAssertFalse(StaleImports.isStale("other-lease"))
        XCTAssertFalse(StaleImports.isStale("kctr-import-\(ns)-x-y"))
    }
}
