import Foundation
import KctrLab
import KctrRPC
import XCTest

/// `kctr exec` against real containers of a private containerd: output, stdin, exit codes, a TTY
/// session under `script`, a large output, ExecSync, the errors, and nothing left behind.
final class ExecTests: XCTestCase {
    nonisolated(unsafe) static var running = ""
    nonisolated(unsafe) static var exited = ""
    nonisolated(unsafe) static var pod = ""

    static let shared = SharedLab { lab in
        let r = lab.kctr(["import", try TestImages.path("all.oci.tar")])
        guard r.status == 0 else { throw SetupError("kctr import failed: \(r.stderr)") }
        let (p, ids) = try PodFixture.start(socket: lab.socket, pod: PodSpec(name: "exec-1", logDir: lab.base + "/exec-logs"), containers: [
            ContainerSpec(name: "app", command: ["sh", "-c", "export FROM_SPEC=yes; exec sleep 3600"]),
            ContainerSpec(name: "done", command: ["sh", "-c", "exit 3"]),
        ])
        (pod, running, exited) = (p, ids[0], ids[1])
        // The second container exits at once; wait until CRI says so.
        for _ in 0..<100 {
            if lab.kctr(["ps", "-a", "-q", "--state", "exited"]).stdout.contains(exited) { break }
            usleep(50_000)
        }
    }

    override class func tearDown() { shared.stop() }

    /// No exec process and no FIFO is left once kctr is done.
    func assertNoLeftovers(_ lab: Lab, file: StaticString = #filePath, line: UInt = #line) {
        let fifos = (try? FileManager.default.contentsOfDirectory(atPath: "/run/kctr/exec")) ?? []
        XCTAssertEqual(fifos, [], "FIFO directories left", file: file, line: line)
        let ps = lab.ctr(["tasks", "ps", Self.running])
        XCTAssertEqual(ps.lines.count, 2, "an exec process is left in the task: \(ps.stdout)", file: file, line: line)
    }

    func testOutputExitCodeAndTheContainersEnvironment() throws {
        let lab = try Self.shared.get()
        let r = lab.kctr(["exec", String(Self.running.prefix(8)), "--", "sh", "-c", "echo out; echo err >&2; pwd; id -u; exit 7"])
        XCTAssertExit(r, 7)
        XCTAssertEqual(r.stdout, "out\n/\n0\n")
        XCTAssertEqual(r.stderr, "err\n")
        let env = lab.kctr(["exec", Self.running, "--", "env"])
        XCTAssertExit(env, 0)
        XCTAssertTrue(env.stdout.contains("PATH="), env.stdout)
        XCTAssertTrue(env.stdout.contains("HOSTNAME="), "the exec process has the container's environment: \(env.stdout)")
        assertNoLeftovers(lab)
    }

