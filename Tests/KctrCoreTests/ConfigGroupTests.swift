import Foundation
import XCTest
@testable import KctrCore
import KctrRPC

/// The `config` group over config.toml fixtures and each version's own `containerd config default`
/// (Fixtures/verify/defaults), against facts of daemons of each version.
final class ConfigGroupTests: ScratchDirectoryTestCase {
    private func facts(_ fixture: String, daemon: String? = nil) throws -> VerifyFacts {
        let path = try VerifyFixtures.dir(fixture) + "/config.toml"
        var f = daemon.map { VerifyFixtures.answered($0, config: path) } ?? VerifyFixtures.facts(config: path)
        f.config = ContainerdConfigFile.load(path: path)
        return f
    }

    /// Facts whose config.toml is `text`.
    private func facts(text: String, daemon: String? = nil) throws -> VerifyFacts {
        let config = try VerifyFixtures.config(text, in: dir)
        var f = daemon.map { VerifyFixtures.answered($0, config: config.path) } ?? VerifyFixtures.facts(config: config.path)
        f.config = config
        return f
    }

    private func checks(_ f: VerifyFacts, file: StaticString = #filePath, line: UInt = #line) -> [String: CheckResult] {
        let results = ConfigGroup.results(f)
        XCTAssertEqual(results.map(\.id), Check.of(.config).map(\.id), file: file, line: line)
        return byID(results, group: "config", file: file, line: line)
    }

    private func checks(_ fixture: String, daemon: String? = nil) throws -> [String: CheckResult] { checks(try facts(fixture, daemon: daemon)) }

    // MARK: config.parse

    func testParsePassCountsImports() throws {
        let c = try checks("config-good")
        XCTAssertEqual(c["config.parse"]?.status, .pass)
        assertFound(c["config.parse"], "2 imports")
    }

    func testMissingFileWarnsWithTheDaemonsOwnDefaultTable() throws {
        var f = VerifyFixtures.answered("v2.3.4", config: dir + "/nope/config.toml")
        f.config = ContainerdConfigFile.load(path: f.paths.containerdConfig)
        let results = ConfigGroup.results(f)
        XCTAssertEqual(results[0].status, .warn)
        assertFound(results[0], "containerd runs with built-in defaults")
        assertFix(results[0], "containerd config default > \(f.paths.containerdConfig)",
                  "set `SystemdCgroup = true` in [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]")
        XCTAssertTrue(results.dropFirst().allSatisfy { $0.status == .skip })
    }

    func testParseFailureNamesTheLine() throws {
        let c = try checks("config-broken")
        XCTAssertEqual(c["config.parse"]?.status, .fail)
        assertFound(c["config.parse"], "config-broken/config.toml: line 6: expected '=' after key SystemdCgroup")
        XCTAssertTrue(c["config.parse"]!.evidence.hasSuffix("config-broken/config.toml"))
        XCTAssertEqual(c["config.drift"]?.status, .skip)
    }

    func testMissingImportFailsParse() throws {
        let c = try checks("config-missing-import")
        XCTAssertEqual(c["config.parse"]?.status, .fail)
        assertFound(c["config.parse"], "/etc/containerd/does-not-exist.d/extra.toml: cannot read this import")
    }

    // MARK: config.version

