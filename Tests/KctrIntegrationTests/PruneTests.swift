import Foundation
import KctrLab
import XCTest

/// `kctr images prune` (and `rmi --prune`, `--leaked`) on real pods: what a running pod, an exited or
/// created container uses, the sandbox image and pinned images survive; leases that have not expired
/// survive unless they are kctr's own with their process gone, including an import in progress in
/// another process.
final class PruneTests: XCTestCase {
    func images(_ lab: Lab) -> Set<String> { Set(lab.ctr(["images", "ls", "-q"]).lines.filter { !$0.hasPrefix("sha256:") }) }
    func content(_ lab: Lab) -> Set<String> { Set(lab.ctr(["content", "ls", "-q"]).lines) }
    func leases(_ lab: Lab) -> Set<String> { Set(lab.ctr(["leases", "ls", "-q"]).lines) }

    static let busybox = "docker.io/library/busybox:kctr-test"
    static let pause = "registry.k8s.io/pause:3.9"
    static let multi = "docker.io/kctr/multi:1.0"
    static func many(_ n: Int) -> String { "docker.io/kctr/prune-0\(n):1.0" }

    func testPruneKeepsWhatContainersUseThePinnedAndTheSandboxImage() throws {
        let lab = try DiskFixtures.labWithImages(size: "160m", count: 4, prefix: "docker.io/kctr/prune")
        defer { lab.stop() }
        let logDir = lab.base + "/pod-logs"
        // A running container (busybox), an exited one (multi) and one created but never started (prune-00).
        let (_, ids) = try PodFixture.start(socket: lab.socket, pod: PodSpec(name: "web", logDir: logDir), containers: [
            ContainerSpec(name: "app", command: ["sleep", "3600"]),
            ContainerSpec(name: "job", command: ["sh", "-c", "exit 0"], image: Self.multi),
            ContainerSpec(name: "later", command: ["true"], image: Self.many(0), start: false),
        ])
        for _ in 0..<200 where !lab.kctr(["ps", "-a"]).stdout.contains("Exited") { usleep(20_000) }
        // Pinned by label: 1.6 has no pinning of its own; kctr honours the label on every version.
        XCTAssertExit(lab.ctr(["images", "label", Self.many(1), "io.cri-containerd.pinned=pinned"]), 0)

        let dry = lab.kctr(["images", "prune", "--dry-run", "-o", "json"])
        XCTAssertExit(dry, 0)
        let plan = try XCTUnwrap(try DiskFixtures.json(dry)["plan"] as? [String: Any])
        let removals = try XCTUnwrap(plan["remove"] as? [[String: Any]])
        XCTAssertEqual(Set(removals.compactMap { $0["name"] as? String }), [Self.many(2), Self.many(3)])
        let kept = Dictionary(uniqueKeysWithValues: (plan["keep"] as? [[String: Any]] ?? []).map {
            ($0["name"] as? String ?? "", ($0["reasons"] as? [String] ?? []).joined(separator: "; "))
        })
        XCTAssertTrue(kept[Self.busybox]?.contains("used by container \(ids[0].prefix(13)) (app in shop/web, Running)") == true, "\(kept)")
        XCTAssertTrue(kept[Self.multi]?.contains("(job in shop/web, Exited)") == true, "\(kept)")
        XCTAssertTrue(kept[Self.many(0)]?.contains("(later in shop/web, Created)") == true, "\(kept)")
        // containerd 2.x reports both pins through CRI (ImageStatus pinned) and not its sandbox image's name.
        let v2 = lab.version.major >= 2
        let criPins = lab.version.isAtLeast(1, 7)  // CRI reports pinned from 1.7 on
        XCTAssertEqual(kept[Self.many(1)], criPins ? "pinned (CRI)" : "pinned (label io.cri-containerd.pinned=pinned)")
        XCTAssertTrue(kept[Self.pause]?.hasPrefix(v2 ? "pinned (CRI); used by pod sandbox shop/web (Ready)"
                                                     : "the configured sandbox image; used by pod sandbox shop/web (Ready)") == true, "\(kept)")
        let estimate = try XCTUnwrap(plan["estimatedBytes"] as? Int64)
        XCTAssertGreaterThan(estimate, 0)
        XCTAssertEqual(images(lab).count, 7, "a dry run removes nothing")

        // rmi by name refuses an image in use (in any state), and goes on with the others.
        let rmi = lab.kctr(["rmi", "busybox:kctr-test", Self.multi, Self.many(3)])
        XCTAssertExit(rmi, 1)
        XCTAssertTrue(rmi.stderr.contains("kctr: cannot remove image \(Self.busybox): it is used by container \(ids[0].prefix(13)) (app in shop/web, Running) (hint: remove those containers first"), rmi.stderr)
        XCTAssertTrue(rmi.stderr.contains("kctr: cannot remove image \(Self.multi): it is used by container \(ids[1].prefix(13)) (job in shop/web, Exited)"), rmi.stderr)
        XCTAssertTrue(rmi.stderr.contains("kctr: 2 of 3 image(s) not removed"), rmi.stderr)
        XCTAssertEqual(rmi.lines, ["removing image \(Self.many(3))", "removed image \(Self.many(3))"])
        XCTAssertExit(lab.kctr(["import", try DiskFixtures.images(count: 4, prefix: "docker.io/kctr/prune")]), 0)

        let before = try DiskFixtures.statfs(lab.base + "/root")
        let r = lab.kctr(["images", "prune"])
        XCTAssertExit(r, 0)
        // Named before removed, then one line per image, then the space.
        let out = r.stdout
        let named = try XCTUnwrap(out.range(of: "removing 2 images from k8s.io, freeing about "))
        let removed = try XCTUnwrap(out.range(of: "removed \(Self.many(2))"), out)
        XCTAssertLessThan(named.lowerBound, removed.lowerBound, out)
        XCTAssertTrue(out.contains("removed \(Self.many(3))"), out)
        XCTAssertTrue(out.contains("containerd's garbage collection ran"), out)
        XCTAssertTrue(out.contains("\(lab.base)/root: available "), out)
        XCTAssertEqual(images(lab), [Self.busybox, Self.pause, Self.multi, Self.many(0), Self.many(1)])
        let after = try DiskFixtures.statfs(lab.base + "/root")
        XCTAssertGreaterThan(after.availableBytes, before.availableBytes, "the tmpfs got the pages back")

        // The estimate is what went: with JSON, before and after.
        XCTAssertExit(lab.kctr(["import", try DiskFixtures.images(count: 4, prefix: "docker.io/kctr/prune")]), 0)
        let json = try DiskFixtures.json(lab.kctr(["images", "prune", "-o", "json"]))
        let estimated = try XCTUnwrap((json["plan"] as? [String: Any])?["estimatedBytes"] as? Int64)
        func total(_ state: String) throws -> Int64 {
            let t = try XCTUnwrap((json[state] as? [String: Any])?["totals"] as? [String: Any])
            return ((t["content"] as? [String: Any])?["bytes"] as? Int64 ?? 0) + ((t["imageLayers"] as? [String: Any])?["bytes"] as? Int64 ?? 0)
        }
        XCTAssertEqual(try total("before") - total("after"), estimated)
        XCTAssertEqual(json["removed"] as? [String], [Self.many(2), Self.many(3)])

        // No pod left: the sandbox image is unused now, and stays as the configured sandbox image.
        XCTAssertExit(lab.kctr(["rmp", "-a", "-f"]), 0)
        let alias = lab.kctr(["rmi", "--prune"])
        XCTAssertExit(alias, 0)
        XCTAssertTrue(alias.lines.contains { $0.hasPrefix("  \(Self.pause) ") && $0.hasSuffix(lab.version.major >= 2 ? " pinned (CRI)" : " the configured sandbox image") }, alias.stdout)
        XCTAssertEqual(images(lab), [Self.pause, Self.many(1)])
        let again = lab.kctr(["rmi", "--prune", "--dry-run"])
        XCTAssertTrue(again.stdout.hasPrefix("no image to remove in k8s.io: every image is in use or protected"), again.stdout)
    }