    func testStandardInputReachesTheProcessAndEOFEndsIt() throws {
        let lab = try Self.shared.get()
        let r = runProcess([Paths.kctr, "--address", lab.socket, "exec", "-i", Self.running, "--", "sh", "-c", "wc -l; cat /dev/null"],
                           stdin: "a\nb\nc\n")
        XCTAssertExit(r, 0)
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "3")
        assertNoLeftovers(lab)
    }

    func testLargeOutputArrivesWhole() throws {
        let lab = try Self.shared.get()
        let r = lab.kctr(["exec", Self.running, "--", "sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo line-$i-0123456789abcdef; i=$((i+1)); done"], timeout: 120)
        XCTAssertExit(r, 0)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 20000)
        XCTAssertEqual(lines.last, "line-19999-0123456789abcdef")
    }

    /// A terminal session under script(1): a pty on both sides, the window size, and the exit code.
    func testTTYSession() throws {
        let lab = try Self.shared.get()
        let inner = "stty cols 91 rows 17; \(Paths.kctr) --address \(lab.socket) exec -t \(Self.running) -- sh -c 'tty; stty size; exit 5'"
        let r = runProcess(["/usr/bin/script", "-qefc", inner, "/dev/null"], timeout: 60)
        XCTAssertExit(r, 5)
        XCTAssertTrue(r.stdout.contains("/dev/pts/"), r.stdout)
        XCTAssertTrue(r.stdout.contains("17 91"), "the window size reached the process: \(r.stdout)")
        assertNoLeftovers(lab)
    }

    func testSyncRunsThroughExecSync() throws {
        let lab = try Self.shared.get()
        let r = lab.kctr(["exec", "-s", Self.running, "--", "sh", "-c", "echo synced; echo e >&2; exit 4"])
        XCTAssertExit(r, 4)
        XCTAssertEqual(r.stdout, "synced\n")
        XCTAssertEqual(r.stderr, "e\n")
        let slow = lab.kctr(["exec", "-s", "--timeout", "1s", Self.running, "--", "sleep", "30"])
        XCTAssertExit(slow, 1)
        XCTAssertTrue(slow.stderr.contains("did not finish within 1s"), slow.stderr)
    }

    func testErrors() throws {
        let lab = try Self.shared.get()
        let missing = lab.kctr(["exec", Self.running, "--", "no-such-command"])
        XCTAssertExit(missing, 127)
        XCTAssertTrue(missing.stderr.contains("kctr: no-such-command: command not found in container \(Self.running.prefix(13))"), missing.stderr)
        let notExec = lab.kctr(["exec", Self.running, "--", "/etc/passwd"])
        XCTAssertExit(notExec, 126)
        XCTAssertTrue(notExec.stderr.contains("/etc/passwd: permission denied in container"), notExec.stderr)

        let stopped = lab.kctr(["exec", Self.exited, "--", "true"])
        XCTAssertExit(stopped, 1)
        XCTAssertTrue(stopped.stderr.contains("container done (\(Self.exited.prefix(13))) is not running (exited, exit code 3)"), stopped.stderr)
        XCTAssertTrue(stopped.stderr.contains("hint: kctr ps -a shows it; kctr logs"), stopped.stderr)

        let sandbox = lab.kctr(["exec", Self.pod, "--", "true"])
        XCTAssertExit(sandbox, 1)
        XCTAssertTrue(sandbox.stderr.contains("is a pod's sandbox (its pause container), not a container to exec into"), sandbox.stderr)

        // A container of k8s.io that CRI does not manage (made with ctr).
        let image = "docker.io/library/busybox:kctr-test"
        let ctrID = "kctr-ctr-\(UUID().uuidString.prefix(6).lowercased())"
        XCTAssertExit(lab.ctr(["containers", "create", image, ctrID, "sh"]), 0)
        defer { _ = lab.ctr(["containers", "rm", ctrID]) }
        let foreign = lab.kctr(["exec", ctrID, "--", "true"])
        XCTAssertExit(foreign, 1)
        XCTAssertTrue(foreign.stderr.contains("exists in containerd's k8s.io namespace but is not one CRI manages"), foreign.stderr)

        let noTTY = runProcess([Paths.kctr, "--address", lab.socket, "exec", "-t", Self.running, "--", "true"], stdin: "")
        XCTAssertExit(noTTY, 64)
        XCTAssertTrue(noTTY.stderr.contains("-t needs a terminal on standard input"), noTTY.stderr)

        let noCommand = lab.kctr(["exec", Self.running])
        XCTAssertExit(noCommand, 64)
        XCTAssertTrue(noCommand.stderr.contains("give the command to run after the container"), noCommand.stderr)
        assertNoLeftovers(lab)
    }

    /// Ctrl-C (SIGINT to kctr) ends the exec process too, and kctr removes it and its FIFOs.
    func testInterruptEndsTheProcessAndCleansUp() throws {
        let lab = try Self.shared.get()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Paths.kctr)
        p.arguments = ["--address", lab.socket, "exec", Self.running, "--", "sleep", "300"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        var started = false
        for _ in 0..<200 where !started {
            started = lab.ctr(["tasks", "ps", Self.running]).lines.count > 2
            if !started { usleep(50_000) }
        }
        XCTAssertTrue(started, "the exec process did not start")
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130)
        assertNoLeftovers(lab)
    }

    /// `kctr --timeout 3s exec ...`: before the command, --timeout is the call deadline; after it, ExecSync's.
    func testTimeoutBeforeAndAfterTheCommand() throws {
        let lab = try Self.shared.get()
        let r = lab.kctr(["--timeout", "3s", "exec", Self.running, "--", "true"])
        XCTAssertExit(r, 0)
        let bad = lab.kctr(["exec", "--timeout", "5s", Self.running, "--", "true"])
        XCTAssertExit(bad, 64)
        XCTAssertTrue(bad.stderr.contains("--timeout applies to -s (ExecSync)"), bad.stderr)
    }
}