    func testVersionAgainstEachRelease() throws {
        func version(_ v: String, _ daemon: String?) throws -> CheckResult? {
            checks(try facts(text: v.isEmpty ? "" : "version = \(v)\n", daemon: daemon))["config.version"]
        }
        // The issue's first symptom: 2.3 writes version = 4 itself.
        XCTAssertEqual(try version("4", "v2.3.4")?.found, "version = 4, containerd v2.3.4's own format")
        XCTAssertEqual(try version("3", "v2.1.0")?.status, .pass)
        XCTAssertEqual(try version("4", "v2.3.0-rc.1")?.status, .pass, "a 2.3 prerelease reads what 2.3 reads")
        XCTAssertEqual(try version("2", "1.7.34")?.status, .pass)
        let migrated = try version("2", "v2.3.4")
        XCTAssertEqual(migrated?.status, .pass)
        assertFound(migrated, "converts it to version 4 at each start", "containerd config migrate")

        let tooNew = try version("4", "v2.1.4")
        XCTAssertEqual(tooNew?.status, .fail)
        XCTAssertEqual(tooNew?.found, "version = 4 is the format of containerd 2.3 and later, but the daemon is containerd v2.1.4, which reads versions up to 3 and does not start with this file")
        assertFix(tooNew, "write a version 3 file", "upgrade containerd to 2.3 or newer")
        let v3on16 = try version("3", "1.6.20~ds1")
        XCTAssertEqual(v3on16?.status, .fail)
        assertFix(v3on16, "write a version 2 file")

        XCTAssertEqual(try version("3", nil)?.status, .warn)
        let unknown = try version("5", "v2.3.4")
        XCTAssertEqual(unknown?.status, .fail)
        XCTAssertEqual(unknown?.found, "version = 5 is not a version containerd knows (1 to 4)")
        assertFix(unknown, "set `version = 4` (containerd v2.3.4 writes it)")

        let none = try version("", "1.7.34")
        XCTAssertEqual(none?.status, .warn)
        assertFound(none, "no version key: containerd reads the file as version 1", "[plugins.cri]")
        assertFix(none, "`version = 2`", "[plugins.\"io.containerd.grpc.v1.cri\"]")
        let none2 = try version("1", "v2.3.4")
        assertFix(none2, "`version = 4`", "[plugins.'io.containerd.cri.v1.runtime'] and [plugins.'io.containerd.cri.v1.images']")
    }

    // MARK: config.disabled-plugins

    func testDisabledPlugins() throws {
        let good = try checks("config-good")["config.disabled-plugins"]
        XCTAssertEqual(good?.status, .pass)
        assertFound(good, "io.containerd.internal.v1.tracing")
        let bad = try checks("config-bad")["config.disabled-plugins"]
        XCTAssertEqual(bad?.status, .fail)
        assertFound(bad, "\"cri\"")
        XCTAssertTrue(bad!.evidence.hasSuffix("config-bad/config.toml: disabled_plugins"), bad!.evidence)
        assertFix(bad, "remove \"cri\" from disabled_plugins", "systemctl restart containerd")
    }

    // MARK: config.systemd-cgroup-placement

    func testSystemdCgroupInOptionsPassesInEveryVersion() throws {
        XCTAssertEqual(try checks("config-good")["config.systemd-cgroup-placement"]?.found,
                       "SystemdCgroup = true in [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]")
        // The issue's second symptom: a version 4 file with SystemdCgroup where 2.3 reads it.
        for v in [3, 4] {
            let p = checks(try facts(text: "version = \(v)\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\nSystemdCgroup = true\n",
                                     daemon: "v2.3.4"))["config.systemd-cgroup-placement"]
            XCTAssertEqual(p?.status, .pass, "version \(v): \(p?.found ?? "")")
            XCTAssertEqual(p?.found, "SystemdCgroup = true in [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]")
        }
    }

    /// SystemdCgroup under another version's CRI table: the fix moves it to this version's table, never
    /// to [plugins."io.containerd.grpc.v1.cri"...] in a 2.x file (which would break the node).
    func testSystemdCgroupUnderAnotherVersionsTableFailsWithThisVersionsTable() throws {
        let v4 = checks(try facts(text: "version = 4\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\nSystemdCgroup = true\n",
                                  daemon: "v2.3.4"))["config.systemd-cgroup-placement"]
        XCTAssertEqual(v4?.status, .fail)
        assertFound(v4, "[plugins.'io.containerd.grpc.v1.cri'] is the CRI table of a version 2 file, but this file has version = 4")
        assertFix(v4, "move `SystemdCgroup = true` to [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]")

        let v2 = checks(try facts(text: "version = 2\n[plugins.cri.containerd.runtimes.runc.options]\nSystemdCgroup = true\n"))["config.systemd-cgroup-placement"]
        assertFound(v2, "[plugins.cri] is the CRI table of a version 1 file")
        assertFix(v2, "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]")
        let quoted = checks(try facts(text: "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\nSystemdCgroup = \"true\"\n"))
        XCTAssertEqual(quoted["config.systemd-cgroup-placement"]?.status, .fail)
        let none = checks(try facts(text: "version = 4\n"))["config.systemd-cgroup-placement"]
        XCTAssertEqual(none?.status, .pass)
        assertFound(none, "cgroupfs")
    }