    func testLeakedReleasesOnlyExpiredAndStaleLeasesAndSparesAnImportInProgress() throws {
        let lab = try DiskFixtures.tmpfsLab(size: "160m")
        defer { lab.stop() }
        XCTAssertExit(lab.kctr(["import", try TestImages.path("all.oci.tar")]), 0)
        _ = try PodFixture.start(socket: lab.socket, pod: PodSpec(name: "web", logDir: lab.base + "/pod-logs"),
                                 containers: [ContainerSpec(name: "app", command: ["sleep", "3600"])])
        // Leases the daemon holds of its own (2.x's CRI keeps one): not the test's, and --leaked leaves them alone.
        let daemons = leases(lab)
        // An import in another process, stopped once its blobs are written under its lease (no image yet).
        let archive = try DiskFixtures.images(count: 1, prefix: "docker.io/kctr/inflight", baseKiB: 64, layerKiB: 32)
        let inflight = try BackgroundKctr(lab, ["import", archive], env: ["KCTR_TEST_FAULT": "import-after-upload:stop"])
        XCTAssertTrue(inflight.wait { inflight.isStopped }, inflight.stderr)
        let importLease = try XCTUnwrap(leases(lab).first { $0.hasPrefix("kctr-import-") })
        let inflightBlobs = try blobs(lab, heldBy: importLease)
        XCTAssertFalse(inflightBlobs.isEmpty)

        // Now (the import cleaned stale leases when it started): an expired lease, a lease of someone else's
        // that has not expired (a pull), a lease of a kctr import whose process is gone, a blob nothing holds.
        let now = Date().timeIntervalSince1970
        try DiskFixtures.lease(lab, "pull-expired", expires: now - 3600)
        let expiredBlob = try DiskFixtures.blob(lab, "held by an expired lease", lease: "pull-expired")
        try DiskFixtures.lease(lab, "pull-running", expires: now + 86_400)
        let pullBlob = try DiskFixtures.blob(lab, "held by a pull that is still going", lease: "pull-running")
        let stale = "kctr-import-\(DiskFixtures.pidNamespace)-\(try DiskFixtures.deadPid())-deadbeef-lease"
        try DiskFixtures.lease(lab, stale, expires: now + 3600)
        let staleBlob = try DiskFixtures.blob(lab, "held by a dead kctr import", lease: stale)
        let staleIngest = stale.replacingOccurrences(of: "-lease", with: "-blob")
        _ = try DiskFixtures.blob(lab, "half written by a dead kctr import", lease: stale, ref: staleIngest, commit: false)
        let loose = try DiskFixtures.blob(lab, "held by nothing at all", lease: nil)
        XCTAssertTrue(lab.ctr(["content", "active"]).stdout.contains(staleIngest))

        // df names the holders.
        let df = try DiskFixtures.json(lab.kctr(["df", "-o", "json"]))
        let held = (df["notFromImages"] as? [[String: Any]] ?? []).reduce(into: [String: [String]]()) {
            $0[$1["id"] as? String ?? ""] = $1["heldBy"] as? [String]
        }
        XCTAssertTrue(held[pullBlob]?.first?.hasPrefix("lease pull-running (expires ") == true, "\(held)")
        XCTAssertTrue(held[expiredBlob]?.first?.hasPrefix("lease pull-expired (expired ") == true, "\(held)")
        XCTAssertTrue(held[staleBlob]?.first?.contains("kctr import, pid ") == true && held[staleBlob]?.first?.contains(", gone;") == true, "\(held)")
        XCTAssertEqual(held[loose], [])
        XCTAssertTrue(inflightBlobs.allSatisfy { held[$0]?.first?.contains("lease \(importLease) (kctr import, pid \(inflight.process.processIdentifier), running") == true },
                      "\(inflightBlobs) \(held)")

        let dry = lab.kctr(["images", "prune", "--leaked", "--dry-run"])
        XCTAssertExit(dry, 0)
        XCTAssertTrue(dry.stdout.contains("--leaked: would release 2 leases and 1 ingest"), dry.stdout)
        XCTAssertTrue(dry.stdout.contains("leaving lease pull-running in k8s.io alone (not kctr's, expires "), dry.stdout)
        XCTAssertTrue(dry.stdout.contains("leaving lease \(importLease) in k8s.io alone (kctr import, pid \(inflight.process.processIdentifier), running"), dry.stdout)
        XCTAssertEqual(leases(lab).subtracting(daemons).count, 4, "a dry run releases nothing")

        let r = lab.kctr(["images", "prune", "--leaked"])
        XCTAssertExit(r, 0)
        // The expired lease goes: released by kctr, or collected by containerd's own GC first (the prune's image
        // removal runs it), so the outcome is checked, not the line.
        XCTAssertFalse(leases(lab).contains("pull-expired"), r.stdout)
        XCTAssertTrue(r.stdout.contains("removed lease \(stale) in k8s.io (kctr import, pid "), r.stdout)
        // The stale ingest goes: aborted by kctr, or already with its lease (containerd may drop a released
        // lease's ingest itself first, so the message is not always there).
        XCTAssertFalse(lab.ctr(["content", "active"]).stdout.contains(staleIngest), r.stdout)
        XCTAssertEqual(leases(lab).subtracting(daemons), ["pull-running", importLease])
        XCTAssertTrue(daemons.isSubset(of: leases(lab)), "the daemon's own leases stay")
        let left = content(lab)
        XCTAssertTrue(left.contains(pullBlob))
        XCTAssertTrue(inflightBlobs.isSubset(of: left), "the import's blobs stay")
        XCTAssertFalse(left.contains(expiredBlob))
        XCTAssertFalse(left.contains(staleBlob))
        XCTAssertFalse(left.contains(loose))
        XCTAssertFalse(lab.ctr(["content", "active"]).stdout.contains(staleIngest))
        // The running pod's image and the sandbox image survive; multi, unused, went.
        XCTAssertEqual(images(lab), [Self.busybox, Self.pause])

        // The import goes on and finishes.
        kill(inflight.process.processIdentifier, SIGCONT)
        XCTAssertEqual(inflight.waitExit(timeout: 60).map { _ in inflight.process.terminationStatus }, 0, inflight.stderr)
        XCTAssertTrue(images(lab).contains("docker.io/kctr/inflight-00:1.0"))
    }

