import Foundation
import KctrCore
import KctrLab
import XCTest

/// The result of running a program.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
    var seconds: Double

    var lines: [String] { stdout.split(separator: "\n").map(String.init) }
}

enum Paths {
    /// The package root (this file is Tests/KctrIntegrationTests/Support.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The kctr built with the tests: next to the test bundle, or $KCTR_BIN.
    static var kctr: String {
        if let bin = ProcessInfo.processInfo.environment["KCTR_BIN"], !bin.isEmpty { return bin }
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("kctr").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return root + "/.build/debug/kctr"
    }

    /// kctr-lab (the bench's and fuzz seeds' fixtures), built with the tests next to kctr.
    static var kctrLab: String { URL(fileURLWithPath: kctr).deletingLastPathComponent().appendingPathComponent("kctr-lab").path }

    static var lab: String { root + "/scripts/lab/containerd-lab" }
    static var buildImages: String { root + "/scripts/lab/build-test-images" }
}

/// Runs `argv` with a deadline; output goes through files so nothing blocks.
/// kctr's image cache (ImageFactsCache) for the tests' runs: one per test process, never /var/cache/kctr.
let testCacheDirectory = NSTemporaryDirectory() + "kctr-test-cache-\(getpid())"

func runProcess(_ argv: [String], env: [String: String] = [:], clearEnv: Bool = false, stdin: String? = nil,
         timeout: Double = 60) -> Run {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-run-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let outURL = dir.appendingPathComponent("out"), errURL = dir.appendingPathComponent("err")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: argv[0])
    p.arguments = Array(argv.dropFirst())
    var environment = clearEnv ? ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"] : ProcessInfo.processInfo.environment
    // Never let the caller's environment choose the daemon.
    for key in ["CONTAINERD_ADDRESS", "CONTAINER_RUNTIME_ENDPOINT", "CONTAINERD_NAMESPACE"] { environment[key] = nil }
    environment["KCTR_CACHE_DIR"] = testCacheDirectory
    for (k, v) in env { environment[k] = v }
    p.environment = environment
    guard let out = try? FileHandle(forWritingTo: outURL), let err = try? FileHandle(forWritingTo: errURL) else {
        return Run(status: -1, stdout: "", stderr: "cannot open output files", seconds: 0)
    }
    p.standardOutput = out
    p.standardError = err
    if let stdin {
        let inURL = dir.appendingPathComponent("in")
        FileManager.default.createFile(atPath: inURL.path, contents: Data(stdin.utf8))
        p.standardInput = try? FileHandle(forReadingFrom: inURL)
    } else {
        p.standardInput = FileHandle.nullDevice
    }
    let start = Date()
    do { try p.run() } catch { return Run(status: -1, stdout: "", stderr: "\(error)", seconds: 0) }
    while p.isRunning && Date().timeIntervalSince(start) < timeout { usleep(5_000) }
    if p.isRunning {
        p.terminate()
        usleep(200_000)
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
    }
    p.waitUntilExit()
    try? out.close()
    try? err.close()
    let seconds = Date().timeIntervalSince(start)
    let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
    let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
    return Run(status: p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus,
               stdout: stdout, stderr: stderr, seconds: seconds)
}

/// A containerd version as the lab reports it (`containerd-lab version`, `KCTR_LAB_CONTAINERD_VERSION`).
/// What the tests expect of the lab's containerd (the version is read by kctr's own ContainerdRelease).
extension ContainerdRelease {
    /// Whether CRI reports the configured sandbox image as pinned once it has it (pulled, or imported
    /// into k8s.io by anyone): 1.6 has no pinning; 1.7 pins images labelled `io.cri-containerd.pinned=pinned`
    /// and adds that label to the sandbox image when it adopts it; 2.x pins the sandbox image itself.
    var pinsSandboxImage: Bool { isAtLeast(1, 7) }

    /// The config.toml table of CRI's runc options and CNI settings: split out of the CRI plugin in 2.0.
    var criRuntimeTable: String { major >= 2 ? "io.containerd.cri.v1.runtime" : "io.containerd.grpc.v1.cri" }
}

/// A private containerd in a temp dir (scripts/lab/containerd-lab), stopped by `stop()`.
/// Which containerd: `KCTR_CONTAINERD_DIR` (read by the lab script; unset: Debian's on PATH).
final class Lab {
    let base: String
    /// The lab's `ctr` (of the same containerd as the daemon) and the daemon's version, as the lab reports them.
    let ctrPath: String
    let version: ContainerdRelease
    var socket: String { base + "/containerd.sock" }

