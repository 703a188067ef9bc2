import Foundation
import XCTest
@testable import KctrCore
@testable import KctrRPC
#if canImport(Glibc)
import Glibc
#endif

/// The `runtimes` group: the default runtime and types from facts; the binaries as the gatherer probes
/// them on a fake host (what kctr refuses to run as root included).
final class RuntimesGroupTests: ScratchDirectoryTestCase {
    /// CRI config with one runtime per (name, type, BinaryName).
    private func status(default def: String, _ runtimes: [(String, String, String?)]) -> CRIStatus {
        var table: [String: JSONValue] = [:]
        for (name, type, binary) in runtimes {
            var options: [String: JSONValue] = ["SystemdCgroup": .bool(false)]
            if let binary { options["BinaryName"] = .string(binary) }
            table[name] = .object(["runtimeType": .string(type), "options": .object(options)])
        }
        return VerifyFixtures.status(.object(["containerd": .object(["defaultRuntimeName": .string(def), "runtimes": .object(table)])]))
    }

    private func runtimes(_ status: CRIStatus, fileVersion: Int? = nil, file: StaticString = #filePath, line: UInt = #line) -> [String: CheckResult] {
        var f = VerifyFixtures.answered("1.7.20")
        f.daemon.criStatus = .known(status)
        if let fileVersion { f.config.merged = .object(["version": .number(Double(fileVersion))]) }
        f.runtimeBinaries = RuntimeBinaryFacts(socketUntrusted: nil, runtimes: [])
        let results = RuntimesGroup.results(f)
        XCTAssertEqual(results.map(\.id), Check.of(.runtimes).map(\.id), file: file, line: line)
        return byID(results, group: "runtimes", file: file, line: line)
    }

    func testDefaultRuntimeConfiguredPasses() {
        let c = runtimes(status(default: "runc", [("runc", "io.containerd.runc.v2", nil), ("gvisor", "io.containerd.runsc.v1", nil)]))
        XCTAssertEqual(c["runtimes.default"]?.found, "the default runtime runc is configured")
        XCTAssertEqual(c["runtimes.type"]?.found, "gvisor=io.containerd.runsc.v1, runc=io.containerd.runc.v2")
    }

    func testDefaultRuntimeMissingFailsNamingTheFilesTables() {
        let c = runtimes(status(default: "crun", [("runc", "io.containerd.runc.v2", nil)]))
        let d = c["runtimes.default"]
        XCTAssertEqual(d?.status, .fail)
        assertFound(d, "default_runtime_name = \"crun\" but there is no runtime crun (configured: runc)")
        assertFix(d, "add [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.crun]",
                  "default_runtime_name in [plugins.\"io.containerd.grpc.v1.cri\".containerd] to one of runc", "systemctl restart containerd")
        assertFix(runtimes(status(default: "crun", [("runc", "io.containerd.runc.v2", nil)]), fileVersion: 4)["runtimes.default"],
                  "add [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.crun]")

        let empty = runtimes(status(default: "", []))
        assertFound(empty["runtimes.default"], "configured: none")
        assertFix(empty["runtimes.default"], ".containerd.runtimes.runc]")
        XCTAssertEqual(empty["runtimes.type"]?.status, .skip)
        XCTAssertEqual(empty["runtimes.binary"]?.status, .skip)
    }

    func testDeprecatedAndUnknownRuntimeTypesWarn() {
        let t = runtimes(status(default: "runc", [("runc", "io.containerd.runtime.v1.linux", nil)]))["runtimes.type"]
        XCTAssertEqual(t?.found, "deprecated runtime type: runc=io.containerd.runtime.v1.linux (removed in containerd 2.0)")
        assertFix(t, "runtime_type = \"io.containerd.runc.v2\"", "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.<name>]", "/etc/containerd/config.toml")
        let u = runtimes(status(default: "runc", [("runc", "io.containerd.runc.v2", nil), ("typo", "io.containerd.runcc.v2", nil), ("blank", "", nil)]))["runtimes.type"]
        XCTAssertEqual(u?.found, "runtime type kctr does not know: blank=(empty), typo=io.containerd.runcc.v2")
        assertFix(u, "containerd-shim-<name>-<version>")
    }

