import Foundation
import XCTest
@testable import KctrCore
@testable import KctrRPC
#if canImport(Glibc)
import Glibc
#endif

/// The `cri` group: RuntimeReady/NetworkReady, and the CNI facts the gatherer reads from CRI's own
/// directories (the daemon-cni fixture, scratch bin dirs).
final class CRIGroupTests: ScratchDirectoryTestCase {
    private func statusJSON(confDir: String, binDirs: [String], list: Bool) -> JSONValue {
        let cni: JSONValue = list ? .object(["confDir": .string(confDir), "binDir": .string(""), "binDirs": .array(binDirs.map(JSONValue.string))])
            : .object(["confDir": .string(confDir), "binDir": .string(binDirs.joined(separator: ","))])
        return .object(["cni": cni])
    }

    private func conditions(runtimeReady: Bool?, networkReady: Bool = true) -> [CRICondition] {
        var out: [CRICondition] = []
        if let runtimeReady {
            out.append(CRICondition(type: "RuntimeReady", status: runtimeReady, reason: runtimeReady ? "" : "RuntimeNotReady",
                                    message: runtimeReady ? "" : "failed to create shim task: runc not found"))
        }
        out.append(CRICondition(type: "NetworkReady", status: networkReady, reason: networkReady ? "" : "NetworkPluginNotReady",
                                message: networkReady ? "" : "cni plugin not initialized"))
        return out
    }

    /// Facts of a daemon whose CNI config is the daemon-cni fixture (or `confDir`), gathered as the gatherer does.
    private func facts(runtimeReady: Bool? = true, networkReady: Bool = true, binDirs: [String], list: Bool = false,
                       confDir: String? = nil, version: String = "1.7.20") throws -> VerifyFacts {
        var f = VerifyFixtures.answered(version)
        let conf = try confDir ?? (VerifyFixtures.dir("daemon-cni") + "/net.d")
        f.daemon.criStatus = .known(VerifyFixtures.status(statusJSON(confDir: conf, binDirs: binDirs, list: list),
                                                          conditions: conditions(runtimeReady: runtimeReady, networkReady: networkReady)))
        f.cni = VerifyGatherer.cni(f)
        return f
    }

    private func cri(_ f: VerifyFacts, file: StaticString = #filePath, line: UInt = #line) -> [String: CheckResult] {
        let results = CRIGroup.results(f)
        XCTAssertEqual(results.map(\.id), Check.of(.cri).map(\.id), file: file, line: line)
        return byID(results, group: "cri", file: file, line: line)
    }

    /// A bin dir with the plugins the daemon-cni conflist names.
    private func binDir(_ name: String = "cni-bin", _ plugins: [String] = ["bridge", "host-local", "portmap"]) throws -> String {
        let bin = dir + "/" + name
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for p in plugins {
            _ = FileManager.default.createFile(atPath: bin + "/" + p, contents: Data("#!/bin/sh\nexit 0\n".utf8), attributes: [.posixPermissions: 0o755])
        }
        return bin
    }

    func testRuntimeAndNetworkReadyPass() throws {
        let c = cri(try facts(binDirs: [try binDir()]))
        XCTAssertEqual(c["cri.runtime-ready"]?.status, .pass)
        XCTAssertEqual(c["cri.network-ready"]?.status, .pass)
        XCTAssertEqual(c["cri.cni-config"]?.status, .pass, c["cri.cni-config"]?.found ?? "")
        assertFound(c["cri.cni-config"], "10-bridge.conflist (network kctr-test)")
    }

    func testRuntimeNotReadyFails() throws {
        let r = cri(try facts(runtimeReady: false, binDirs: [try binDir()]))["cri.runtime-ready"]
        XCTAssertEqual(r?.status, .fail)
        assertFound(r, "RuntimeReady is false (RuntimeNotReady: failed to create shim task: runc not found)")
        XCTAssertEqual(r?.evidence, "runtime.v1.RuntimeService/Status: conditions[type=RuntimeReady]")
        assertFix(r, "journalctl -u containerd", "restart containerd")
    }