    /// `prepare` runs on BASE before the daemon starts (e.g. to mount a small tmpfs on BASE/root).
    init(_ options: [String] = [], prepare: ((String) throws -> Void)? = nil) throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-lab-\(UUID().uuidString.prefix(8))").path
        if let prepare { try prepare(base) }
        let r = runProcess([Paths.lab, "up", base, "--print-env"] + options, timeout: 60)
        guard r.status == 0 else {
            throw SetupError("cannot start a private containerd (\(r.status)): \(r.stderr)")
        }
        let env = Lab.parseEnv(r.stdout)
        guard let ctr = env["KCTR_LAB_CTR"], let version = env["KCTR_LAB_CONTAINERD_VERSION"].flatMap(ContainerdRelease.init) else {
            _ = runProcess([Paths.lab, "down", base], timeout: 60)
            throw SetupError("containerd-lab up --print-env named no KCTR_LAB_CTR or KCTR_LAB_CONTAINERD_VERSION: \(r.stdout)")
        }
        (ctrPath, self.version) = (ctr, version)
    }

    /// `export KEY=VALUE` lines (values are plain paths and versions here, printed unquoted by `%q`).
    static func parseEnv(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("export ") {
            let pair = line.dropFirst("export ".count)
            guard let eq = pair.firstIndex(of: "=") else { continue }
            out[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        return out
    }

    /// Stops the daemon; with KCTR_KEEP_LAB=1 it is left running for a look
    /// (stop it with `scripts/lab/containerd-lab down BASE`).
    func stop() {
        if ProcessInfo.processInfo.environment["KCTR_KEEP_LAB"] == "1" {
            FileHandle.standardError.write(Data("kept lab: \(base)\n".utf8))
            return
        }
        _ = runProcess([Paths.lab, "down", base], timeout: 60)
    }

    /// Runs kctr against this daemon.
    func kctr(_ args: [String], env: [String: String] = [:], timeout: Double = 60) -> Run {
        runProcess([Paths.kctr, "--address", socket] + args, env: env, timeout: timeout)
    }

    func ctr(_ args: [String], namespace: String = "k8s.io") -> Run {
        runProcess([ctrPath, "--address", socket, "-n", namespace] + args)
    }

    /// `ctr images export OUT REF...`. On 2.x ctr exports through the Transfer API and may exit before its
    /// goroutine has written the whole stream to OUT (seen with 2.3.4: a truncated tar, exit 0); `--local`
    /// exports in ctr's own process, as 1.x always does.
    func ctrExport(_ out: String, _ refs: [String], namespace: String = "k8s.io") -> Run {
        ctr(["images", "export"] + (version.major >= 2 ? ["--local"] : []) + [out] + refs, namespace: namespace)
    }

    var log: String { (try? String(contentsOfFile: base + "/containerd.log", encoding: .utf8)) ?? "" }
}

/// Test images built locally, once per test process.
enum TestImages {
    nonisolated(unsafe) private static var built: [String: String]?
    private static let lock = NSLock()

    /// name -> path: busybox.oci.tar, busybox.docker.tar, pause.*, multi.*, all.oci.tar, layout.
    static func paths() throws -> [String: String] {
        lock.lock()
        defer { lock.unlock() }
        if let built { return built }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-test-images").path
        let r = runProcess([Paths.buildImages, dir], timeout: 300)
        guard r.status == 0 else { throw SetupError("cannot build test images: \(r.stderr)") }
        var out: [String: String] = [:]
        for line in r.lines { out[URL(fileURLWithPath: line).lastPathComponent] = line }
        built = out
        return out
    }

    static func path(_ name: String) throws -> String {
        guard let p = try paths()[name] else { throw SetupError("no test image \(name)") }
        return p
    }
}

func XCTAssertExit(_ r: Run, _ status: Int32, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(r.status, status, "exit \(r.status)\nstdout: \(r.stdout)\nstderr: \(r.stderr)", file: file, line: line)
}

/// A fixture that could not be made (KctrLab's error, which PodFixture throws too).
typealias SetupError = LabError

/// One private daemon shared by the tests of a class, started on first use
/// and stopped in the class's tearDown.
final class SharedLab: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private let options: [String]
    private let prepare: (Lab) throws -> Void
    private var lab: Lab?
    private var failure: Error?

    init(_ options: [String] = [], prepare: @escaping (Lab) throws -> Void = { _ in }) {
        self.options = options
        self.prepare = prepare
    }

    func get() throws -> Lab {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
        if let lab { return lab }
        do {
            let l = try Lab(options)
            lab = l
            try prepare(l)
            return l
        } catch {
            failure = error
            throw error
        }
    }

    func stop() {
        lock.lock()
        defer { lock.unlock() }
        lab?.stop()
        lab = nil
    }
}

/// A kctr command running in the background (a transfer to interrupt, `events` or `logs -f` to follow),
/// its output in files.
class BackgroundKctr {
    let process = Process()
    let dir: URL

    init(_ lab: Lab, _ args: [String], env: [String: String] = [:]) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-bg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir.appendingPathComponent("out").path, contents: nil)
        FileManager.default.createFile(atPath: dir.appendingPathComponent("err").path, contents: nil)
        process.executableURL = URL(fileURLWithPath: Paths.kctr)
        process.arguments = ["--address", lab.socket] + args
        var environment = ProcessInfo.processInfo.environment
        for key in ["CONTAINERD_ADDRESS", "CONTAINER_RUNTIME_ENDPOINT", "CONTAINERD_NAMESPACE", "KCTR_TEST_FAULT"] {
            environment[key] = nil
        }
        environment["KCTR_CACHE_DIR"] = testCacheDirectory
        for (k, v) in env { environment[k] = v }
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: dir.appendingPathComponent("out"))
        process.standardError = try FileHandle(forWritingTo: dir.appendingPathComponent("err"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var stdout: String { (try? String(contentsOf: dir.appendingPathComponent("out"), encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: dir.appendingPathComponent("err"), encoding: .utf8)) ?? "" }

    /// Polls `condition` every 10 ms; false after `timeout` or when kctr exited.
    func wait(timeout: Double = 60, until condition: () -> Bool) -> Bool {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout && process.isRunning {
            if condition() { return true }
            usleep(10_000)
        }
        return false
    }

    /// True once kctr has stopped itself at a KCTR_TEST_FAULT point (`POINT:stop`).
    var isStopped: Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(close, offsetBy: 2)...].hasPrefix("T")
    }

    /// Waits for the exit; the seconds it took, or nil (and kctr killed) after `timeout`.
    func waitExit(timeout: Double) -> Double? {
        let start = Date()
        while process.isRunning && Date().timeIntervalSince(start) < timeout { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return Date().timeIntervalSince(start)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(at: dir)
    }
}