    /// The blobs `lease` holds (and no image reaches), as df lists them.
    func blobs(_ lab: Lab, heldBy lease: String) throws -> Set<String> {
        let df = try DiskFixtures.json(lab.kctr(["df", "-o", "json"]))
        return Set((df["notFromImages"] as? [[String: Any]] ?? []).filter {
            ($0["kind"] as? String) == "content" && (($0["heldBy"] as? [String])?.contains { $0.hasPrefix("lease \(lease) ") } ?? false)
        }.compactMap { $0["id"] as? String })
    }

    // MARK: usage errors

    func testRmiRefusesMixedOrMissingArguments() throws {
        let lab = try Lab()
        defer { lab.stop() }
        for (args, message) in [(["rmi"], "name at least one image to remove, or pass --prune"),
                                (["rmi", "--prune", "busybox"], "give image names or --prune, not both"),
                                (["rmi", "--dry-run", "busybox"], "--dry-run and --leaked go with --prune")] {
            let r = lab.kctr(args)
            XCTAssertExit(r, 64)
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        let missing = lab.kctr(["rmi", "nothing:here"])
        XCTAssertExit(missing, 1)
        XCTAssertTrue(missing.stderr.contains("kctr: image nothing:here not found in namespace k8s.io"), missing.stderr)
    }
}