    func testSystemdCgroupDirectlyUnderTheRuntimeFails() throws {
        let p = try checks("config-bad")["config.systemd-cgroup-placement"]
        XCTAssertEqual(p?.status, .fail)
        assertFound(p, "SystemdCgroup is set in [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]: containerd ignores it there")
        XCTAssertTrue(p!.evidence.hasSuffix("config.toml: plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.SystemdCgroup"), p!.evidence)
        assertFix(p, "to [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]")
    }

    func testVersion1FileWithTheVersion2Table() throws {
        let p = try checks("config-v1")["config.systemd-cgroup-placement"]
        XCTAssertEqual(p?.status, .fail)
        assertFound(p, "reads it as version 1")
        assertFix(p, "add `version = 2`")
    }

    func testLegacySystemdCgroupKey() throws {
        let p = try checks("config-legacy-systemd")["config.systemd-cgroup-placement"]
        XCTAssertEqual(p?.status, .fail)
        assertFound(p, "only works for runtime io.containerd.runtime.v1.linux")
        XCTAssertTrue(p!.evidence.hasSuffix("plugins.\"io.containerd.grpc.v1.cri\".systemd_cgroup"), p!.evidence)
        let v1runtime = checks(try facts(text: """
            version = 2
            [plugins."io.containerd.grpc.v1.cri"]
            systemd_cgroup = true
            [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
            runtime_type = "io.containerd.runtime.v1.linux"
            """))["config.systemd-cgroup-placement"]
        XCTAssertEqual(v1runtime?.status, .warn)
        assertFound(v1runtime, "deprecated")
    }

    // MARK: config.unknown-keys

    /// Every key `containerd config default` prints is known, on every recorded version (version 3:
    /// 2.3's file with `version = 3`, whose CRI tables are the same).
    func testEachVersionsOwnDefaultConfigHasNoUnknownKey() throws {
        for (release, daemon) in [("1.6.20", "1.6.20~ds1"), ("1.7.34", "v1.7.34"), ("2.3.4", "v2.3.4")] {
            let text = try VerifyFixtures.text("defaults/config-default-\(release).toml")
            let u = checks(try facts(text: text.replacing("imports = ['/etc/containerd/conf.d/*.toml']", with: "imports = []"), daemon: daemon))["config.unknown-keys"]
            XCTAssertEqual(u?.status, .pass, "\(release): \(u?.found ?? "")")
        }
        let v3 = try VerifyFixtures.text("defaults/config-default-2.3.4.toml").replacing("version = 4", with: "version = 3")
            .replacing("imports = ['/etc/containerd/conf.d/*.toml']", with: "imports = []")
        // Its CRI tables are version 3's; only the server's moved in version 4.
        let u = checks(try facts(text: v3, daemon: "v2.2.0"))["config.unknown-keys"]
        XCTAssertEqual(u?.found, "1 key containerd ignores (typo, or another version's place?): plugins.'io.containerd.server.v1.grpc'.address is where a version 4 file sets the socket; in a version 3 file containerd reads address in [grpc]")
    }

    func testUnknownKeysWarnWithSuggestions() throws {
        let u = try checks("config-bad")["config.unknown-keys"]
        XCTAssertEqual(u?.status, .warn)
        XCTAssertTrue(u!.found.hasPrefix("5 keys containerd ignores"), u!.found)
        assertFound(u, "plugins.\"io.containerd.grpc.v1.cri\".sandboxImage (did you mean sandbox_image?)",
                    "plugins.\"io.containerd.grpc.v1.cri\".snapshotter (it belongs in [plugins.\"io.containerd.grpc.v1.cri\".containerd] as snapshotter)",
                    "containerd.snapshoter (did you mean snapshotter?)", "cni.confdir (did you mean conf_dir?)", "registry.mirror (did you mean mirrors?)")
        XCTAssertFalse(u!.found.contains("SystemdCgroup"), "reported by config.systemd-cgroup-placement")
        assertFix(u, "systemctl restart containerd")
    }

