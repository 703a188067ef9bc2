import Foundation
import XCTest

/// Every failure of finding and talking to the daemon: exit code and message.
final class ConnectionErrorTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-err-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func testMissingSocketSaysWhereAndHow() {
        let r = runProcess([Paths.kctr, "--address", dir + "/nope.sock", "version"])
        XCTAssertExit(r, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.hasPrefix("kctr: cannot reach containerd at \(dir)/nope.sock (from --address): no such socket"), r.stderr)
        XCTAssertTrue(r.stderr.contains("is containerd running?"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--address"), r.stderr)
        XCTAssertTrue(r.stderr.contains("/run/k3s/containerd/containerd.sock"), r.stderr)
    }

    /// The debug build's test hook: a value that names no point or action is refused before the command runs
    /// (a misspelt point would otherwise leave a fault test waiting for a stop that never comes).
    func testMalformedFaultHookIsAUsageError() {
        for (value, found) in [("import-after-uplod:stop", "does not start with a known point and a colon"),
                               ("status-read:gate=", "has no known action after status-read:")] {
            let r = runProcess([Paths.kctr, "--address", dir + "/nope.sock", "version"], env: ["KCTR_TEST_FAULT": value])
            XCTAssertExit(r, 64)
            XCTAssertEqual(r.stdout, "")
            XCTAssertTrue(r.stderr.hasPrefix("kctr: KCTR_TEST_FAULT=\(value) \(found) (hint: points: import-mid-blob, import-after-upload, "), r.stderr)
            XCTAssertTrue(r.stderr.contains("actions: stop, gate=PATH)"), r.stderr)
        }
    }

    func testMissingSocketNamesTheEnvironmentVariable() {
        let r = runProcess([Paths.kctr, "images", "ls"], env: ["CONTAINERD_ADDRESS": "unix://\(dir)/env.sock"])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("at \(dir)/env.sock (from CONTAINERD_ADDRESS): no such socket"), r.stderr)
        let cri = runProcess([Paths.kctr, "images", "ls"], env: ["CONTAINER_RUNTIME_ENDPOINT": "\(dir)/cri.sock"])
        XCTAssertExit(cri, 1)
        XCTAssertTrue(cri.stderr.contains("(from CONTAINER_RUNTIME_ENDPOINT)"), cri.stderr)
    }

    func testMissingSocketNamesTheCrictlConfig() throws {
        let config = dir + "/crictl.yaml"
        try "runtime-endpoint: unix://\(dir)/crictl.sock\nimage-endpoint: unix://\(dir)/crictl.sock\ntimeout: 2\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let r = runProcess([Paths.kctr, "--crictl-config", config, "version"])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("at \(dir)/crictl.sock (from runtime-endpoint in \(config)): no such socket"), r.stderr)
        let missing = runProcess([Paths.kctr, "--crictl-config", dir + "/absent.yaml", "version"])
        XCTAssertExit(missing, 1)
        XCTAssertTrue(missing.stderr.contains("cannot read the crictl config \(dir)/absent.yaml"), missing.stderr)
    }

