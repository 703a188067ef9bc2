import Foundation
import XCTest
@testable import KctrCore
@testable import KctrRPC

/// The catalogue of checks, the per-version layouts of config.toml, and the data they are made from.
final class CatalogueTests: XCTestCase {
    func testIdsAreUniqueAndNamedAfterTheirGroup() {
        XCTAssertEqual(Set(Check.allCases.map(\.id)).count, Check.allCases.count)
        for check in Check.allCases {
            XCTAssertTrue(check.id.hasPrefix(check.group.rawValue + "."), check.id)
            XCTAssertFalse(check.title.isEmpty, check.id)
        }
        XCTAssertEqual(VerifyGroup.allCases.filter { Check.of($0).isEmpty }, [])
    }

    /// Every group returns exactly its catalogue's checks, in order, whatever the facts say.
    func testEveryGroupReturnsItsCatalogueEntriesInOrder() throws {
        var variants: [(String, VerifyFacts)] = [("unreachable", VerifyFixtures.facts())]
        for version in VerifyFixtures.recordedVersions { variants.append((version, try VerifyFixtures.recorded(version))) }
        var noCRI = VerifyFixtures.answered("v2.3.4")
        noCRI.daemon.criStatus = .unknown(KctrError("not serving"))
        variants.append(("no CRI", noCRI))
        for (name, facts) in variants {
            for group in VerifyGroup.allCases {
                let results = VerifyRunner.results(of: group, facts)
                XCTAssertEqual(results.map(\.id), Check.of(group).map(\.id), "\(name): \(group)")
                _ = byID(results, group: group.rawValue)
            }
        }
    }

    func testSelectionIsValidatedAgainstTheCatalogue() {
        XCTAssertEqual(VerifyRunner.unknownSelections(["cgroup", "pause.version", "cgroup.nope", "nogroup"]), ["cgroup.nope", "nogroup"])
        XCTAssertEqual(VerifyRunner.groups(for: ["config.drift", "daemon"]), [.daemon, .config])
        XCTAssertEqual(VerifyRunner.groups(for: []), VerifyGroup.allCases)
    }