    func testWithoutDaemonOrCRISkip() {
        XCTAssertEqual(RuntimesGroup.results(VerifyFixtures.facts()).map(\.status), [.skip, .skip, .skip])
        var noCRI = VerifyFixtures.answered("1.7.20")
        noCRI.daemon.criStatus = .unknown(KctrError("not serving"))
        XCTAssertTrue(RuntimesGroup.results(noCRI).allSatisfy { $0.found == "CRI is not serving (see daemon.cri-plugin)" })
    }

    // MARK: runtimes.binary

    private func script(_ path: String, _ body: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(path, 0o755), 0)
    }

    /// A unix socket bound in the scratch directory, with no listener.
    private func boundSocket(_ name: String = "containerd.sock") throws -> String {
        let path = dir + "/" + name
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        XCTAssertLessThan(bytes.count, MemoryLayout.size(ofValue: addr.sun_path))
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in
            for (i, b) in bytes.enumerated() { buf[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(rc, 0, "bind \(path): errno \(errno)")
        return path
    }

    /// A fake host: `root` holds the runc shim (found under --root when the host has none), `bin`
    /// (outside root, so it is run) the runtime binaries; the endpoint is a socket root owns.
    private func host() throws -> (facts: VerifyFacts, bin: String) {
        try script(dir + "/root/usr/bin/containerd-shim-runc-v2", "exit 0")
        try script(dir + "/root/usr/local/sbin/kctrtest-runc", "exit 1")
        try script(dir + "/bin/good-runc", "echo 'runc version 1.1.12-kctrtest'; echo 'commit: v1.1.12'")
        try script(dir + "/bin/bad-runc", "echo 'error while loading shared libraries: libseccomp.so.2' >&2; exit 127")
        var f = VerifyFixtures.answered("1.7.20", root: dir + "/root")
        f.endpoint = Endpoint(path: try boundSocket(), source: "--address")
        return (f, dir + "/bin")
    }

    /// runtimes.binary after the gatherer probed `runtimes`.
    private func binary(_ f: VerifyFacts, _ runtimes: [(String, String, String?)], default def: String = "runc") -> CheckResult {
        var f = f
        f.daemon.criStatus = .known(status(default: def, runtimes))
        f.runtimeBinaries = VerifyGatherer.runtimeBinaries(f)
        guard let running = f.daemon.running else { return Check.runtimesBinary.skip("no status", evidence: "-") }
        return RuntimesGroup.binaries(f, running: running)
    }

    func testBinaryRunsPasses() throws {
        let (f, bin) = try host()
        let r = binary(f, [("runc", "io.containerd.runc.v2", bin + "/good-runc")])
        XCTAssertEqual(r.status, .pass, r.found)
        XCTAssertEqual(r.found, "runc: \(bin)/good-runc (runc version 1.1.12-kctrtest)")
        XCTAssertTrue(r.evidence.contains("runc: options.BinaryName = \(bin)/good-runc"), r.evidence)
        XCTAssertTrue(r.evidence.contains("containerd-shim-runc-v2"), r.evidence)
    }

    func testBinaryUnderRootIsFoundNotRun() throws {
        let (f, _) = try host()
        // An absolute BinaryName is looked up as is, then under --root; the host's binary is not run
        // from here (its libraries are the host's), so its failing --version does not count.
        let r = binary(f, [("runc", "io.containerd.runc.v2", "/usr/local/sbin/kctrtest-runc")])
        XCTAssertEqual(r.status, .pass, r.found)
        XCTAssertEqual(r.found, "runc: \(f.paths.root)/usr/local/sbin/kctrtest-runc (the host's binary under --root: found, not run from here)")
    }

    func testMissingOrFailingBinaryOrShimFails() throws {
        let (f, bin) = try host()
        let missing = binary(f, [("runc", "io.containerd.runc.v2", "/opt/kctr-nonexistent/runc")])
        XCTAssertEqual(missing.found, "runc: /opt/kctr-nonexistent/runc not found on PATH")
        assertFix(missing, "apt-get install runc", "BinaryName in [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.<name>.options]")
        let broken = binary(f, [("runc", "io.containerd.runc.v2", bin + "/good-runc"), ("broken", "io.containerd.runc.v2", bin + "/bad-runc")])
        XCTAssertEqual(broken.found, "broken: \(bin)/bad-runc --version failed (exit 127: error while loading shared libraries: libseccomp.so.2)")
        let shim = binary(f, [("kctrtest", "io.containerd.kctrtest.v9", nil)], default: "kctrtest")
        XCTAssertEqual(shim.found, "kctrtest: shim containerd-shim-kctrtest-v9 not found on PATH")
        assertFix(shim, "containerd's shims where containerd's PATH finds them")
    }

    /// A BinaryName that a user other than root can change is not run, and the finding says why.
    func testBinaryOthersCanChangeIsNotRun() throws {
        let (f, bin) = try host()
        let marker = bin + "/ran"
        try script(bin + "/evil-runc", "touch \(marker)\necho 'runc version 6.6.6'")
        XCTAssertEqual(chmod(bin + "/evil-runc", 0o757), 0)
        let r = binary(f, [("evil", "io.containerd.runc.v2", bin + "/evil-runc")], default: "evil")
        XCTAssertEqual(r.status, .fail)
        XCTAssertEqual(r.found, "evil: kctr refused to run \(bin)/evil-runc --version as root: \(bin)/evil-runc is writable by every user (mode 757)")
        assertFix(r, "chown root:root and chmod go-w", "BinaryName to a root-owned runc such as /usr/sbin/runc")
        XCTAssertFalse(r.fix?.contains("apt-get install runc") ?? true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the binary was run")
    }

    /// Symlinks are followed: the real file and each directory on the real path are checked, and each
    /// symlink on the way must be root's too; a directory another user owns is refused.
    func testBinaryBehindASymlinkIsCheckedWhereItLeads() throws {
        let (f, bin) = try host()
        let marker = bin + "/ran"
        try script(bin + "/nobody/runc", "touch \(marker)\necho 'runc version 6.6.6'")
        XCTAssertEqual(chown(bin + "/nobody", 65534, 65534), 0)
        XCTAssertEqual(symlink("nobody/runc", bin + "/link-runc"), 0)
        let viaLink = binary(f, [("evil", "io.containerd.runc.v2", bin + "/link-runc")], default: "evil")
        XCTAssertEqual(viaLink.found, "evil: kctr refused to run \(bin)/link-runc --version as root: \(bin)/nobody is a directory owned by uid 65534, not by root")
        XCTAssertEqual(symlink(bin + "/good-runc", bin + "/their-link"), 0)
        XCTAssertEqual(lchown(bin + "/their-link", 65534, 65534), 0)
        let theirs = binary(f, [("evil", "io.containerd.runc.v2", bin + "/their-link")], default: "evil")
        XCTAssertEqual(theirs.found, "evil: kctr refused to run \(bin)/their-link --version as root: \(bin)/their-link is a symlink owned by uid 65534, not by root")
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
        XCTAssertEqual(symlink("good-runc", bin + "/root-link"), 0)
        XCTAssertEqual(binary(f, [("runc", "io.containerd.runc.v2", bin + "/root-link")]).found, "runc: \(bin)/root-link (runc version 1.1.12-kctrtest)")
    }

    /// A socket root does not own: whatever its reply names is run by no one.
    func testBinariesAreNotRunWhenTheSocketIsNotRoots() throws {
        var (f, bin) = try host()
        let marker = bin + "/ran"
        try script(bin + "/named-runc", "touch \(marker)\necho 'runc version 6.6.6'")
        let socket = try boundSocket("other.sock")
        XCTAssertEqual(lchown(socket, 65534, 65534), 0)
        f.endpoint = Endpoint(path: socket, source: "--address")
        let r = binary(f, [("runc", "io.containerd.runc.v2", bin + "/named-runc")])
        XCTAssertEqual(r.status, .fail)
        XCTAssertEqual(r.found, "kctr runs no runtime binary the reply on \(socket) names, since that socket could be someone else's: \(socket) is a file owned by uid 65534, not by root")
        assertFix(r, "check who listens on \(socket)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
        // Group-writable is how containerd makes it (0660); writable by everyone is not.
        XCTAssertEqual(lchown(socket, 0, 0), 0)
        XCTAssertEqual(chmod(socket, 0o660), 0)
        XCTAssertEqual(binary(f, [("runc", "io.containerd.runc.v2", bin + "/good-runc")]).status, .pass)
    }

    func testShimBinaryNames() {
        XCTAssertEqual(RuntimesGroup.shimBinary("io.containerd.runc.v2"), "containerd-shim-runc-v2")
        XCTAssertEqual(RuntimesGroup.shimBinary("io.containerd.runsc.v1"), "containerd-shim-runsc-v1")
        XCTAssertNil(RuntimesGroup.shimBinary("io.containerd.runtime.v1.linux"))
        XCTAssertNil(RuntimesGroup.shimBinary(""))
    }
}