    /// Every command reads crictl.yaml: a quote inside a plain scalar, then 100,000 brackets, crashed
    /// kctr (SIGSEGV, exit 139) before it looked at its arguments.
    func testDeepCrictlConfigIsAnErrorNotACrash() throws {
        let deep = String(repeating: "[", count: 100_000)
        for (name, text) in [("quote", "runtime-endpoint: unix:///nonexistent/x.sock\nnote: x \"y\nb: \(deep)\n"),
                             ("apostrophe", "runtime-endpoint: unix:///nonexistent/x.sock\nnote: x 'y\nb: \(deep)\n")] {
            let config = dir + "/\(name).yaml"
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            let r = runProcess([Paths.kctr, "--crictl-config", config, "images", "ls"])
            XCTAssertExit(r, 1)
            XCTAssertEqual(r.stderr, "kctr: cannot parse \(config): line 3 nests more than 64 levels deep (hint: fix the YAML or pass --address to bypass it)\n")
        }
        // Brackets right after a quoted value: a syntax error, without the 100,000 brackets in the message.
        let syntax = dir + "/syntax.yaml"
        try "a: \"x\" \(deep)\n".write(toFile: syntax, atomically: true, encoding: .utf8)
        let r = runProcess([Paths.kctr, "--crictl-config", syntax, "images", "ls"])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.hasPrefix("kctr: cannot parse \(syntax): 1:8: error: parser: "), r.stderr)
        XCTAssertLessThan(r.stderr.count, 1_000, r.stderr)
    }

    func testNotASocket() throws {
        let file = dir + "/plain"
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        let r = runProcess([Paths.kctr, "--address", file, "version"])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("\(file) (from --address) is not a socket"), r.stderr)
    }

    func testUnsupportedScheme() {
        let r = runProcess([Paths.kctr, "--address", "tcp://127.0.0.1:1", "version"])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("scheme tcp is not a unix socket"), r.stderr)
    }

    func testPermissionDeniedSaysRunAsRoot() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to drop to nobody") }
        let server = try SocketServer(path: dir + "/root-only.sock", mode: .hang)
        defer { server.stop() }
        chmod(dir, 0o755)
        let r = runProcess(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            Paths.kctr, "--address", server.path, "version"])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("cannot reach containerd at \(server.path) (from --address): permission denied"), r.stderr)
        XCTAssertTrue(r.stderr.contains("hint: run kctr as root"), r.stderr)
    }

    func testSilentServerFailsAtTheDeadline() throws {
        let server = try SocketServer(path: dir + "/silent.sock", mode: .hang)
        defer { server.stop() }
        let r = runProcess([Paths.kctr, "--address", server.path, "--timeout", "1s", "version"], timeout: 20)
        XCTAssertExit(r, 1)
        XCTAssertLessThan(r.seconds, 6, "must give up near its 1s deadline")
        XCTAssertTrue(r.stderr.contains("did not answer within 1s"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--timeout"), r.stderr)
        XCTAssertTrue(r.stderr.contains("Version/Version"), r.stderr)
    }

    func testServerThatIsNotGRPC() throws {
        let server = try SocketServer(path: dir + "/closer.sock", mode: .close)
        defer { server.stop() }
        let r = runProcess([Paths.kctr, "--address", server.path, "--timeout", "3s", "version"], timeout: 20)
        XCTAssertExit(r, 1)
        XCTAssertLessThan(r.seconds, 6)
        // Either the connection is refused as not gRPC or the call times out: both say so.
        XCTAssertTrue(r.stderr.contains("cannot talk gRPC to \(server.path)") || r.stderr.contains("did not answer within 3s"),
                      r.stderr)
    }

    func testUsageErrorsExit64() {
        let badFormat = runProcess([Paths.kctr, "images", "ls", "-o", "xml"])
        XCTAssertExit(badFormat, 64)
        XCTAssertTrue(badFormat.stderr.contains("xml"), badFormat.stderr)
        let badTimeout = runProcess([Paths.kctr, "--timeout", "soon", "version"])
        XCTAssertExit(badTimeout, 64)
        XCTAssertTrue(badTimeout.stderr.contains("--timeout soon is not a duration"), badTimeout.stderr)
        let unknown = runProcess([Paths.kctr, "frobnicate"])
        XCTAssertExit(unknown, 64)
        let help = runProcess([Paths.kctr, "--help"])
        XCTAssertExit(help, 0)
        XCTAssertTrue(help.stdout.contains("images"), help.stdout)
    }

    /// A configuration file that is not a small regular file is refused, not read (/dev/zero would never end).
    func testCrictlConfigThatIsADeviceIsRefused() {
        let r = runProcess([Paths.kctr, "--crictl-config", "/dev/zero", "version"], clearEnv: true, timeout: 20)
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("kctr: /dev/zero is not a regular file (hint: ls -l /dev/zero"), r.stderr)
    }

    /// Commands are parsed "quickly" (a super-command name in ArgumentParser's configuration makes it
    /// skip its completion-script check); every text ArgumentParser prints must still be the full one.
    func testQuickParsingNeverShowsInTexts() {
        let usage = runProcess([Paths.kctr, "images", "ls", "--frobnicate"])
        XCTAssertExit(usage, 64)
        XCTAssertTrue(usage.stderr.contains("Unknown option '--frobnicate'"), usage.stderr)
        XCTAssertTrue(usage.stderr.contains("\nUsage: kctr images ls "), usage.stderr)
        let validation = runProcess([Paths.kctr, "images", "inspect", "-o", "table", "busybox"])
        XCTAssertExit(validation, 64)
        XCTAssertTrue(validation.stderr.contains("inspect prints json or yaml"), validation.stderr)
        XCTAssertTrue(validation.stderr.contains("Usage: kctr images inspect"), validation.stderr)
        for args in [["images", "--help"], ["help", "images"], ["images", "ls", "-h"]] {
            let r = runProcess([Paths.kctr] + args)
            XCTAssertExit(r, 0)
            XCTAssertTrue(r.stdout.contains("USAGE: kctr images"), "\(args): \(r.stdout)")
            XCTAssertFalse(r.stdout.contains("USAGE:  kctr"), "\(args): \(r.stdout)")
        }
        let completion = runProcess([Paths.kctr, "--generate-completion-script", "bash"])
        XCTAssertExit(completion, 0)
        XCTAssertTrue(completion.stdout.contains("_kctr()"), String(completion.stdout.prefix(300)))
        let version = runProcess([Paths.kctr, "--version"])
        XCTAssertExit(version, 0)
        XCTAssertFalse(version.stdout.isEmpty)
        // With no command, the root's help, as before.
        let bare = runProcess([Paths.kctr])
        XCTAssertTrue(bare.stdout.contains("USAGE: kctr <subcommand>") || bare.stderr.contains("USAGE: kctr <subcommand>"),
                      bare.stdout + bare.stderr)
    }
}

