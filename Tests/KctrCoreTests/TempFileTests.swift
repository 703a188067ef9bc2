import Foundation
@testable import KctrCore
import XCTest

/// Export's temp file: beside OUT, O_EXCL|O_NOFOLLOW under a random name, never through a planted
/// symlink, renamed over OUT only when complete, removed on failure.
final class TempFileTests: ScratchDirectoryTestCase {
    var victim = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        // Outside OUT's directory: nothing may ever write here.
        victim = dir + "/victim"
        try "precious".write(toFile: victim, atomically: false, encoding: .utf8)
    }

    func contents(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    func mode(_ path: String) throws -> Int {
        try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber).intValue
    }

    func write(_ temp: TempFile, _ text: String) {
        let bytes = Array(text.utf8)
        XCTAssertEqual(bytes.withUnsafeBytes { Foundation.write(temp.fd, $0.baseAddress, $0.count) }, bytes.count)
    }

    /// Names handed out in order: the planted ones first.
    final class Names {
        var list: [String]
        init(_ list: [String]) { self.list = list }
        func next() -> String { list.isEmpty ? "fresh" : list.removeFirst() }
    }

    func testPlantedSymlinksAndFilesAreSkippedNeverFollowed() throws {
        let out = dir + "/out/image.tar"
        try FileManager.default.createSymbolicLink(atPath: dir + "/out/.image.tar.kctr-aaa", withDestinationPath: victim)
        try FileManager.default.createSymbolicLink(atPath: dir + "/out/.image.tar.kctr-bbb", withDestinationPath: dir + "/missing")
        try "other".write(toFile: dir + "/out/.image.tar.kctr-ccc", atomically: false, encoding: .utf8)
        let names = Names(["aaa", "bbb", "ccc"])
        let temp = try TempFile(beside: out, mode: 0o644, suffix: names.next)
        XCTAssertEqual(temp.path, dir + "/out/.image.tar.kctr-fresh")
        XCTAssertEqual(try mode(temp.path), 0o600, "private while written")
        write(temp, "archive")
        try temp.commit()
        XCTAssertEqual(contents(out), "archive")
        XCTAssertEqual(try mode(out), 0o644)
        XCTAssertEqual(contents(victim), "precious")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/missing"), "a dangling symlink's target was created")
        XCTAssertEqual(contents(dir + "/out/.image.tar.kctr-ccc"), "other")
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path))
    }

    func testEveryNameTakenIsAnError() throws {
        try FileManager.default.createSymbolicLink(atPath: dir + "/out/.image.tar.kctr-same", withDestinationPath: victim)
        XCTAssertThrowsError(try TempFile(beside: dir + "/out/image.tar", suffix: { "same" })) { error in
            XCTAssertEqual("\(error)", "cannot create a temp file beside \(dir)/out/image.tar: 100 names were taken "
                + "(something keeps creating files or symlinks there) (hint: check that the directory exists and is writable, and who else writes to it)")
        }
        XCTAssertEqual(contents(victim), "precious")
    }

    func testMissingDirectoryIsNamed() {
        XCTAssertThrowsError(try TempFile(beside: dir + "/nope/image.tar")) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot create a temp file beside \(dir)/nope/image.tar: No such file or directory"), "\(error)")
        }
    }

    /// OUT itself a symlink: the rename replaces the link, the file it pointed to is untouched.
    func testOutputSymlinkIsReplacedNotFollowed() throws {
        let out = dir + "/out/image.tar"
        try FileManager.default.createSymbolicLink(atPath: out, withDestinationPath: victim)
        let temp = try TempFile(beside: out)
        write(temp, "archive")
        try temp.commit()
        XCTAssertEqual(contents(victim), "precious")
        XCTAssertEqual(contents(out), "archive")
        XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: out))
    }

    /// The output gets the mode `>` would give it under the umask, whatever the temp file had.
    func testCommitGivesTheModeOfTheUmask() throws {
        for (mask, expected) in [(mode_t(0o027), 0o640), (0o077, 0o600), (0o002, 0o664)] {
            let out = dir + "/out/image-\(mask).tar"
            let temp = try TempFile(beside: out, mode: Umask.fileMode(umask: mask))
            write(temp, "archive")
            XCTAssertEqual(try mode(temp.path), 0o600, "private while written")
            try temp.commit()
            XCTAssertEqual(try mode(out), expected, "umask \(String(mask, radix: 8))")
        }
    }

    func testUmaskIsReadFromProcWithoutChangingIt() throws {
        XCTAssertEqual(Umask.parse(status: "Name:\tkctr\nUmask:\t0027\nState:\tR (running)\n"), 0o027)
        XCTAssertNil(Umask.parse(status: "Name:\tkctr\nState:\tR (running)\n"))
        XCTAssertNil(Umask.parse(status: "Umask:\t0999\n"))
        XCTAssertNil(Umask.parse(status: "Umask:\t07777\n"))
        XCTAssertEqual(Umask.fileMode(umask: 0o022), 0o644)
        XCTAssertEqual(Umask.fileMode(umask: 0), 0o666)
        let real = umask(0o027)
        defer { umask(real) }
        XCTAssertEqual(Umask.current(), 0o027)
        XCTAssertEqual(Umask.current(status: { nil }), 0o027, "umask(2) where /proc has no Umask line")
        XCTAssertEqual(Umask.current(), 0o027, "reading the umask changed it")
    }

    func testDiscardRemovesTheTempAndKeepsTheOutput() throws {
        let out = dir + "/out/image.tar"
        try "old".write(toFile: out, atomically: false, encoding: .utf8)
        let temp = try TempFile(beside: out)
        write(temp, "half")
        temp.discard()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/out"), ["image.tar"])
        XCTAssertEqual(contents(out), "old")
    }

    func testOutputThatIsADirectoryFailsAndCleansUp() throws {
        let out = dir + "/out/sub"
        try FileManager.default.createDirectory(atPath: out + "/x", withIntermediateDirectories: true)
        let temp = try TempFile(beside: out)
        XCTAssertThrowsError(try temp.commit()) { error in
            XCTAssertTrue("\(error)".contains("cannot rename"), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/out"), ["sub"])
    }

    /// A 250-byte file name: the temp name must still fit in NAME_MAX (255).
    func testLongOutputName() throws {
        let out = dir + "/out/" + String(repeating: "n", count: 250)
        let temp = try TempFile(beside: out)
        write(temp, "archive")
        try temp.commit()
        XCTAssertEqual(contents(out), "archive")
    }

    /// A temp file left by a killed export (its kctr process is gone) is removed by the next export of
    /// the same OUT; a live process's temp file, another pid namespace's, a symlink and other names stay.
    func testTempFilesOfKilledExportsAreSweptAndNothingElse() throws {
        let ns = StaleImports.pidNamespace
        try XCTSkipIf(ns == "0", "no /proc/self/ns/pid here")
        // A pid that existed and is gone: a finished child's.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let dead = child.processIdentifier
        let out = dir + "/out/"
        let stale = out + ".image.tar.kctr-\(ns)-\(dead)-abcdefabcdef"
        let live = out + ".image.tar.kctr-\(ns)-\(getpid())-abcdefabcdef"
        let foreign = out + ".image.tar.kctr-1-\(dead)-abcdefabcdef"
        let link = out + ".image.tar.kctr-\(ns)-\(dead)-symlinksymli"
        let other = out + ".other.tar.kctr-\(ns)-\(dead)-abcdefabcdef"
        for path in [stale, live, foreign, other] { try "x".write(toFile: path, atomically: false, encoding: .utf8) }
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: victim)

        let temp = try TempFile(beside: out + "image.tar")
        defer { temp.discard() }
        XCTAssertTrue(temp.path.hasPrefix(out + ".image.tar.kctr-\(ns)-\(getpid())-"), temp.path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale), "the killed export's temp file stayed")
        for path in [live, foreign, other] { XCTAssertEqual(contents(path), "x", path) }
        XCTAssertNotNil(try? FileManager.default.destinationOfSymbolicLink(atPath: link))
        XCTAssertEqual(contents(victim), "precious")
    }
}