    func testMissingRuntimeReadyConditionWarns() throws {
        let r = cri(try facts(runtimeReady: nil, binDirs: [try binDir()]))["cri.runtime-ready"]
        XCTAssertEqual(r?.status, .warn)
        XCTAssertEqual(r?.found, "the runtime reports no RuntimeReady condition")
        assertFix(r, "kctr info")
    }

    func testNetworkNotReadyFailsNamingTheCNIDirs() throws {
        let bin = try binDir()
        let n = cri(try facts(networkReady: false, binDirs: [bin]))["cri.network-ready"]
        XCTAssertEqual(n?.status, .fail)
        assertFound(n, "cni plugin not initialized")
        assertFix(n, "CNI network add-on", "/net.d", "and its plugins in \(bin);")
    }

    /// 2.x reports its CNI plugin directories as the list binDirs (binDir empty): the fix names them all.
    func testNetworkNotReadyOn2xNamesTheBinDirsList() throws {
        let a = try binDir("a", ["bridge"]), b = try binDir("b", ["host-local", "portmap"])
        let c = cri(try facts(networkReady: false, binDirs: [a, b], list: true, version: "v2.3.4"))
        assertFix(c["cri.network-ready"], "and its plugins in \(a), \(b);")
        XCTAssertEqual(c["cri.cni-binaries"]?.status, .pass, c["cri.cni-binaries"]?.found ?? "")
        XCTAssertEqual(c["cri.cni-binaries"]?.evidence, "runtime.v1.RuntimeService/Status: config.cni.binDirs = \(a),\(b)")
    }

    func testCNIBinariesAllPresentPass() throws {
        let bin = try binDir()
        let b = cri(try facts(binDirs: [bin]))["cri.cni-binaries"]
        XCTAssertEqual(b?.status, .pass)
        XCTAssertTrue(b!.found.hasSuffix(": bridge, host-local, portmap"), b!.found)
        XCTAssertEqual(b?.evidence, "runtime.v1.RuntimeService/Status: config.cni.binDir = \(bin)")
    }

    func testCNIBinariesAcrossACommaSeparatedBinDir() throws {
        let a = try binDir("a", ["bridge"]), b = try binDir("b", ["host-local", "portmap"])
        var f = VerifyFixtures.answered("1.6.20")
        f.daemon.criStatus = .known(VerifyFixtures.status(.object(["cni": .object([
            "confDir": .string(try VerifyFixtures.dir("daemon-cni") + "/net.d"), "binDir": .string("\(a), \(b)")])])))
        f.cni = VerifyGatherer.cni(f)
        XCTAssertEqual(f.cni?.binDirs, [a, b])
        XCTAssertEqual(cri(f)["cri.cni-binaries"]?.status, .pass)
    }

    func testCNIBinaryMissingFailsNamingTheVersionsKey() throws {
        let bin = try binDir("cni-bin", ["bridge"])
        // A plugin file that is not executable does not count either.
        try "".write(toFile: bin + "/portmap", atomically: true, encoding: .utf8)
        var f = try facts(binDirs: [bin])
        let b = cri(f)["cri.cni-binaries"]
        XCTAssertEqual(b?.status, .fail)
        XCTAssertEqual(b?.found, "missing from \(bin): host-local (from 10-bridge.conflist), portmap (from 10-bridge.conflist)")
        assertFix(b, "apt-get install containernetworking-plugins", bin, "set bin_dir in [plugins.\"io.containerd.grpc.v1.cri\".cni] to the directory they are in")
        f.config.merged = .object(["version": .number(4)])
        assertFix(cri(f)["cri.cni-binaries"], "set bin_dirs in [plugins.'io.containerd.cri.v1.runtime'.cni] to the directories they are in")
    }