    /// The issue's sixth symptom: versions 3 and 4 are checked too, with their own key lists.
    func testUnknownKeysOfVersions3And4() throws {
        let text = """
            version = 4
            [plugins.'io.containerd.grpc.v1.cri']
              sandbox_image = 'registry.k8s.io/pause:3.10'
            [plugins.'io.containerd.cri.v1.images']
              snapshoter = 'overlayfs'
            [plugins.'io.containerd.cri.v1.runtime'.cni]
              bin_dirs = ['/opt/cni/bin']
              conf_dir = '/etc/cni/net.d'
            [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
              SystemdCgroups = true
            [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kata.options]
              ConfigPath = '/etc/kata/configuration.toml'
            [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kata]
              runtime_type = 'io.containerd.kata.v2'
            [grpc]
              address = '/run/k3s/containerd/containerd.sock'
            """
        let u = checks(try facts(text: text, daemon: "v2.3.4"))["config.unknown-keys"]
        XCTAssertEqual(u?.status, .warn)
        assertFound(u, "plugins.'io.containerd.grpc.v1.cri'.sandbox_image is where a version 2 file sets the sandbox image; in a version 4 file containerd reads pinned_images.sandbox in [plugins.'io.containerd.cri.v1.images']",
                    "grpc.address is where a version 1, 2 or 3 file sets the socket; in a version 4 file containerd reads address in [plugins.'io.containerd.server.v1.grpc']",
                    "plugins.'io.containerd.cri.v1.images'.snapshoter (did you mean snapshotter?)",
                    "plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options.SystemdCgroups (did you mean SystemdCgroup?)")
        XCTAssertTrue(u!.found.hasPrefix("4 keys containerd ignores"), u!.found)
        XCTAssertFalse(u!.found.contains("ConfigPath"), "kata's options are not runc's")
        // In a version 3 file [grpc] is where the socket is.
        let v3 = checks(try facts(text: "version = 3\n[grpc]\naddress = '/run/containerd/containerd.sock'\n", daemon: "v2.1.0"))["config.unknown-keys"]
        XCTAssertEqual(v3?.status, .pass, v3?.found ?? "")
    }

    func testVersion2TableInAVersion1File() throws {
        let u = try checks("config-v1")["config.unknown-keys"]
        XCTAssertEqual(u?.status, .warn)
        assertFound(u, "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes is where a version 2 file sets the runtimes; this file has no version key, so containerd reads it as version 1, from runtimes in [plugins.cri.containerd]")
    }

    func testAWholeTableOfAnotherVersion() throws {
        let u = checks(try facts(text: "version = 2\n[plugins.\"io.containerd.cri.v1.runtime\"]\nenable_cdi = true\n"))["config.unknown-keys"]
        assertFound(u, "[plugins.\"io.containerd.cri.v1.runtime\"] (a CRI table of a version 3 or 4 file; this file is version 2)")
    }

    // MARK: config.drift