    /// README.md's table of checks is the catalogue's (`Check.markdownTable()`).
    func testTheREADMEListsTheCatalogue() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let start = "<!-- checks: generated from the catalogue (Check.markdownTable) -->\n"
        let end = "<!-- end of checks -->"
        let range = try XCTUnwrap(text.range(of: start), "README.md has no generated table of checks")
        let after = text[range.upperBound...]
        let table = String(after[..<(after.range(of: end)?.lowerBound ?? after.endIndex)])
        XCTAssertEqual(table, Check.markdownTable(), "README.md's table of checks is stale: paste Check.markdownTable() between the markers")
    }

    // MARK: Layouts

    func testEachVersionsLayout() {
        XCTAssertEqual(ConfigLayout.v1.key(.sandboxImage), "sandbox_image in [plugins.cri]")
        XCTAssertEqual(ConfigLayout.v2.key(.sandboxImage), "sandbox_image in [plugins.\"io.containerd.grpc.v1.cri\"]")
        XCTAssertEqual(ConfigLayout.v3.key(.sandboxImage), "pinned_images.sandbox in [plugins.'io.containerd.cri.v1.images']")
        XCTAssertEqual(ConfigLayout.v4.key(.snapshotter), "snapshotter in [plugins.'io.containerd.cri.v1.images']")
        XCTAssertEqual(ConfigLayout.v2.key(.snapshotter), "snapshotter in [plugins.\"io.containerd.grpc.v1.cri\".containerd]")
        XCTAssertEqual(ConfigLayout.v4.key(.cniBinDirs), "bin_dirs in [plugins.'io.containerd.cri.v1.runtime'.cni]")
        XCTAssertEqual(ConfigLayout.v2.key(.cniConfDir), "conf_dir in [plugins.\"io.containerd.grpc.v1.cri\".cni]")
        XCTAssertEqual(ConfigLayout.v3.key(.registryConfigPath), "config_path in [plugins.'io.containerd.cri.v1.images'.registry]")
        XCTAssertEqual(ConfigLayout.v3.key(.grpcAddress), "address in [grpc]")
        XCTAssertEqual(ConfigLayout.v4.key(.grpcAddress), "address in [plugins.'io.containerd.server.v1.grpc']")
        XCTAssertEqual(ConfigLayout.v4.table(ConfigLayout.v4.runtimeOptions("runc")),
                       "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]")
        XCTAssertEqual(ConfigLayout.v2.toml(ConfigLayout.v2.runtime("<name>")), "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.<name>")
        XCTAssertEqual(ConfigLayout.v4.criTables.count, 3)
        XCTAssertEqual(ConfigLayout.v2.criTables.count, 1)
        XCTAssertTrue(ConfigLayout.v2.isRuntimeOptions(["plugins", "io.containerd.grpc.v1.cri", "containerd", "default_runtime", "options"]))
        XCTAssertFalse(ConfigLayout.v4.isRuntimeOptions(["plugins", "io.containerd.cri.v1.runtime", "containerd", "default_runtime", "options"]))
        XCTAssertNil(ConfigLayout.of(version: 5))
    }

    func testReleases() {
        XCTAssertEqual(["1.6.20", "1.7.34", "2.0.0", "2.2.1", "2.3.4"].compactMap { ContainerdRelease($0)?.configVersion }, [2, 2, 3, 3, 4])
        XCTAssertEqual(ContainerdRelease(1, 6).pinning, .none)
        XCTAssertEqual(ContainerdRelease(1, 7).pinning, .labelled)
        XCTAssertEqual(ContainerdRelease(2, 0).pinning, .configured)
        XCTAssertFalse(ContainerdRelease(2, 1).deprecatesCgroupV1)
        XCTAssertTrue(ContainerdRelease(2, 2).deprecatesCgroupV1)
        XCTAssertTrue(ContainerdRelease(2, 2, 0, prerelease: "rc.1").deprecatesCgroupV1, "a prerelease has what its line brings")
        XCTAssertEqual(ContainerdRelease("2.3.0-rc.1")?.defaultSandboxImage, "registry.k8s.io/pause:3.10.2")
        XCTAssertEqual(ContainerdRelease(1, 7).gzipHelpers, ["unpigz"])
        XCTAssertEqual(ContainerdRelease(2, 3).criPlugins.map(\.id), ["runtime", "images", "cri"])
    }

    /// ConfigKeys.swift is generated from the recorded defaults (scripts/generate/config-keys.py): the same keys,
    /// walked here with kctr's own TOML parser.
    func testConfigKeysAreTheRecordedDefaults() throws {
        func walk(_ value: JSONValue, _ path: [String], into out: inout [[String]: Set<String>]) {
            guard case .object(let table) = value else { return }
            for (key, child) in table {
                out[path, default: []].insert(key)
                guard case .object(let sub) = child else { continue }
                switch key {
                case "runtimes": for entry in sub.values { walk(entry, path + [key, "*"], into: &out) }
                case "mirrors", "configs", "auths", "headers", "pinned_images": continue
                default: walk(child, path + [key], into: &out)
                }
            }
        }
        func keys(_ releases: [String], tables: [[String]]) throws -> [[String]: Set<String>] {
            var out: [[String]: Set<String>] = [:]
            for r in releases {
                let doc = try TOML.parse(try VerifyFixtures.text("defaults/config-default-\(r).toml"))
                for t in tables { walk(ContainerdConfigFile.lookup(doc, t) ?? .null, t, into: &out) }
            }
            return out.filter { !$0.value.isEmpty }
        }
        XCTAssertEqual(try keys(["1.6.20", "1.7.34"], tables: ConfigLayout.v2.criTables), ConfigKeys.version2,
                       "ConfigKeys.swift is stale: run python3 scripts/generate/config-keys.py")
        XCTAssertEqual(try keys(["2.3.4"], tables: ConfigLayout.v4.criTables), ConfigKeys.version4,
                       "ConfigKeys.swift is stale: run python3 scripts/generate/config-keys.py")
    }
}
