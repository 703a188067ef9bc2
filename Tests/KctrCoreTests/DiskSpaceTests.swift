import Foundation
import XCTest
@testable import KctrCommands
@testable import KctrCore
@testable import KctrRPC

/// The pure parts of df and prune: the kubelet's config and arithmetic, the reference graph, the image
/// units, the prune plan, from facts built here (no daemon).
final class KubeletDiskPolicyTests: XCTestCase {
    func testDefaultsWhenTheFileIsAbsent() throws {
        let p = try KubeletDiskPolicy.parse(nil, path: "/k.yaml")
        XCTAssertFalse(p.configFound)
        XCTAssertEqual(p.highThresholdPercent, 85)
        XCTAssertEqual(p.lowThresholdPercent, 80)
        XCTAssertEqual(p.minimumGCAgeSeconds, 120)
        XCTAssertEqual(p.maximumGCAgeSeconds, 0)
        XCTAssertEqual(p.thresholds.map { "\($0.signal) \($0.value) \($0.source)" },
                       ["imagefs.available 15% default", "imagefs.inodesFree 5% default", "nodefs.available 10% default", "nodefs.inodesFree 5% default"])
        XCTAssertEqual(p.disabledDefaults, [])
    }

    func testConfigValuesAndAPartialEvictionHard() throws {
        let yaml = """
            imageGCHighThresholdPercent: 90
            imageGCLowThresholdPercent: 70
            imageMinimumGCAge: 1h30m
            imageMaximumGCAge: 168h
            evictionHard:
              imagefs.available: 2Gi
              memory.available: 100Mi
            evictionSoft:
              nodefs.available: "20%"
            evictionSoftGracePeriod:
              nodefs.available: 1m30s
            """
        let (json, error) = NodeFiles.parseYAML(yaml, path: "/k.yaml")
        XCTAssertNil(error)
        let p = try KubeletDiskPolicy.parse(json, path: "/k.yaml")
        XCTAssertEqual(p.highThresholdPercent, 90)
        XCTAssertEqual(p.lowThresholdPercent, 70)
        XCTAssertEqual(p.minimumGCAgeSeconds, 5400)
        XCTAssertEqual(p.maximumGCAgeSeconds, 168 * 3600)
        XCTAssertEqual(p.thresholds.map { "\($0.signal) \($0.kind) \($0.value) \($0.source)" },
                       ["imagefs.available hard 2Gi config", "nodefs.available soft 20% config"])
        XCTAssertEqual(p.thresholds.first?.quantity, Int64(2) << 30)
        XCTAssertEqual(p.thresholds.last?.percent, 0.2)
        XCTAssertEqual(p.thresholds.last?.gracePeriod, "1m30s")
        // Without mergeDefaultEvictionSettings the kubelet sets the unspecified defaults to zero.
        XCTAssertEqual(p.disabledDefaults, ["imagefs.inodesFree", "nodefs.available", "nodefs.inodesFree"])
        XCTAssertEqual(p.fromConfig, ["evictionHard", "evictionSoft", "imageGCHighThresholdPercent", "imageGCLowThresholdPercent",
                                      "imageMaximumGCAge", "imageMinimumGCAge"])

        let (merged, _) = NodeFiles.parseYAML("mergeDefaultEvictionSettings: true\nevictionHard:\n  imagefs.available: 5%\n", path: "/k.yaml")
        let m = try KubeletDiskPolicy.parse(merged, path: "/k.yaml")
        XCTAssertEqual(m.thresholds.map { "\($0.signal) \($0.value) \($0.source)" },
                       ["imagefs.available 5% config", "imagefs.inodesFree 5% default", "nodefs.available 10% default", "nodefs.inodesFree 5% default"])
        XCTAssertEqual(m.disabledDefaults, [])
    }

