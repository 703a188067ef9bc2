import Foundation
import XCTest

/// `kctr export OUT` as root on a node: only OUT is written (through a temp file beside it), a
/// symlink planted at OUT is replaced rather than followed, and a failure leaves nothing behind.
/// TempFileTests (KctrCoreTests) plants symlinks at the temp file's own names.
extension ExportTests {
    func testSymlinkAtOutputIsReplacedNotFollowed() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let outside = try tempDir()
        let victim = outside.file("victim")
        try "precious".write(toFile: victim, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir.file("out.tar"), withDestinationPath: victim)
        let r = lab.kctr(["export", dir.file("out.tar"), Self.pause])
        XCTAssertExit(r, 0)
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "precious")
        XCTAssertEqual(outside.contents, ["victim"])
        XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: dir.file("out.tar")), "out.tar is still a symlink")
        XCTAssertEqual(dir.contents, ["out.tar"], "a temp file was left")
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.file("out.tar"))
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o644)
        XCTAssertExit(runProcess(["/usr/bin/tar", "-tf", dir.file("out.tar")]), 0)
    }

    /// OUT on a file system too small for it: exit 1 naming OUT and the cause, and no temp file.
    func testFullFileSystemLeavesNoTempFile() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let small = dir.file("small")
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        let mount = runProcess(["/bin/mount", "-t", "tmpfs", "-o", "size=256k", "kctr-test", small])
        guard mount.status == 0 else { throw XCTSkip("cannot mount a tmpfs here: \(mount.stderr)") }
        defer { _ = runProcess(["/bin/umount", small]) }
        try "keep".write(toFile: small + "/out.tar", atomically: false, encoding: .utf8)
        let r = lab.kctr(["export", small + "/out.tar", Self.busybox])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("cannot write \(small)/out.tar"), r.stderr)
        XCTAssertTrue(r.stderr.contains("No space left on device"), r.stderr)
        XCTAssertTrue(r.stderr.contains("hint: check free space"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: small), ["out.tar"], "a temp file was left")
        XCTAssertEqual(try String(contentsOfFile: small + "/out.tar", encoding: .utf8), "keep")
    }
}
