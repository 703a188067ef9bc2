import XCTest
@testable import KctrCommands

/// `-o go-template` and `--template` (crictl's) are refused with the reason and the jq alternative.
final class GoTemplateRefusalTests: XCTestCase {
    func testEverySpellingIsRefused() throws {
        let asks: [[String]] = [
            ["ps", "-o", "go-template", "--template", "{{.id}}"],
            ["inspect", "--output", "go-template", "abc"],
            ["inspectp", "-ogo-template", "abc"],
            ["images", "ls", "-o=go-template"],
            ["images", "inspect", "--output=go-template", "busybox"],
            ["info", "--template", "{{.status}}"],
            ["pods", "--template={{.id}}"],
            // After the hoisting of global flags.
            GlobalArguments.hoist(["-n", "k8s.io", "ps", "-o", "go-template"]),
        ]
        for args in asks {
            let e = try XCTUnwrap(GoTemplateRefusal.check(args), "\(args)")
            XCTAssertEqual(e.exitCode, 64, "\(args)")
            XCTAssertTrue(e.message.hasSuffix("is not supported: kctr has no implementation of Go's text/template (no maintained Swift library implements it); -o takes table, json or yaml"), e.message)
            XCTAssertTrue(e.hint?.contains("-o json | jq") == true, "\(args)")
        }
        XCTAssertEqual(GoTemplateRefusal.check(["ps", "--template", "x"])?.message.hasPrefix("--template (crictl's -o go-template) is not supported"), true)
        XCTAssertEqual(GoTemplateRefusal.check(["ps", "-o", "go-template"])?.message.hasPrefix("-o go-template is not supported"), true)
    }

    func testOtherArgumentsAreLeftToTheParser() {
        let fine: [[String]] = [
            ["ps", "-o", "json"], ["inspect", "go-template"], ["ps", "--name", "template"],
            // exec's process takes its own arguments, with or without --.
            ["exec", "abc", "tool", "-o", "go-template"], ["exec", "abc", "--", "tool", "--template", "x"],
            ["logs", "abc", "--", "--template"],
            ["ps", "-o"],
        ]
        for args in fine { XCTAssertNil(GoTemplateRefusal.check(args), "\(args)") }
    }
}
