import Foundation
import XCTest
@testable import KctrCore
import KctrRPC

final class ConfigChecksTests: XCTestCase {
    static func fixtureDir(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try fixture("verify/\(name)", file: file, line: line)
    }

    /// A file or directory under Fixtures/ in the test bundle.
    static func fixture(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/\(relative)", withExtension: nil),
                                "fixture \(relative) is not in the test bundle", file: file, line: line)
        return url.path
    }

    private func context(_ fixture: String, running: JSONValue? = nil, daemon: String? = nil) throws -> VerifyContext {
        var paths = VerifyPaths()
        paths.containerdConfig = try Self.fixtureDir(fixture) + "/config.toml"
        var ctx = VerifyContext(paths: paths, endpoint: Endpoint(path: "/run/containerd/containerd.sock", source: "default"))
        ctx.running = running.map { RuntimeConfigView(configJSON: $0) }
        if let daemon {
            ctx.version = try JSONDecoder().decode(DaemonVersion.self,
                                                   from: Data(#"{"version":"\#(daemon)","revision":"r"}"#.utf8))
        }
        return ctx
    }

    private func checks(_ fixture: String, running: JSONValue? = nil, daemon: String? = nil) throws -> [String: CheckResult] {
        let results = FileChecks.configChecks(try context(fixture, running: running, daemon: daemon))
        XCTAssertEqual(results.map(\.id), ["config.parse", "config.version", "config.disabled-plugins",
                                           "config.systemd-cgroup-placement", "config.unknown-keys", "config.drift"])
        XCTAssertTrue(results.allSatisfy { $0.group == "config" })
        for r in results where r.status == .warn || r.status == .fail {
            XCTAssertNotNil(r.fix, "\(r.id) has no fix")
            XCTAssertFalse(r.evidence.isEmpty, "\(r.id) has no evidence")
        }
        return Dictionary(uniqueKeysWithValues: results.map { ($0.id, $0) })
    }

    static func running(sandbox: String = "registry.k8s.io/pause:3.9", snapshotter: String = "overlayfs",
                        systemdCgroup: Bool = true, runtime: String = "runc") -> JSONValue {
        .object([
            "sandboxImage": .string(sandbox),
            "containerd": .object([
                "snapshotter": .string(snapshotter),
                "defaultRuntimeName": .string(runtime),
                "runtimes": .object([runtime: .object([
                    "runtimeType": .string("io.containerd.runc.v2"),
                    "options": .object(["SystemdCgroup": .bool(systemdCgroup)]),
                ])]),
            ]),
        ])
    }

    // MARK: - Loading and imports

    func testLoadFollowsGlobImportsAndMergesAsContainerd() throws {
        let dir = try Self.fixtureDir("config-good")
        let file = FileChecks.loadContainerdConfig(path: dir + "/config.toml")
        XCTAssertNil(file.error)
        XCTAssertFalse(file.missing)
        XCTAssertEqual(file.imports, [dir + "/conf.d/10-gc.toml", dir + "/conf.d/20-grpc.toml"])
        let doc = try XCTUnwrap(file.merged)
        // Arrays are appended to.
        XCTAssertEqual(doc["disabled_plugins"], .array([.string("io.containerd.internal.v1.tracing"),
                                                        .string("io.containerd.snapshotter.v1.btrfs")]))
        // An empty value does not override (mergo).
        XCTAssertEqual(doc["oom_score"], .number(-999))
        // Tables outside plugins merge key by key.
        XCTAssertEqual(doc["grpc"]?["max_recv_message_size"], .number(33_554_432))
        // A plugin's table is replaced whole by a later file's; others stay.
        XCTAssertEqual(doc["plugins"]?["io.containerd.gc.v1.scheduler"], .object(["pause_threshold": .number(0.1)]))
        XCTAssertEqual(doc["plugins"]?["io.containerd.grpc.v1.cri"]?["sandbox_image"], .string("registry.k8s.io/pause:3.9"))
        XCTAssertEqual(file.source(of: ["grpc", "max_recv_message_size"]), dir + "/conf.d/20-grpc.toml")
        XCTAssertEqual(file.source(of: ["plugins", "io.containerd.grpc.v1.cri"]), dir + "/config.toml")
    }

    func testMergeReplacesPluginSectionsWhole() {
        var into: [String: JSONValue] = ["plugins": .object(["p": .object(["a": .number(1), "b": .number(2)])]),
                                         "timeouts": .object(["x": .string("1s")])]
        FileChecks.mergeTop(&into, ["plugins": .object(["p": .object(["a": .number(3)])]),
                                    "timeouts": .object(["y": .string("2s")]), "root": .string("/data")])
        XCTAssertEqual(into["plugins"], .object(["p": .object(["a": .number(3)])]))
        XCTAssertEqual(into["timeouts"], .object(["x": .string("1s"), "y": .string("2s")]))
        XCTAssertEqual(into["root"], .string("/data"))
    }

    func testGlobMatching() {
        XCTAssertTrue(FileChecks.fnmatch(Array("*.toml"), Array("10-a.toml")))
        XCTAssertFalse(FileChecks.fnmatch(Array("*.toml"), Array("README.txt")))
        XCTAssertTrue(FileChecks.fnmatch(Array("[0-9]?-*"), Array("10-x")))
        XCTAssertFalse(FileChecks.fnmatch(Array("[!0-9]*"), Array("10-x")))
        XCTAssertTrue(FileChecks.fnmatch(Array("a*b*c"), Array("axxbyyc")))
        XCTAssertFalse(FileChecks.fnmatch(Array("a*b*c"), Array("axxbyy")))
    }

    func testMissingImportFailsParse() throws {
        let c = try checks("config-missing-import")
        XCTAssertEqual(c["config.parse"]?.status, .fail)
        XCTAssertTrue(c["config.parse"]!.found.contains("/etc/containerd/does-not-exist.d/extra.toml: cannot read this import"),
                      c["config.parse"]!.found)
        XCTAssertEqual(c["config.version"]?.status, .skip)
    }

    // MARK: - config.parse

    func testParsePassCountsImports() throws {
        let c = try checks("config-good")
        XCTAssertEqual(c["config.parse"]?.status, .pass)
        XCTAssertTrue(c["config.parse"]!.found.contains("2 imports"), c["config.parse"]!.found)
    }

    func testParseMissingFileWarnsWithDefaults() throws {
        var paths = VerifyPaths()
        paths.containerdConfig = try Self.fixtureDir("config-good") + "/nope/config.toml"
        let results = FileChecks.configChecks(VerifyContext(paths: paths, endpoint: Endpoint(path: "/run/x.sock", source: "default")))
        XCTAssertEqual(results.count, 6)
        XCTAssertEqual(results[0].status, .warn)
        XCTAssertTrue(results[0].found.contains("containerd runs with built-in defaults"))
        XCTAssertTrue(results[0].fix!.contains("containerd config default > \(paths.containerdConfig)"))
        XCTAssertTrue(results.dropFirst().allSatisfy { $0.status == .skip })
    }

    func testParseFailureNamesTheLine() throws {
        let c = try checks("config-broken")
        let parse = try XCTUnwrap(c["config.parse"])
        XCTAssertEqual(parse.status, .fail)
        XCTAssertTrue(parse.found.contains("config-broken/config.toml: line 6: expected '=' after key SystemdCgroup"), parse.found)
        XCTAssertTrue(parse.evidence.hasSuffix("config-broken/config.toml"), parse.evidence)
        XCTAssertEqual(c["config.drift"]?.status, .skip)
    }

    // MARK: - config.version

    func testVersion2Passes() throws {
        XCTAssertEqual(try checks("config-good")["config.version"]?.status, .pass)
    }

    func testVersion1Warns() throws {
        let v = try XCTUnwrap(try checks("config-v1")["config.version"])
        XCTAssertEqual(v.status, .warn)
        XCTAssertTrue(v.found.contains("version 1"))
        XCTAssertTrue(v.fix!.contains("version = 2"))
    }

    func testVersion3NeedsContainerd2() throws {
        XCTAssertEqual(try checks("config-v3", daemon: "2.0.2")["config.version"]?.status, .pass)
        XCTAssertEqual(try checks("config-v3", daemon: "v2.1.0")["config.version"]?.status, .pass)
        let old = try XCTUnwrap(try checks("config-v3", daemon: "1.6.20~ds1")["config.version"])
        XCTAssertEqual(old.status, .fail)
        XCTAssertTrue(old.found.contains("containerd 1.6.20~ds1"))
        XCTAssertEqual(try checks("config-v3")["config.version"]?.status, .warn)
        // version 3: SystemdCgroup under io.containerd.cri.v1.runtime is the right place.
        XCTAssertEqual(try checks("config-v3", daemon: "2.0.2")["config.systemd-cgroup-placement"]?.status, .pass)
        XCTAssertEqual(try checks("config-v3", daemon: "2.0.2")["config.unknown-keys"]?.status, .skip)
    }

    // MARK: - config.disabled-plugins

    func testDisabledPluginsPass() throws {
        let d = try XCTUnwrap(try checks("config-good")["config.disabled-plugins"])
        XCTAssertEqual(d.status, .pass)
        XCTAssertTrue(d.found.contains("io.containerd.internal.v1.tracing"))
    }

    func testDisabledCRIFails() throws {
        let d = try XCTUnwrap(try checks("config-bad")["config.disabled-plugins"])
        XCTAssertEqual(d.status, .fail)
        XCTAssertTrue(d.found.contains("\"cri\""))
        XCTAssertTrue(d.evidence.hasSuffix("config-bad/config.toml: disabled_plugins"), d.evidence)
        XCTAssertTrue(d.fix!.contains("remove \"cri\" from disabled_plugins"))
        XCTAssertTrue(d.fix!.contains("systemctl restart containerd"))
    }

    // MARK: - config.systemd-cgroup-placement

    func testSystemdCgroupInOptionsPasses() throws {
        let p = try XCTUnwrap(try checks("config-good")["config.systemd-cgroup-placement"])
        XCTAssertEqual(p.status, .pass)
        XCTAssertEqual(p.found, "SystemdCgroup = true in [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]")
    }

    func testSystemdCgroupDirectlyUnderRuntimeFails() throws {
        let p = try XCTUnwrap(try checks("config-bad")["config.systemd-cgroup-placement"])
        XCTAssertEqual(p.status, .fail)
        XCTAssertTrue(p.found.contains("SystemdCgroup is set in [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]: containerd ignores it there"), p.found)
        XCTAssertTrue(p.evidence.hasSuffix("config.toml: plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.SystemdCgroup"), p.evidence)
        XCTAssertTrue(p.fix!.contains("to [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]"), p.fix!)
    }

    func testSystemdCgroupInVersion1FileUnderV2NameFails() throws {
        let p = try XCTUnwrap(try checks("config-v1")["config.systemd-cgroup-placement"])
        XCTAssertEqual(p.status, .fail)
        XCTAssertTrue(p.found.contains("reads it as version 1"), p.found)
        XCTAssertTrue(p.fix!.contains("add `version = 2`"), p.fix!)
    }

    func testSystemdCgroupUnderV1TableInV2FileFails() throws {
        let doc = try TOML.parse("version = 2\n[plugins.cri.containerd.runtimes.runc.options]\nSystemdCgroup = true\n")
        let file = ContainerdConfigFile(path: "/etc/containerd/config.toml", merged: doc,
                                        documents: [.init(path: "/etc/containerd/config.toml", value: doc)])
        let p = FileChecks.systemdCgroupPlacementCheck(file: file, doc: doc)
        XCTAssertEqual(p.status, .fail)
        XCTAssertTrue(p.found.contains("[plugins.cri] is the CRI table of a version 1 file"), p.found)
        XCTAssertTrue(p.fix!.contains("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]"))
        // A string is not a boolean.
        let quoted = try TOML.parse("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\nSystemdCgroup = \"true\"\n")
        XCTAssertEqual(FileChecks.systemdCgroupPlacementCheck(file: file, doc: quoted).status, .fail)
        // Not set at all: pass (cgroupfs).
        let none = FileChecks.systemdCgroupPlacementCheck(file: file, doc: .object(["version": .number(2)]))
        XCTAssertEqual(none.status, .pass)
        XCTAssertTrue(none.found.contains("cgroupfs"))
    }

    func testLegacySystemdCgroupKey() throws {
        let p = try XCTUnwrap(try checks("config-legacy-systemd")["config.systemd-cgroup-placement"])
        XCTAssertEqual(p.status, .fail)
        XCTAssertTrue(p.found.contains("only works for runtime io.containerd.runtime.v1.linux"), p.found)
        XCTAssertTrue(p.evidence.hasSuffix("plugins.\"io.containerd.grpc.v1.cri\".systemd_cgroup"), p.evidence)
        // With the v1 runtime it is only deprecated.
        let doc = try TOML.parse("""
        version = 2
        [plugins."io.containerd.grpc.v1.cri"]
        systemd_cgroup = true
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runtime.v1.linux"
        """)
        let file = ContainerdConfigFile(path: "/c.toml", merged: doc, documents: [.init(path: "/c.toml", value: doc)])
        let w = FileChecks.systemdCgroupPlacementCheck(file: file, doc: doc)
        XCTAssertEqual(w.status, .warn)
        XCTAssertTrue(w.found.contains("deprecated"))
        // systemd_cgroup = false (as `containerd config default` writes it) is fine.
        let def = try XCTUnwrap(try checks("config-good")["config.systemd-cgroup-placement"])
        XCTAssertEqual(def.status, .pass)
    }

    // MARK: - config.unknown-keys

    func testKnownKeysPass() throws {
        XCTAssertEqual(try checks("config-good")["config.unknown-keys"]?.status, .pass)
        // Every key `containerd config default` writes is known.
        let doc = try TOML.parse(String(contentsOfFile: try Self.fixtureDir("containerd-1.6-default.toml"), encoding: .utf8))
        let file = ContainerdConfigFile(path: "/c.toml", merged: doc, documents: [.init(path: "/c.toml", value: doc)])
        let u = FileChecks.unknownKeysCheck(file: file, doc: doc)
        XCTAssertEqual(u.status, .pass, u.found)
    }

    func testUnknownKeysWarnWithSuggestions() throws {
        let u = try XCTUnwrap(try checks("config-bad")["config.unknown-keys"])
        XCTAssertEqual(u.status, .warn)
        XCTAssertTrue(u.found.hasPrefix("5 keys containerd ignores (typo?): "), u.found)
        XCTAssertTrue(u.found.contains("plugins.\"io.containerd.grpc.v1.cri\".sandboxImage (did you mean sandbox_image?)"), u.found)
        XCTAssertTrue(u.found.contains("plugins.\"io.containerd.grpc.v1.cri\".snapshotter (it belongs in [plugins.\"io.containerd.grpc.v1.cri\".containerd] as snapshotter)"), u.found)
        XCTAssertTrue(u.found.contains("containerd.snapshoter (did you mean snapshotter?)"), u.found)
        XCTAssertTrue(u.found.contains("cni.confdir (did you mean conf_dir?)"), u.found)
        XCTAssertTrue(u.found.contains("registry.mirror (did you mean mirrors?)"), u.found)
        XCTAssertFalse(u.found.contains("SystemdCgroup"), "reported by config.systemd-cgroup-placement")
        XCTAssertTrue(u.fix!.contains("systemctl restart containerd"))
    }

    func testV2TableInVersion1FileIsReportedIgnored() throws {
        let u = try XCTUnwrap(try checks("config-v1")["config.unknown-keys"])
        XCTAssertEqual(u.status, .warn)
        XCTAssertTrue(u.found.contains("[plugins.\"io.containerd.grpc.v1.cri\"] (the CRI table of a version 2 file; this file is version 1)"), u.found)
    }

    // MARK: - config.drift

    func testDriftSkipsWithoutRunningConfig() throws {
        XCTAssertEqual(try checks("config-good")["config.drift"]?.status, .skip)
    }

    func testNoDriftPasses() throws {
        let d = try XCTUnwrap(try checks("config-good", running: Self.running())["config.drift"])
        XCTAssertEqual(d.status, .pass, d.found)
        XCTAssertTrue(d.found.contains("sandbox_image, snapshotter, SystemdCgroup of runc"), d.found)
    }

    func testDriftWarnsWithBothValues() throws {
        let d = try XCTUnwrap(try checks("config-good", running: Self.running(sandbox: "registry.k8s.io/pause:3.6",
                                                                              systemdCgroup: false))["config.drift"])
        XCTAssertEqual(d.status, .warn)
        XCTAssertTrue(d.found.hasPrefix("the file was edited but containerd was not restarted"))
        XCTAssertTrue(d.found.contains("sandbox_image is \"registry.k8s.io/pause:3.9\" in the file but containerd runs with \"registry.k8s.io/pause:3.6\""), d.found)
        XCTAssertTrue(d.found.contains("runtimes.runc.options.SystemdCgroup is true in the file but containerd runs with false"), d.found)
        XCTAssertFalse(d.found.contains("snapshotter"))
        XCTAssertTrue(d.fix!.contains("systemctl restart containerd"))
    }

    func testDriftRuntimeMissingFromDaemon() throws {
        let d = try XCTUnwrap(try checks("config-good", running: Self.running(runtime: "crun"))["config.drift"])
        XCTAssertEqual(d.status, .warn)
        XCTAssertTrue(d.found.contains("runtime \"runc\" (SystemdCgroup = true) is in the file but not in the running config"), d.found)
    }
}

/// config.toml `imports` written by hand in a scratch directory: cycles and the file limit.
final class ConfigImportTests: ScratchDirectoryTestCase {
    func write(_ path: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func testCleanPathIsGoFilepathClean() {
        for (input, clean) in [("", "."), (".", "."), ("/", "/"), ("//a//b/", "/a/b"), ("a/./b/../c", "a/c"), ("/../a", "/a"),
                               ("../../a", "../../a"), ("a/../..", ".."), ("/a/b/../../..", "/"), ("a/b/..", "a")] {
            XCTAssertEqual(FileChecks.cleanPath(input), clean, input)
        }
    }

    /// Two directories importing each other with "../": the paths grew ("a/../b/../a/...") and were never
    /// the same twice, so each hop read the files again.
    func testImportCycleThroughParentDirectoriesReadsEachFileOnce() throws {
        try write(dir + "/a/config.toml", "version = 2\nimports = [\"../b/*.toml\"]\noom_score = -1\n")
        try write(dir + "/b/x.toml", "imports = [\"../a/*.toml\", \"../b/./x.toml\", \"\(dir)/a/../b/x.toml\"]\n[grpc]\n  uid = 7\n")
        let file = FileChecks.loadContainerdConfig(path: dir + "/a/config.toml")
        XCTAssertNil(file.error)
        XCTAssertNil(file.limit)
        XCTAssertEqual(file.imports, [dir + "/b/x.toml"])
        XCTAssertEqual(file.documents.map(\.path), [dir + "/a/config.toml", dir + "/b/x.toml"])
        XCTAssertEqual(file.merged?["grpc"]?["uid"], .number(7))
    }

    func testImportsAreCleanedAndRelativeToTheImportingFile() {
        XCTAssertEqual(FileChecks.resolveImports(["./d/../d/1.toml", "/etc//x/../y.toml", "../z.toml"], parent: "etc/config.toml"),
                       ["etc/d/1.toml", "/etc/y.toml", "z.toml"])
        XCTAssertEqual(FileChecks.resolveImports(["x.toml"], parent: "config.toml"), ["x.toml"])
    }

    /// containerd reads every match of a glob; kctr stops at 64 files and says so.
    func testMoreThan64FilesAreNotRead() throws {
        try write(dir + "/config.toml", "version = 2\nimports = [\"conf.d/*.toml\"]\n")
        for i in 0..<70 { try write(dir + "/conf.d/\(String(format: "%02d", i)).toml", "oom_score = \(i)\n") }
        let file = FileChecks.loadContainerdConfig(path: dir + "/config.toml")
        XCTAssertNil(file.error)
        XCTAssertNil(file.merged)
        XCTAssertEqual(file.imports.count, 63)
        XCTAssertEqual(file.limit, "\(dir)/config.toml and its imports name more than 64 files, the most kctr reads; it stopped before \(dir)/conf.d/63.toml")

        var paths = VerifyPaths()
        paths.containerdConfig = dir + "/config.toml"
        let results = FileChecks.configChecks(VerifyContext(paths: paths, endpoint: Endpoint(path: "/run/x.sock", source: "default")))
        XCTAssertEqual(results.map(\.id), ["config.parse", "config.version", "config.disabled-plugins",
                                           "config.systemd-cgroup-placement", "config.unknown-keys", "config.drift"])
        XCTAssertEqual(results[0].status, .warn)
        XCTAssertEqual(results[0].found, "\(file.limit ?? ""): the files were not merged, so the config checks are skipped")
        XCTAssertTrue(results[0].fix?.contains("a glob may match more than meant") == true, results[0].fix ?? "")
        XCTAssertTrue(results.dropFirst().allSatisfy { $0.status == .skip && $0.found == "kctr did not read all the imports of \(dir)/config.toml" })

        // 64 files in all are read.
        try FileManager.default.removeItem(atPath: dir + "/conf.d/63.toml")
        for i in 64..<70 { try FileManager.default.removeItem(atPath: dir + "/conf.d/\(i).toml") }
        let fits = FileChecks.loadContainerdConfig(path: dir + "/config.toml")
        XCTAssertNil(fits.limit)
        XCTAssertEqual(fits.imports.count, 63)
        XCTAssertEqual(fits.merged?["oom_score"], .number(62))
    }
}