    /// A FIFO at `path` with `payload` waiting in it; its one writer closes after a second, on another
    /// thread (a reader that opened it blocking and read to the end would get the payload at the close).
    private func fifo(_ path: String, payload: String) throws -> DispatchSemaphore {
        XCTAssertEqual(mkfifo(path, 0o644), 0)
        let fd = open(path, O_RDWR)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let bytes = Array(payload.utf8)
        XCTAssertEqual(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }, bytes.count)
        let closed = DispatchSemaphore(value: 0)
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) {
            close(fd)
            closed.signal()
        }
        return closed
    }

    func testCNIConfigThatIsAFIFOOrTooLargeIsNotRead() throws {
        let conf = dir + "/net.d"
        try FileManager.default.createDirectory(atPath: conf, withIntermediateDirectories: true)
        let good = try VerifyFixtures.text("daemon-cni/net.d/10-bridge.conflist")
        try good.write(toFile: conf + "/05-ok.conflist", atomically: true, encoding: .utf8)
        let big = #"{"cniVersion": "1.0.0", "name": "big", "plugins": [{"type": "bridge"}], "pad": ""# + String(repeating: "x", count: 2 << 20) + "\"}"
        try big.write(toFile: conf + "/20-big.conflist", atomically: true, encoding: .utf8)
        let closed = try fifo(conf + "/10-fifo.conflist", payload: good)
        defer { closed.wait() }
        let bin = try binDir()
        let config = cri(try facts(binDirs: [bin], confDir: conf))["cri.cni-config"]
        XCTAssertEqual(config?.status, .warn)
        XCTAssertEqual(config?.found, "3 config(s); containerd uses 05-ok.conflist (network kctr-test), but these are invalid: "
                       + "10-fifo.conflist (\(conf)/10-fifo.conflist is not a regular file); "
                       + "20-big.conflist (\(conf)/20-big.conflist is 2.0 MiB, more than the 1.0 MiB a configuration file may have)")
        assertFix(config, "remove the invalid files from \(conf)")

        // The FIFO first by name: the config containerd would use cannot be read.
        try FileManager.default.removeItem(atPath: conf + "/05-ok.conflist")
        let first = cri(try facts(binDirs: [bin], confDir: conf))["cri.cni-config"]
        XCTAssertEqual(first?.status, .fail)
        XCTAssertEqual(first?.found, "\(conf)/10-fifo.conflist, the config containerd uses (first by name), is invalid: \(conf)/10-fifo.conflist is not a regular file")
        assertFix(first, "fix or remove \(conf)/10-fifo.conflist")
    }

    func testNoCNIConfigDirectoryOrFileFails() throws {
        let c = cri(try facts(binDirs: [try binDir()], confDir: dir + "/none"))
        XCTAssertEqual(c["cri.cni-config"]?.found, "the CNI config directory \(dir)/none does not exist")
        XCTAssertEqual(c["cri.cni-binaries"]?.status, .skip)
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        let empty = cri(try facts(binDirs: [try binDir()], confDir: dir + "/empty"))["cri.cni-config"]
        XCTAssertEqual(empty?.status, .fail)
        assertFound(empty, "no .conf, .conflist or .json file in \(dir)/empty", "cni plugin not initialized")
        assertFix(empty, "network add-on", "without a restart")
    }

    func testCRINotServingOrUnreachableSkipsAll() {
        var f = VerifyFixtures.answered("1.7.20")
        f.daemon.criStatus = .unknown(KctrError("the CRI plugin is not serving"))
        let results = CRIGroup.results(f)
        XCTAssertEqual(results.map(\.id), Check.of(.cri).map(\.id))
        XCTAssertTrue(results.allSatisfy { $0.status == .skip && $0.found == "CRI is not serving (see daemon.cri-plugin)" })
        XCTAssertTrue(CRIGroup.results(VerifyFixtures.facts()).allSatisfy { $0.found == "daemon not reachable (see daemon.socket)" })
    }
}