    /// A file that says what the recorded daemon of `version` runs with.
    private func recordedFile(_ version: String) -> String {
        switch version {
        case "2.3.4":
            return """
                version = 4
                [plugins.'io.containerd.server.v1.grpc']
                  address = '/var/lab/containerd.sock'
                [plugins.'io.containerd.cri.v1.images']
                  snapshotter = 'overlayfs'
                  [plugins.'io.containerd.cri.v1.images'.pinned_images]
                    sandbox = 'registry.k8s.io/pause:3.10'
                  [plugins.'io.containerd.cri.v1.images'.registry]
                    config_path = '/etc/containerd/certs.d'
                [plugins.'io.containerd.cri.v1.runtime'.cni]
                  bin_dirs = ['/usr/lib/cni']
                  conf_dir = '/var/lab/cni/net.d'
                [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
                  SystemdCgroup = false

                """
        default:
            let conf = version == "1.6.20" ? "/var/lab/net.d" : "/var/lab/cni/net.d"
            let pause = version == "1.6.20" ? "3.9" : "3.10"
            return """
                version = 2
                [grpc]
                  address = "/var/lab/containerd.sock"
                [plugins."io.containerd.grpc.v1.cri"]
                  sandbox_image = "registry.k8s.io/pause:\(pause)"
                  [plugins."io.containerd.grpc.v1.cri".cni]
                    bin_dir = "/usr/lib/cni"
                    conf_dir = "\(conf)"
                  [plugins."io.containerd.grpc.v1.cri".containerd]
                    snapshotter = "overlayfs"
                  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
                    SystemdCgroup = false

                """
        }
    }

    private func recordedFacts(_ version: String, file text: String) throws -> VerifyFacts {
        let config = try VerifyFixtures.config(text, in: dir)
        var f = try VerifyFixtures.recorded(version, config: config.path)
        f.config = config
        return f
    }

    func testNoDriftOnEachRecordedVersion() throws {
        for version in VerifyFixtures.recordedVersions {
            let d = checks(try recordedFacts(version, file: recordedFile(version)))["config.drift"]
            XCTAssertEqual(d?.status, .pass, "\(version): \(d?.found ?? "")")
            assertFound(d, "containerd runs with what the file says", "SystemdCgroup of runc", "CNI conf_dir", "the socket")
            XCTAssertFalse(d!.found.contains("runs with none"), d!.found)
        }
    }

    /// The issue's third symptom: 2.x does not report the image half; drift says so plainly instead of
    /// "containerd runs with none", and compares the snapshotter through ImageFsInfo.
    func testOn2xDriftSaysWhatIsNotReported() throws {
        var f = try recordedFacts("2.3.4", file: recordedFile("2.3.4"))
        let d = checks(f)["config.drift"]
        assertFound(d, "snapshotter (ImageFsInfo)",
                    "containerd v2.3.4 does not report the sandbox image (compared through its pin once registry.k8s.io/pause:3.10 is on the node), the registry hosts directory: not compared")
        // The sandbox image compared through its pin.
        let image = try VerifyFixtures.criImage(tags: ["registry.k8s.io/pause:3.10"], pinned: false)
        f.pause = PauseFacts(image: SandboxImage(name: "registry.k8s.io/pause:3.10", source: .file("x")), criImage: .known(image),
                             record: .known(nil), resolved: nil, sandboxes: .known([]))
        let unpinned = checks(f)["config.drift"]
        XCTAssertEqual(unpinned?.status, .warn)
        assertFound(unpinned, "pinned_images.sandbox in [plugins.'io.containerd.cri.v1.images'] is \"registry.k8s.io/pause:3.10\" in the file, but containerd v2.3.4 does not pin that image")
        // A version 3 file on 2.3: the same tables.
        let v3 = try recordedFacts("2.3.4", file: recordedFile("2.3.4").replacing("version = 4", with: "version = 3")
            .replacing("[plugins.'io.containerd.server.v1.grpc']", with: "[grpc]"))
        XCTAssertEqual(checks(v3)["config.drift"]?.status, .pass)
        // Another snapshotter than ImageFsInfo names.
        let native = try recordedFacts("2.3.4", file: recordedFile("2.3.4").replacing("snapshotter = 'overlayfs'", with: "snapshotter = 'native'"))
        let n = checks(native)["config.drift"]
        XCTAssertEqual(n?.status, .warn)
        assertFound(n, "snapshotter in [plugins.'io.containerd.cri.v1.images'] is \"native\" in the file but containerd stores images for overlayfs (ImageFsInfo)")
    }

