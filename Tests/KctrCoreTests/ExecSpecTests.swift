@testable import KctrCore
import XCTest

/// The exec process's spec is the container's own process with the command, terminal and console
/// size replaced: environment, working directory, user and capabilities stay.
final class ExecSpecTests: XCTestCase {
    func testTheContainersProcessWithTheCommandReplaced() throws {
        let process: [String: JSONValue] = [
            "args": .array([.string("sleep"), .string("3600")]),
            "env": .array([.string("PATH=/usr/bin"), .string("FROM_SPEC=yes")]),
            "cwd": .string("/work"),
            "user": .object(["uid": .number(1000), "gid": .number(1000)]),
            "capabilities": .object(["bounding": .array([.string("CAP_CHOWN")])]),
            "terminal": .bool(false),
            "consoleSize": .object(["width": .number(1), "height": .number(1)]),
        ]
        let plain = try XCTUnwrap(JSONParser.parse(String(decoding: try ContainerExec.processSpec(process, command: ["sh", "-c", "id"], tty: false), as: UTF8.self)))
        guard case .object(let p) = plain else { return XCTFail("not an object") }
        XCTAssertEqual(p["args"], .array([.string("sh"), .string("-c"), .string("id")]))
        XCTAssertEqual(p["terminal"], .bool(false))
        XCTAssertNil(p["consoleSize"])
        for key in ["env", "cwd", "user", "capabilities"] { XCTAssertEqual(p[key], process[key], key) }

        let tty = try XCTUnwrap(JSONParser.parse(String(decoding: try ContainerExec.processSpec(process, command: ["sh"], tty: true, size: (width: 91, height: 17)), as: UTF8.self)))
        guard case .object(let t) = tty else { return XCTFail("not an object") }
        XCTAssertEqual(t["terminal"], .bool(true))
        XCTAssertEqual(t["consoleSize"], .object(["width": .number(91), "height": .number(17)]))
    }
}
