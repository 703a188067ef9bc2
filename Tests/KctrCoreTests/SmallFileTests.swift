import Foundation
import XCTest
@testable import KctrCore

final class SmallFileTests: ScratchDirectoryTestCase {
    private func message(_ path: String) -> String? {
        do {
            _ = try SmallFile.text(path)
            return nil
        } catch {
            return error.description
        }
    }

    func testReadsASmallFileAndSaysNilWhenMissing() throws {
        try "runtime-endpoint: unix:///x\n".write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        XCTAssertEqual(try SmallFile.text(dir + "/c.yaml"), "runtime-endpoint: unix:///x\n")
        XCTAssertNil(try SmallFile.text(dir + "/missing.yaml"))
        XCTAssertNil(try SmallFile.text(dir + "/c.yaml/below"), "a path through a file is missing too")
        let exact = String(repeating: "a", count: 64)
        try exact.write(toFile: dir + "/exact", atomically: true, encoding: .utf8)
        XCTAssertEqual(try SmallFile.text(dir + "/exact", limit: 64), exact)
    }

    func testRefusesWhatIsNotASmallTextFile() throws {
        try String(repeating: "a", count: 65).write(toFile: dir + "/big", atomically: true, encoding: .utf8)
        do {
            _ = try SmallFile.text(dir + "/big", limit: 64)
            XCTFail("read a file over the limit")
        } catch {
            XCTAssertTrue(error.description.contains("\(dir)/big is 65 B, more than the 64 B a configuration file may have"),
                          error.description)
        }
        XCTAssertEqual(message("/dev/zero"), "/dev/zero is not a regular file (hint: ls -l /dev/zero: a configuration file is expected there)")
        XCTAssertTrue(message(dir)?.contains("is not a regular file") == true)
        XCTAssertEqual(mkfifo(dir + "/fifo", 0o600), 0)
        XCTAssertTrue(message(dir + "/fifo")?.contains("is not a regular file") == true, "a FIFO is refused without waiting for a writer")
        XCTAssertEqual(symlink(dir + "/loop", dir + "/loop"), 0)
        XCTAssertEqual(message(dir + "/loop"), "cannot read \(dir)/loop: Too many levels of symbolic links "
                       + "(hint: check the file and the file system under it: ls -l \(dir)/loop; dmesg | tail)")
        try Data([0x61, 0xFF, 0xFE]).write(to: URL(fileURLWithPath: dir + "/binary"))
        XCTAssertTrue(message(dir + "/binary")?.contains("is not UTF-8 text") == true)
    }

    /// A file of gigabytes (sparse here) is refused from its size, not read.
    func testHugeFileIsRefusedFromItsSize() throws {
        let path = dir + "/huge"
        let fd = open(path, O_CREAT | O_WRONLY, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(ftruncate(fd, 8 << 30), 0)
        close(fd)
        XCTAssertTrue(message(path)?.contains("is 8.0 GiB, more than the 1.0 MiB") == true, message(path) ?? "")
    }

    func testExplicitCrictlConfigMustBeReadableTheDefaultOneIsSkipped() throws {
        XCTAssertThrowsError(try Endpoint.resolve(flag: nil, environment: [:], crictlConfig: "/dev/zero")) { error in
            XCTAssertTrue("\(error)".contains("/dev/zero is not a regular file"), "\(error)")
        }
        let e = try Endpoint.resolve(flag: nil, environment: [:], crictlConfig: nil, fileExists: { _ in false },
                                     readFile: { path throws(KctrError) in throw KctrError("\(path) is not a regular file") })
        XCTAssertEqual(e.path, Endpoint.defaultPath)
    }
}