    func testInvalidValuesAreRefusedWithTheField() {
        func message(_ yaml: String) -> String {
            let (json, _) = NodeFiles.parseYAML(yaml, path: "/k.yaml")
            do {
                _ = try KubeletDiskPolicy.parse(json, path: "/k.yaml")
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(message("imageGCHighThresholdPercent: 120"),
                       "the kubelet config /k.yaml sets imageGCHighThresholdPercent to 120: not a percentage from 0 to 100 (hint: fix it there: the kubelet refuses such a config as well)")
        XCTAssertEqual(message("imageGCHighThresholdPercent: high"),
                       "the kubelet config /k.yaml sets imageGCHighThresholdPercent to \"high\": not a percentage from 0 to 100 (hint: fix it there: the kubelet refuses such a config as well)")
        XCTAssertEqual(message("imageMinimumGCAge: soon"),
                       "the kubelet config /k.yaml sets imageMinimumGCAge to \"soon\": not a duration (hint: durations are written as Go writes them: 2m0s, 1h30m, 90s)")
        XCTAssertEqual(message("imageGCHighThresholdPercent: 80\nimageGCLowThresholdPercent: 80"),
                       "the kubelet config /k.yaml sets imageGCLowThresholdPercent (80) not below imageGCHighThresholdPercent (80) (hint: the kubelet refuses this config: set low below high)")
        XCTAssertEqual(message("evictionHard: 10%"),
                       "the kubelet config /k.yaml sets evictionHard to \"10%\": not a map of signal to threshold (hint: write it as evictionHard: {imagefs.available: \"15%\"})")
        XCTAssertEqual(message("evictionHard:\n  nodefs.available: 120%"),
                       "the kubelet config /k.yaml sets evictionHard.nodefs.available to \"120%\": not a percentage")
        XCTAssertEqual(message("evictionSoft:\n  imagefs.available: [1]"),
                       "the kubelet config /k.yaml sets evictionSoft.imagefs.available to a structure: not a quantity or percentage")
    }

    func testGoDurationsAndQuantities() {
        XCTAssertEqual(GoDuration.seconds("2m0s"), 120)
        XCTAssertEqual(GoDuration.seconds("1h30m"), 5400)
        XCTAssertEqual(GoDuration.seconds("1.5h"), 5400)
        XCTAssertEqual(GoDuration.seconds("300ms"), 0.3)
        XCTAssertEqual(GoDuration.seconds("0"), 0)
        XCTAssertNil(GoDuration.seconds("2 minutes"))
        XCTAssertNil(GoDuration.seconds("m"))
        XCTAssertNil(GoDuration.seconds(""))
        XCTAssertEqual(Quantity.value("100Mi"), Int64(100) << 20)
        XCTAssertEqual(Quantity.value("1.5Gi"), Int64(3) << 29)
        XCTAssertEqual(Quantity.value("2G"), 2_000_000_000)
        XCTAssertEqual(Quantity.value("500k"), 500_000)
        XCTAssertEqual(Quantity.value("12345"), 12345)
        XCTAssertNil(Quantity.value("lots"))
        XCTAssertNil(Quantity.value("-1Gi"))
    }

    /// bytesUntilGC is the smallest write after which the kubelet's own formula reaches the threshold.
    func testBytesUntilGCMatchesTheKubeletsFormula() {
        for capacity in [Int64(1000), 4099, 10_000, 65_536] {
            for high in [1, 50, 85, 99, 100] {
                let step = Int(max(1, capacity / 97))
                for available in Swift.stride(from: Int64(0), through: capacity, by: step) {
                    let until: Int64 = KubeletDiskPolicy.bytesUntilGC(capacity: capacity, available: available, high: high)
                    let at = KubeletDiskPolicy.usagePercent(capacity: capacity, available: available - until)
                    XCTAssertGreaterThanOrEqual(at, min(high, 100), "cap \(capacity) high \(high) avail \(available)")
                    if until > 0 {
                        let before = KubeletDiskPolicy.usagePercent(capacity: capacity, available: available - until + 1)
                        XCTAssertLessThan(before, high, "cap \(capacity) high \(high) avail \(available): one byte less is enough")
                    }
                }
            }
        }
        XCTAssertEqual(KubeletDiskPolicy.usagePercent(capacity: 100, available: 15), 85)
        XCTAssertEqual(KubeletDiskPolicy.bytesToFree(capacity: 1000, available: 150, low: 80), 50)
    }
}

final class DiskModelTests: XCTestCase {
    static let now = 1_800_000_000.0
    static let cfg = "sha256:c0"

    /// Content with GC labels as containerd's importer sets them: manifest -> config + layers, config -> snapshot.
    static func image(_ n: String, layers: [String], chain: String, config: String? = nil) -> [ContentRecord] {
        var manifestLabels = ["containerd.io/gc.ref.content.config": config ?? "sha256:config-\(n)"]
        for (i, l) in layers.enumerated() { manifestLabels["containerd.io/gc.ref.content.l.\(i)"] = l }
        return [ContentRecord(digest: "sha256:manifest-\(n)", size: 100, labels: manifestLabels),
                ContentRecord(digest: config ?? "sha256:config-\(n)", size: 10, labels: ["containerd.io/gc.ref.snapshot.overlayfs": chain])]
    }

    /// Two images sharing a base layer; a third of its own; a leased blob; a loose blob; a container.
    static func storage() -> NamespaceStorage {
        var ns = NamespaceStorage(namespace: "k8s.io")
        ns.content = image("a", layers: ["sha256:base", "sha256:a1"], chain: "chain-a")
            + image("b", layers: ["sha256:base", "sha256:b1"], chain: "chain-b")
            + image("c", layers: ["sha256:c1"], chain: "chain-c")
            + [ContentRecord(digest: "sha256:base", size: 1000), ContentRecord(digest: "sha256:a1", size: 200),
               ContentRecord(digest: "sha256:b1", size: 300), ContentRecord(digest: "sha256:c1", size: 400),
               ContentRecord(digest: "sha256:leased", size: 50), ContentRecord(digest: "sha256:expired", size: 60),
               ContentRecord(digest: "sha256:loose", size: 70)]
        ns.snapshots = [
            SnapshotRecord(snapshotter: "overlayfs", key: "chain-base", parent: "", kind: "committed"),
            SnapshotRecord(snapshotter: "overlayfs", key: "chain-a", parent: "chain-base", kind: "committed"),
            SnapshotRecord(snapshotter: "overlayfs", key: "chain-b", parent: "chain-base", kind: "committed"),
            SnapshotRecord(snapshotter: "overlayfs", key: "chain-c", parent: "", kind: "committed"),
            SnapshotRecord(snapshotter: "overlayfs", key: "ctr-1", parent: "chain-a", kind: "active"),
        ]
        for (key, bytes) in [("chain-base", 4000), ("chain-a", 800), ("chain-b", 900), ("chain-c", 1600), ("ctr-1", 5)] {
            ns.usage[.snapshot(snapshotter: "overlayfs", key: key)] = SnapshotUsage(bytes: Int64(bytes), inodes: 1)
        }
        ns.images = [
            ImageRecord(name: "example.com/a:1", labels: [:], target: Descriptor(mediaType: MediaType.ociManifest, digest: "sha256:manifest-a", size: 100), createdAt: now - 3000, updatedAt: now - 3000),
            ImageRecord(name: "example.com/b:1", labels: [:], target: Descriptor(mediaType: MediaType.ociManifest, digest: "sha256:manifest-b", size: 100), createdAt: now - 2000, updatedAt: now - 2000),
            ImageRecord(name: "example.com/c:1", labels: ["io.cri-containerd.pinned": "pinned"], target: Descriptor(mediaType: MediaType.ociManifest, digest: "sha256:manifest-c", size: 100), createdAt: now - 1000, updatedAt: now - 1000),
        ]
        ns.containers = [ContainerRecord(id: "ctr-1", image: "example.com/a:1", labels: [:], runtime: "", snapshotter: "overlayfs", snapshotKey: "ctr-1")]
        ns.leases = [LeaseRecord(id: "pull-1", labels: ["containerd.io/gc.expire": Timestamps.utc(now + 3600)]),
                     LeaseRecord(id: "pull-0", labels: ["containerd.io/gc.expire": Timestamps.utc(now - 3600)])]
        ns.leaseResources = ["pull-1": [LeaseResource(id: "sha256:leased", type: "content")],
                             "pull-0": [LeaseResource(id: "sha256:expired", type: "content")]]
        return ns
    }

    static func facts(_ ns: NamespaceStorage = storage(), cri: CRIStorageFacts? = nil) -> StorageFacts {
        StorageFacts(version: DaemonVersion(version: "1.6.20", revision: ""), paths: StoragePaths(contentRoot: nil, snapshotterRoots: ["overlayfs": "/x"], metadataPath: nil),
                     namespaces: [ns], cri: cri, now: now)
    }

    func testGraphFollowsLabelsParentsAndLeases() {
        let ns = Self.storage()
        let g = ns.graph
        let a = g.reach([.content("sha256:manifest-a")])
        XCTAssertEqual(Set(a.map(\.id)), ["sha256:manifest-a", "sha256:config-a", "sha256:base", "sha256:a1", "overlayfs/chain-a", "overlayfs/chain-base"])
        XCTAssertEqual(g.bytes(a), 100 + 10 + 1000 + 200 + 800 + 4000)
        XCTAssertEqual(ReferenceGraph.node(LeaseResource(id: "k", type: "snapshots/overlayfs")), .snapshot(snapshotter: "overlayfs", key: "k"))
        XCTAssertEqual(ReferenceGraph.node(LeaseResource(id: "r", type: "ingests")), .ingest("r"))
        XCTAssertNil(ReferenceGraph.node(LeaseResource(id: "x", type: "widgets")))
        XCTAssertEqual(ReferenceGraph.references(["containerd.io/gc.ref.snapshot.overlayfs/1": "k", "containerd.io/gc.ref.content.m.0": "sha256:m", "other": "x"]).sorted(),
                       [.content("sha256:m"), .snapshot(snapshotter: "overlayfs", key: "k")])
    }

    func testUniqueSharedUsersAndRemoval() {
        let model = ImageSpaceModel(storage: Self.storage(), cri: nil, now: Self.now)
        XCTAssertEqual(model.units.map(\.displayName), ["example.com/a:1", "example.com/b:1", "example.com/c:1"])
        // base blob and snapshot are shared by a and b.
        XCTAssertEqual(model.sharedBytes(0), 1000 + 4000)
        XCTAssertEqual(model.uniqueBytes(0), 100 + 10 + 200 + 800)
        XCTAssertEqual(model.users[0].map(\.id), ["ctr-1"], "the container names its image")
        XCTAssertEqual(model.users[1], [])
        // Removing b frees what only b has (base stays: a has it).
        XCTAssertEqual(model.simulateRemoval([1]), [100 + 10 + 300 + 900])
        // Then a: its blobs go (base too, now no image has it); its snapshots stay, the container runs on them.
        XCTAssertEqual(model.simulateRemoval([1, 0]), [Int64(1310), Int64(1310)])
        XCTAssertEqual(model.simulateRemoval([1], keptElsewhere: ["sha256:b1"]), [100 + 10 + 900])
        // Leased (not expired), expired and loose blobs, and the container's layer, are not reached from images.
        XCTAssertEqual(Set(model.unreachedFromImages.map(\.id)), ["sha256:leased", "sha256:expired", "sha256:loose", "overlayfs/ctr-1"])
        XCTAssertTrue(model.otherwiseHeld.contains(.content("sha256:leased")))
        XCTAssertFalse(model.otherwiseHeld.contains(.content("sha256:expired")))
    }

    func testAContainerFoundByItsSnapshotParentUsesTheImage() {
        var ns = Self.storage()
        ns.containers = [ContainerRecord(id: "ctr-1", image: "", labels: [:], runtime: "", snapshotter: "overlayfs", snapshotKey: "ctr-1")]
        let model = ImageSpaceModel(storage: ns, cri: nil, now: Self.now)
        XCTAssertEqual(model.users[0].map(\.kind), ["containerd container"])
    }

    func testCRIGroupsNamesByImageIDAndMarksPinnedAndSandbox() {
        var ns = Self.storage()
        ns.images.append(ImageRecord(name: "sha256:config-b", labels: [:], target: ns.images[1].target))
        ns.images.append(ImageRecord(name: "registry.k8s.io/pause:3.9", labels: [:], target: ns.images[2].target))
        var cri = CRIStorageFacts()
        cri.sandboxImage = "registry.k8s.io/pause:3.9"
        cri.images = [criImage(id: "sha256:config-b", tags: ["example.com/b:1"], size: 1410)]
        let units = ImageSpaceModel.units(ns.images, cri: cri)
        let b = units.first { $0.criID == "sha256:config-b" }
        XCTAssertEqual(b?.names, ["example.com/b:1", "sha256:config-b"])
        XCTAssertEqual(b?.criSize, 1410)
        let c = units.first { $0.targets == ["sha256:manifest-c"] }
        XCTAssertEqual(c?.names, ["example.com/c:1", "registry.k8s.io/pause:3.9"])
        XCTAssertEqual(c?.protections, ["the configured sandbox image", "pinned (label io.cri-containerd.pinned=pinned)"])
    }

    func criImage(id: String, tags: [String], size: UInt64, pinned: Bool = false) -> CRIImage {
        CRIImage(CRI.Image(id: id, repoTags: tags, size: size, pinned: pinned))
    }

    func testPrunePlanKeepsUsedAndPinnedAndReleasesOnlyExpiredLeases() {
        let plan = PrunePlan.make(facts: Self.facts(), namespace: "k8s.io", leaked: true)
        XCTAssertEqual(plan.remove.map(\.name), ["example.com/b:1"])
        XCTAssertEqual(plan.estimatedBytes, 100 + 10 + 300 + 900)
        XCTAssertEqual(plan.keep.map { "\($0.name): \($0.reasons.joined(separator: "; "))" },
                       ["example.com/a:1: used by containerd container ctr-1", "example.com/c:1: pinned (label io.cri-containerd.pinned=pinned)"])
        let leaked = try? XCTUnwrap(plan.leaked)
        XCTAssertEqual(leaked?.leases.map(\.id), ["pull-0"])
        XCTAssertEqual(leaked?.leases.first?.holdsBytes, 60)
        XCTAssertEqual(leaked?.keptLeases.map(\.id), ["pull-1"])
        XCTAssertEqual(Set(leaked?.collected.map(\.id) ?? []), ["sha256:expired", "sha256:loose"])
        XCTAssertEqual(leaked?.collectedBytes, 130)
    }

    func testAStaleKctrLeaseIsReleasedALiveOneIsNot() {
        var ns = Self.storage()
        let dead = "kctr-import-\(StaleImports.pidNamespace)-2147483646-abcd1234-lease"
        let live = "kctr-import-\(StaleImports.pidNamespace)-\(getpid())-abcd1234-lease"
        ns.leases += [LeaseRecord(id: dead, labels: ["containerd.io/gc.expire": Timestamps.utc(Self.now + 3600)]),
                      LeaseRecord(id: live, labels: ["containerd.io/gc.expire": Timestamps.utc(Self.now + 3600)])]
        ns.ingests = [IngestStatus(ref: dead.replacingOccurrences(of: "-lease", with: "-blob"), offset: 7, total: 10)]
        let leaked = PrunePlan.make(facts: Self.facts(ns), namespace: "k8s.io", leaked: true).leaked
        XCTAssertEqual(Set(leaked?.leases.map(\.id) ?? []), ["pull-0", dead])
        XCTAssertEqual(leaked?.leases.first { $0.id == dead }?.why, "kctr import, pid 2147483646, gone")
        XCTAssertEqual(Set(leaked?.keptLeases.map(\.id) ?? []), ["pull-1", live])
        XCTAssertEqual(leaked?.keptLeases.first { $0.id == live }?.owner, "kctr import, pid \(getpid()), running")
        XCTAssertEqual(leaked?.ingests.map(\.bytes), [7])
    }

    func testImageGCOrderAndWhatItRemoves() {
        var cri = CRIStorageFacts()
        cri.images = [criImage(id: "sha256:config-a", tags: ["example.com/a:1"], size: 500),
                      criImage(id: "sha256:config-b", tags: ["example.com/b:1"], size: 600),
                      criImage(id: "sha256:config-c", tags: ["example.com/c:1"], size: 700, pinned: true)]
        var ns = Self.storage()
        ns.containers = []
        ns.images.append(ImageRecord(name: "example.com/d:1", labels: [:], target: ns.images[1].target, createdAt: Self.now - 60, updatedAt: Self.now - 60))
        let model = ImageSpaceModel(storage: ns, cri: cri, now: Self.now)
        var policy = try? KubeletDiskPolicy.parse(nil, path: "/k")
        policy?.minimumGCAgeSeconds = 120
        // 1000 bytes, 10 available (99% used): GC runs and wants 1000*20/100 - 10 = 190 bytes back.
        let fs = FilesystemUsage(path: "/x", sizeBytes: 1000, usedBytes: 990, availableBytes: 10)
        guard let policy else { return XCTFail("no policy") }
        let gc = KubeletView.imageGC(policy: policy, fs: fs, model: model, now: Self.now)
        XCTAssertTrue(gc.running)
        XCTAssertEqual(gc.bytesToFree, 190)
        // c is pinned; d (not known to CRI) is not the kubelet's to collect.
        XCTAssertEqual(gc.candidates.map(\.name), ["example.com/a:1", "example.com/b:1"])
        XCTAssertEqual(gc.candidates.map(\.removed), [true, false], "a's 500 bytes (CRI's count) cover the 190")
        XCTAssertEqual(gc.skippedPinned, 1)
        XCTAssertEqual(gc.removesCRIBytes, 500)
    }

    func testPodStatsMessages() {
        XCTAssertEqual("\(PodStats.noPodStats("unknown method ListPodSandboxStats"))",
                       "the runtime does not report pod-level stats: CRI ListPodSandboxStats is not implemented (unknown method ListPodSandboxStats) (hint: per-container figures are there: kctr stats --pod ID)")
    }

    func testRemovableRefusesWhatIsInUseUnlessForced() {
        let running = WorkloadTarget(kind: .container, id: "aaaaaaaaaaaaaaaa", label: "app in shop/web", state: "Running")
        let exited = WorkloadTarget(kind: .container, id: "bbbbbbbbbbbbbbbb", label: "job in shop/web", state: "Exited")
        let named = WorkloadChanges.removable([running, exited], force: false, all: false)
        XCTAssertEqual(named.remove, [exited])
        XCTAssertEqual(named.refused, ["cannot remove container aaaaaaaaaaaaa (app in shop/web): it is running (hint: stop it first (kctr stop aaaaaaaaaaaaa), or pass -f to stop and remove it)"])
        let all = WorkloadChanges.removable([running, exited], force: false, all: true)
        XCTAssertEqual(all.kept, [running])
        XCTAssertEqual(all.refused, [])
        XCTAssertEqual(WorkloadChanges.removable([running, exited], force: true, all: false).remove, [running, exited])
    }

    func testTheMountHoldingAPathIsTheLongestPrefixEvenPast4KiB() {
        var lines = (0..<100).map { "\($0) 1 0:\($0) / /srv/m\($0) rw - ext4 /dev/x rw" }
        lines.insert("1 0 8:1 / / rw - ext4 /dev/vda rw", at: 0)
        lines.append("200 1 0:99 / /tmp/lab/root rw - tmpfs kctr rw")
        lines.append("201 1 0:98 / /tmp/lab\\040two rw - xfs x rw")
        let text = lines.joined(separator: "\n")
        XCTAssertGreaterThan(text.utf8.count, 4096)
        XCTAssertEqual(FilesystemUsage.mount(of: "/tmp/lab/root/io.containerd.content.v1.content", in: text)?.type, "tmpfs")
        XCTAssertEqual(FilesystemUsage.mount(of: "/tmp/lab/rootless", in: text)?.point, "/")
        XCTAssertEqual(FilesystemUsage.mount(of: "/tmp/lab two/x", in: text)?.type, "xfs")
        XCTAssertEqual(FilesystemUsage.procText("/proc/self/mountinfo")?.isEmpty, false)
    }

    /// After stop/rm/stopp/rmp, crictl's flags are the commands' own (nothing is rewritten); a leading
    /// --timeout, the call deadline, is passed on as --call-timeout (their --timeout is the grace period).
    func testCrictlFlagsAfterTheCommand() {
        XCTAssertEqual(GlobalArguments.hoist(["rm", "-a", "-f"]), ["rm", "-a", "-f"])
        XCTAssertEqual(GlobalArguments.hoist(["pods", "rm", "-a"]), ["pods", "rm", "-a"])
        XCTAssertEqual(GlobalArguments.hoist(["stop", "--timeout", "10", "abc"]), ["stop", "--timeout", "10", "abc"])
        XCTAssertEqual(GlobalArguments.hoist(["pods", "stop", "--timeout=10", "abc"]), ["pods", "stop", "--timeout=10", "abc"])
        XCTAssertEqual(GlobalArguments.hoist(["--timeout", "30s", "rmp", "-t", "5", "abc"]), ["rmp", "-t", "5", "abc", "--call-timeout", "30s"])
        XCTAssertEqual(GlobalArguments.hoist(["--timeout=30s", "pods", "stop", "abc"]), ["pods", "stop", "abc", "--call-timeout=30s"])
        XCTAssertEqual(GlobalArguments.hoist(["images", "ls", "--timeout", "5s"]), ["images", "ls", "--timeout", "5s"])
    }
}