    func testDriftWarnsWithBothValues() throws {
        let edited = recordedFile("1.7.34").replacing("pause:3.10", with: "pause:3.6").replacing("SystemdCgroup = false", with: "SystemdCgroup = true")
            .replacing("/var/lab/containerd.sock", with: "/run/containerd/containerd.sock")
        let d = checks(try recordedFacts("1.7.34", file: edited))["config.drift"]
        XCTAssertEqual(d?.status, .warn)
        XCTAssertTrue(d!.found.hasPrefix("the file was edited but containerd was not restarted"))
        assertFound(d, "sandbox_image in [plugins.\"io.containerd.grpc.v1.cri\"] is \"registry.k8s.io/pause:3.6\" in the file but containerd runs with \"registry.k8s.io/pause:3.10\"",
                    "SystemdCgroup in [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options] is true in the file but containerd runs with false",
                    "address in [grpc] is \"/run/containerd/containerd.sock\" in the file but containerd runs with \"/var/lab/containerd.sock\"")
        assertFix(d, "systemctl restart containerd")

        let crun = checks(try recordedFacts("1.7.34", file: recordedFile("1.7.34").replacing("runtimes.runc.options", with: "runtimes.crun.options")))
        assertFound(crun["config.drift"], "runtime \"crun\" (SystemdCgroup = false) is in the file but not in the running config")
    }

    func testDriftSkipsWithoutRunningConfig() throws {
        XCTAssertEqual(try checks("config-good")["config.drift"]?.status, .skip)
    }
}

