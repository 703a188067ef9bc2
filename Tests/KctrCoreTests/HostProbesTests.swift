import Foundation
import XCTest
@testable import KctrCore
#if canImport(Glibc)
import Glibc
#endif

/// How verify-runtime runs programs on the host as root: which files it runs, with what around
/// them, and that a probe ends when its time is up even if a child of it holds the pipe open.
final class HostProbesTests: ScratchDirectoryTestCase {
    /// An executable shell script at `path` (mode 0755, in directories of mode 0755).
    func script(_ path: String, _ body: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(path, 0o755), 0)
    }

    /// Whether `pid` has ended (no such process, or a zombie nobody reaped yet); waits for SIGKILL to
    /// land, at most 10 s.
    func ended(_ pid: Int32) -> Bool {
        for _ in 0..<1_000 {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.range(of: ") ", options: .backwards) else { return true }
            if stat[close.upperBound...].hasPrefix("Z") { return true }
            usleep(10_000)
        }
        return false
    }

    func pid(in file: String) throws -> Int32 {
        let text = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return try XCTUnwrap(Int32(text), "no pid in \(file): \(text)")
    }

    // MARK: - what a probe runs with

    func testProbeRunsWithAFixedEnvironmentInRootInItsOwnProcessGroup() throws {
        try script(dir + "/probe", """
            tr '\\0' '\\n' < /proc/$$/environ | sort | sed 's/^/env /'
            echo "cwd $(readlink /proc/$$/cwd)"
            echo "stdin $(readlink /proc/$$/fd/0)"
            echo "pid $$"
            echo "pgid $(cut -d' ' -f5 /proc/$$/stat)"
            """)
        setenv("KCTR_TEST_SECRET", "leaked", 1)
        defer { unsetenv("KCTR_TEST_SECRET") }
        let run = HostProbes.run(dir + "/probe", [])
        XCTAssertEqual(run.outcome, .exited(0), run.output)
        let lines = run.output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.filter { $0.hasPrefix("env ") }, ["env LC_ALL=C", "env PATH=/usr/sbin:/usr/bin:/sbin:/bin"], run.output)
        XCTAssertTrue(lines.contains("cwd /"), run.output)
        XCTAssertTrue(lines.contains("stdin /dev/null"), run.output)
        let pid = lines.first { $0.hasPrefix("pid ") }.map { String($0.dropFirst(4)) }
        let pgid = lines.first { $0.hasPrefix("pgid ") }.map { String($0.dropFirst(5)) }
        XCTAssertNotNil(pid, run.output)
        XCTAssertEqual(pgid, pid, "the probe leads a process group of its own")
        XCTAssertNotEqual(pgid, String(getpgrp()))
    }

    func testExitStatusSignalAndOutput() throws {
        try script(dir + "/fails", "echo 'first line'; echo second >&2; exit 3")
        let failed = HostProbes.run(dir + "/fails", [])
        XCTAssertEqual(failed.outcome, .exited(3))
        XCTAssertEqual(failed.output, "first line\nsecond\n")
        XCTAssertEqual(failed.firstLine, "first line")
        try script(dir + "/killed", "kill -9 $$")
        XCTAssertEqual(HostProbes.run(dir + "/killed", []).outcome, .signaled(9))
        XCTAssertEqual(HostProbes.run(dir + "/absent", []).outcome,
                       .refused(.init(path: dir + "/absent", reason: "cannot be checked: No such file or directory")))
    }

    // MARK: - the timeout holds when a child keeps the pipe open

    /// The probe times out while a child it forked (`sleep 30`, with the probe's stdout) would
    /// outlive it: reading until the pipe closed waited for that child, 30 s, whatever the timeout.
    /// The whole process group is killed: the child never gets to write its marker.
    func testTimeoutKillsTheProcessGroupAndDoesNotWaitForThePipe() throws {
        let marker = dir + "/child-finished", childPid = dir + "/child.pid"
        try script(dir + "/hangs", """
            echo started
            (sleep 30; touch \(marker)) &
            echo $! > \(childPid)
            sleep 30
            """)
        let run = HostProbes.run(dir + "/hangs", ["--version"], timeout: 1)
        XCTAssertEqual(run.outcome, .timedOut)
        XCTAssertEqual(run.output, "started\n")
        XCTAssertTrue(ended(try pid(in: childPid)), "the child holding the pipe still runs")
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
    }

    /// The probe exits at once but leaves a child holding its stdout: its answer counts, the child
    /// is killed with the group.
    func testAChildLeftBehindDoesNotHoldTheProbe() throws {
        let marker = dir + "/child-finished", childPid = dir + "/child.pid"
        try script(dir + "/runc", """
            (sleep 30; touch \(marker)) &
            echo $! > \(childPid)
            echo 'runc version 1.1.12'
            """)
        let run = HostProbes.run(dir + "/runc", ["--version"])
        XCTAssertEqual(run.outcome, .exited(0))
        XCTAssertEqual(run.firstLine, "runc version 1.1.12")
        XCTAssertTrue(ended(try pid(in: childPid)), "the child left behind still runs")
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
    }

    // MARK: - what kctr refuses to run

    func testFilesOthersCanChangeAreNotRun() throws {
        let marker = dir + "/ran"
        try script(dir + "/bin/probe", "touch \(marker)")
        XCTAssertEqual(chmod(dir + "/bin/probe", 0o775), 0)
        XCTAssertEqual(HostProbes.run(dir + "/bin/probe", []).outcome,
                       .refused(.init(path: dir + "/bin/probe", reason: "is writable by group 0 (mode 775)")))
        XCTAssertEqual(chmod(dir + "/bin/probe", 0o755), 0)
        XCTAssertEqual(chmod(dir + "/bin", 0o777), 0)
        XCTAssertEqual(HostProbes.untrusted(dir + "/bin/probe"), .init(path: dir + "/bin", reason: "is writable by every user (mode 777)"))
        // Sticky (as /tmp): others cannot rename or remove root's entries.
        XCTAssertEqual(chmod(dir + "/bin", 0o1777), 0)
        XCTAssertNil(HostProbes.untrusted(dir + "/bin/probe"))
        XCTAssertEqual(chown(dir + "/bin/probe", 65534, 0), 0)
        XCTAssertEqual(HostProbes.run(dir + "/bin/probe", []).outcome,
                       .refused(.init(path: dir + "/bin/probe", reason: "is a file owned by uid 65534, not by root")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
    }

    func testSymlinksAreResolvedOneByOne() throws {
        try script(dir + "/real/bin/probe", "exit 0")
        XCTAssertEqual(symlink(dir + "/real/bin", dir + "/abs"), 0)
        XCTAssertEqual(symlink("real/./bin/../bin", dir + "/rel"), 0)
        XCTAssertNil(HostProbes.untrusted(dir + "/abs/probe"))
        XCTAssertNil(HostProbes.untrusted(dir + "/rel/probe"))
        XCTAssertEqual(chown(dir + "/real", 65534, 65534), 0)
        XCTAssertEqual(HostProbes.untrusted(dir + "/rel/probe"), .init(path: dir + "/real", reason: "is a directory owned by uid 65534, not by root"))
        XCTAssertEqual(HostProbes.untrusted(dir + "/abs/probe"), .init(path: dir + "/real", reason: "is a directory owned by uid 65534, not by root"))
        XCTAssertEqual(symlink("loop", dir + "/loop"), 0)
        XCTAssertEqual(HostProbes.untrusted(dir + "/loop/x"), .init(path: dir + "/loop", reason: "is one symlink too many (a loop?)"))
    }

    func testTheSocketMayBeGroupWritable() throws {
        let socket = dir + "/containerd.sock"
        XCTAssertTrue(FileManager.default.createFile(atPath: socket, contents: nil))
        XCTAssertEqual(chmod(socket, 0o660), 0)
        XCTAssertNil(HostProbes.untrusted(socket, kind: .socket))
        XCTAssertEqual(HostProbes.untrusted(socket), .init(path: socket, reason: "is writable by group 0 (mode 660)"))
        XCTAssertEqual(chmod(socket, 0o662), 0)
        XCTAssertEqual(HostProbes.untrusted(socket, kind: .socket), .init(path: socket, reason: "is writable by every user (mode 662)"))
    }

    // MARK: - PATH lookup

    /// A relative PATH entry names a different directory depending on where kctr was started.
    func testPathLookupSkipsRelativeEntries() throws {
        let name = "kctr-probe-\(UUID().uuidString.prefix(8))"
        try script(dir + "/bin/" + name, "exit 0")
        let cwd = FileManager.default.currentDirectoryPath
        let up = String(repeating: "../", count: cwd.split(separator: "/").count)
        let relative = up + String((dir + "/bin").dropFirst())
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: relative + "/" + name), "the relative path reaches the script")
        XCTAssertNil(HostProbes.findExecutable(name, root: "", searchPath: relative + "::."))
        XCTAssertEqual(HostProbes.findExecutable(name, root: "", searchPath: relative + ":" + dir + "/bin"), dir + "/bin/" + name)
    }
}
