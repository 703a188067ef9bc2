import Foundation
import XCTest

/// --progress on import and export: plain lines for logs, the bar on a terminal (under script),
/// nothing with none or when stderr is not a terminal.
extension VerifiedImportTests {
    func testProgressPlainBarAndNone() throws {
        let lab = try Self.shared.get()
        let archive = try TestImages.path("all.oci.tar")
        let plain = lab.kctr(["-n", uniqueNamespace("progress"), "import", "--progress", "plain", archive])
        XCTAssertExit(plain, 0)
        let lines = plain.stderr.split(separator: "\n").filter { $0.hasPrefix("import: ") }
        XCTAssertTrue(lines.contains { $0.contains("image 3/3 docker.io/kctr/multi:1.0") }, plain.stderr)
        XCTAssertTrue(lines.last?.contains("100%  1.3 MiB/1.3 MiB") == true, plain.stderr)

        let quiet = lab.kctr(["-n", uniqueNamespace("progress"), "import", archive])
        XCTAssertExit(quiet, 0)
        XCTAssertFalse(quiet.stderr.contains("import: "), "no progress when stderr is not a terminal: \(quiet.stderr)")
        XCTAssertFalse(quiet.stderr.contains("\u{1b}[K"), quiet.stderr)

        let ns = uniqueNamespace("progress")
        let tty = runProcess(["/usr/bin/script", "-qefc", "\(Paths.kctr) --address \(lab.socket) -n \(ns) import \(archive)", "/dev/null"], timeout: 120)
        XCTAssertExit(tty, 0)
        XCTAssertTrue(tty.stdout.contains("\r\u{1b}[K["), "a bar on a terminal: \(tty.stdout.debugDescription)")
        let none = runProcess(["/usr/bin/script", "-qefc", "\(Paths.kctr) --address \(lab.socket) -n \(ns) import --progress none \(archive)", "/dev/null"], timeout: 120)
        XCTAssertExit(none, 0)
        XCTAssertFalse(none.stdout.contains("\u{1b}[K"), none.stdout.debugDescription)

        let out = try tempDir().file("out.tar")
        let export = lab.kctr(["-n", ns, "export", "--progress", "plain", out, "registry.k8s.io/pause:3.9"])
        XCTAssertExit(export, 0)
        XCTAssertTrue(export.stderr.contains("export: 100%"), export.stderr)
    }
}