/// config.toml `imports` written by hand in a scratch directory: cycles and the file limit.
final class ConfigImportTests: ScratchDirectoryTestCase {
    func write(_ path: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func testLoadFollowsGlobImportsAndMergesAsContainerd() throws {
        let dir = try VerifyFixtures.dir("config-good")
        let file = ContainerdConfigFile.load(path: dir + "/config.toml")
        XCTAssertNil(file.error)
        XCTAssertEqual(file.imports, [dir + "/conf.d/10-gc.toml", dir + "/conf.d/20-grpc.toml"])
        let doc = try XCTUnwrap(file.merged)
        // Arrays are appended to.
        XCTAssertEqual(doc["disabled_plugins"], .array([.string("io.containerd.internal.v1.tracing"), .string("io.containerd.snapshotter.v1.btrfs")]))
        // An empty value does not override (mergo).
        XCTAssertEqual(doc["oom_score"], .number(-999))
        // Tables outside plugins merge key by key; a plugin's table is replaced whole by a later file's.
        XCTAssertEqual(doc["grpc"]?["max_recv_message_size"], .number(33_554_432))
        XCTAssertEqual(doc["plugins"]?["io.containerd.gc.v1.scheduler"], .object(["pause_threshold": .number(0.1)]))
        XCTAssertEqual(doc["plugins"]?["io.containerd.grpc.v1.cri"]?["sandbox_image"], .string("registry.k8s.io/pause:3.9"))
        XCTAssertEqual(file.source(of: ["grpc", "max_recv_message_size"]), dir + "/conf.d/20-grpc.toml")
        XCTAssertEqual(file.source(of: ["plugins", "io.containerd.grpc.v1.cri"]), dir + "/config.toml")
    }

    func testMergeReplacesPluginSectionsWhole() {
        var into: [String: JSONValue] = ["plugins": .object(["p": .object(["a": .number(1), "b": .number(2)])]),
                                         "timeouts": .object(["x": .string("1s")])]
        ContainerdConfigFile.mergeTop(&into, ["plugins": .object(["p": .object(["a": .number(3)])]),
                                              "timeouts": .object(["y": .string("2s")]), "root": .string("/data")])
        XCTAssertEqual(into["plugins"], .object(["p": .object(["a": .number(3)])]))
        XCTAssertEqual(into["timeouts"], .object(["x": .string("1s"), "y": .string("2s")]))
        XCTAssertEqual(into["root"], .string("/data"))
    }

    func testGlobMatching() {
        XCTAssertTrue(ContainerdConfigFile.fnmatch(Array("*.toml"), Array("10-a.toml")))
        XCTAssertFalse(ContainerdConfigFile.fnmatch(Array("*.toml"), Array("README.txt")))
        XCTAssertTrue(ContainerdConfigFile.fnmatch(Array("[0-9]?-*"), Array("10-x")))
        XCTAssertFalse(ContainerdConfigFile.fnmatch(Array("[!0-9]*"), Array("10-x")))
        XCTAssertTrue(ContainerdConfigFile.fnmatch(Array("a*b*c"), Array("axxbyyc")))
        XCTAssertFalse(ContainerdConfigFile.fnmatch(Array("a*b*c"), Array("axxbyy")))
    }

    func testCleanPathIsGoFilepathClean() {
        for (input, clean) in [("", "."), (".", "."), ("/", "/"), ("//a//b/", "/a/b"), ("a/./b/../c", "a/c"), ("/../a", "/a"),
                               ("../../a", "../../a"), ("a/../..", ".."), ("/a/b/../../..", "/"), ("a/b/..", "a")] {
            XCTAssertEqual(ContainerdConfigFile.cleanPath(input), clean, input)
        }
    }

    /// Two directories importing each other with "../": each file is read once.
    func testImportCycleThroughParentDirectoriesReadsEachFileOnce() throws {
        try write(dir + "/a/config.toml", "version = 2\nimports = [\"../b/*.toml\"]\noom_score = -1\n")
        try write(dir + "/b/x.toml", "imports = [\"../a/*.toml\", \"../b/./x.toml\", \"\(dir)/a/../b/x.toml\"]\n[grpc]\n  uid = 7\n")
        let file = ContainerdConfigFile.load(path: dir + "/a/config.toml")
        XCTAssertNil(file.error)
        XCTAssertNil(file.limit)
        XCTAssertEqual(file.imports, [dir + "/b/x.toml"])
        XCTAssertEqual(file.merged?["grpc"]?["uid"], .number(7))
    }

    func testImportsAreCleanedAndRelativeToTheImportingFile() {
        XCTAssertEqual(ContainerdConfigFile.resolveImports(["./d/../d/1.toml", "/etc//x/../y.toml", "../z.toml"], parent: "etc/config.toml"),
                       ["etc/d/1.toml", "/etc/y.toml", "z.toml"])
        XCTAssertEqual(ContainerdConfigFile.resolveImports(["x.toml"], parent: "config.toml"), ["x.toml"])
    }

    /// containerd reads every match of a glob; kctr stops at 64 files and says so.
    func testMoreThan64FilesAreNotRead() throws {
        try write(dir + "/config.toml", "version = 2\nimports = [\"conf.d/*.toml\"]\n")
        for i in 0..<70 { try write(dir + "/conf.d/\(String(format: "%02d", i)).toml", "oom_score = \(i)\n") }
        let file = ContainerdConfigFile.load(path: dir + "/config.toml")
        XCTAssertNil(file.error)
        XCTAssertNil(file.merged)
        XCTAssertEqual(file.imports.count, 63)
        XCTAssertEqual(file.limit, "\(dir)/config.toml and its imports name more than 64 files, the most kctr reads; it stopped before \(dir)/conf.d/63.toml")

        var f = VerifyFixtures.facts(config: dir + "/config.toml")
        f.config = file
        let results = ConfigGroup.results(f)
        XCTAssertEqual(results.map(\.id), Check.of(.config).map(\.id))
        XCTAssertEqual(results[0].status, .warn)
        XCTAssertEqual(results[0].found, "\(file.limit ?? ""): the files were not merged, so the config checks are skipped")
        assertFix(results[0], "a glob may match more than meant")
        XCTAssertTrue(results.dropFirst().allSatisfy { $0.status == .skip && $0.found == "kctr did not read all the imports of \(dir)/config.toml" })

        try FileManager.default.removeItem(atPath: dir + "/conf.d/63.toml")
        for i in 64..<70 { try FileManager.default.removeItem(atPath: dir + "/conf.d/\(i).toml") }
        let fits = ContainerdConfigFile.load(path: dir + "/config.toml")
        XCTAssertNil(fits.limit)
        XCTAssertEqual(fits.merged?["oom_score"], .number(62))
    }
}