/// A unix socket server that is not containerd: `hang` accepts and never
/// answers, `close` accepts and hangs up at once, `settings` accepts, sends
/// an HTTP/2 SETTINGS frame (so the client sees a ready transport) and then
/// never answers a call.
final class SocketServer {
    enum Mode: String { case hang, close, settings }
    let path: String
    private let process: Process

    init(path: String, mode: Mode) throws {
        self.path = path
        let script = """
        import os, socket, sys, time
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(sys.argv[1]); s.listen(16)
        print("ready", flush=True)
        held = []
        while True:
            c, _ = s.accept()
            if sys.argv[2] == "close": c.close()
            else:
                # A client may have gone already (kctr's look at who listens, `images ls`): serve the next one.
                try:
                    if sys.argv[2] == "settings": c.sendall(b"\\x00\\x00\\x00\\x04\\x00\\x00\\x00\\x00\\x00")
                except OSError:
                    c.close()
                    continue
                held.append(c)
        """
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, path, mode.rawValue]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: path) { usleep(10_000) }
        guard FileManager.default.fileExists(atPath: path) else { throw SetupError("socket server did not start") }
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// crictl's `-o go-template`: refused before kctr looks for a daemon, with the reason and the jq way.
final class GoTemplateTests: XCTestCase {
    func testGoTemplateIsAUsageErrorThatSaysWhatToUseInstead() {
        let r = runProcess([Paths.kctr, "--address", "/nonexistent/kctr.sock", "ps", "-o", "go-template", "--template", "{{.id}}"])
        XCTAssertExit(r, 64)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, "kctr: -o go-template is not supported: kctr has no implementation of Go's text/template "
            + "(no maintained Swift library implements it); -o takes table, json or yaml (hint: print crictl's document with -o json "
            + "and query it with jq, e.g. `kctr inspect ID -o json | jq -r .status.state` or `kctr ps -o json | jq -r '.containers[].id'` "
            + "(the documents have crictl's keys))\n")
        let t = runProcess([Paths.kctr, "inspect", "--template", "{{.status.state}}", "abc"])
        XCTAssertExit(t, 64)
        XCTAssertTrue(t.stderr.hasPrefix("kctr: --template (crictl's -o go-template) is not supported: "), t.stderr)
    }
}
