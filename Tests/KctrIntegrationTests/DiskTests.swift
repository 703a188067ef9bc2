import Foundation
import KctrLab
import XCTest

/// `kctr df` against real pods on a private containerd whose root is a tmpfs of its own: its numbers
/// checked against stat -f, du, `ctr content ls` and `ctr snapshots usage`; the kubelet's thresholds
/// checked against the kubelet's own arithmetic.
final class DiskTests: XCTestCase {
    func contentRoot(_ lab: Lab) -> String { lab.base + "/root/io.containerd.content.v1.content" }
    func snapshotRoot(_ lab: Lab) -> String { lab.base + "/root/io.containerd.snapshotter.v1.overlayfs" }

    func writeKubeletConfig(_ lab: Lab, _ text: String) throws -> String {
        let path = lab.base + "/kubelet-config.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: lab.base + "/kubelet", withIntermediateDirectories: true)
        return path
    }

    /// Polls a container's log until it holds `text`.
    func waitForLog(_ path: String, _ text: String) -> Bool {
        for _ in 0..<300 {
            if ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").contains(text) { return true }
            usleep(20_000)
        }
        return false
    }

    func testDfAgreesWithStatfsDuAndCtr() throws {
        let lab = try DiskFixtures.labWithImages(size: "160m", count: 3, prefix: "docker.io/kctr/dfimg")
        defer { lab.stop() }
        let logDir = lab.base + "/pod-logs"
        // A container that writes 256 KiB into its writable layer, then waits.
        let (_, ids) = try PodFixture.start(socket: lab.socket, pod: PodSpec(name: "writer", logDir: logDir), containers: [
            ContainerSpec(name: "app", command: ["sh", "-c", "head -c 262144 /dev/urandom > /data; echo ready; exec sleep 3600"]),
        ])
        XCTAssertTrue(waitForLog(logDir + "/app/0.log", "ready"))
        let config = try writeKubeletConfig(lab, "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n")

        let before = try DiskFixtures.statfs(contentRoot(lab))
        let r = lab.kctr(["df", "-o", "json", "--kubelet-config", config, "--kubelet-root", lab.base + "/kubelet"])
        let after = try DiskFixtures.statfs(contentRoot(lab))
        XCTAssertExit(r, 0)
        let report = try DiskFixtures.json(r)

        // statfs: the tmpfs holds content store, snapshotter and metadata; what kctr read is what stat -f reads.
        let filesystems = try XCTUnwrap(report["filesystems"] as? [[String: Any]])
        let fs = try XCTUnwrap(filesystems.first { ($0["holds"] as? [String])?.contains("content store") == true })
        XCTAssertEqual(Set(fs["holds"] as? [String] ?? []), ["content store", "snapshotter overlayfs", "metadata"])
        let usage = try XCTUnwrap(fs["usage"] as? [String: Any])
        XCTAssertEqual(usage["mountpoint"] as? String, lab.base + "/root")
        XCTAssertEqual(usage["type"] as? String, "tmpfs")
        XCTAssertEqual(usage["sizeBytes"] as? Int64, before.size)
        XCTAssertTrue([before.used, after.used].contains(usage["usedBytes"] as? Int64 ?? -1), "\(usage) vs \(before) \(after)")
        XCTAssertTrue([before.availableBytes, after.availableBytes].contains(usage["availableBytes"] as? Int64 ?? -1))
        XCTAssertTrue([before.inodesFree, after.inodesFree].contains(usage["inodesFree"] as? Int64 ?? -1))

        // Content: the blob files, and ctr's listing.
        let totals = try XCTUnwrap(report["totals"] as? [String: Any])
        let content = try XCTUnwrap(totals["content"] as? [String: Any])
        let blobs = contentRoot(lab) + "/blobs/sha256"
        let files = try FileManager.default.contentsOfDirectory(atPath: blobs)
        let fileBytes = try files.reduce(Int64(0)) { sum, f in
            sum + ((try FileManager.default.attributesOfItem(atPath: blobs + "/" + f)[.size] as? NSNumber)?.int64Value ?? 0)
        }
        XCTAssertEqual(content["count"] as? Int, files.count)
        XCTAssertEqual(content["bytes"] as? Int64, fileBytes)
        let ctrContent = lab.ctr(["content", "ls"]).lines.dropFirst().map { $0.split(separator: "\t").map(String.init) }
        XCTAssertEqual(ctrContent.count, files.count)
        var ctrBytes = 0.0, ctrError = 0.0
        for row in ctrContent {
            let s = try XCTUnwrap(DiskFixtures.ctrSize(row[1]), row.joined(separator: " "))
            ctrBytes += s.bytes
            ctrError += s.error
        }
        XCTAssertEqual(Double(fileBytes), ctrBytes, accuracy: ctrError + 1)

        // Snapshots: du of each snapshot's upper dir, and ctr snapshots usage.
        let layers = try XCTUnwrap(totals["imageLayers"] as? [String: Any])
        let writable = try XCTUnwrap(totals["writableLayers"] as? [String: Any])
        let other = totals["otherSnapshots"] as? [String: Any]
        let snapshotBytes = (layers["bytes"] as? Int64 ?? 0) + (writable["bytes"] as? Int64 ?? 0) + (other?["bytes"] as? Int64 ?? 0)
        let snapshotInodes = (layers["inodes"] as? Int64 ?? 0) + (writable["inodes"] as? Int64 ?? 0) + (other?["inodes"] as? Int64 ?? 0)
        let dirs = try FileManager.default.contentsOfDirectory(atPath: snapshotRoot(lab) + "/snapshots")
        XCTAssertEqual(dirs.count, (layers["count"] as? Int ?? 0) + (writable["count"] as? Int ?? 0) + (other?["count"] as? Int ?? 0))
        XCTAssertEqual(snapshotBytes, dirs.reduce(Int64(0)) { $0 + DiskFixtures.du(snapshotRoot(lab) + "/snapshots/\($1)/fs") })
        // 2 sandboxes (pause) and 1 container: their own writable layers, the writer's holding its 256 KiB.
        XCTAssertEqual(writable["count"] as? Int, 2)
        XCTAssertGreaterThanOrEqual(writable["bytes"] as? Int64 ?? 0, 262_144)
        let usageRows = lab.ctr(["snapshots", "usage"]).lines.dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        XCTAssertEqual(usageRows.count, dirs.count)
        var ctrSnap = 0.0, ctrSnapError = 0.0, ctrInodes: Int64 = 0
        for row in usageRows where row.count >= 4 {
            let s = try XCTUnwrap(DiskFixtures.ctrSize(String(row[1] + row[2])))
            ctrSnap += s.bytes
            ctrSnapError += s.error
            ctrInodes += Int64(row[3]) ?? 0
        }
        XCTAssertEqual(Double(snapshotBytes), ctrSnap, accuracy: ctrSnapError + 1)
        XCTAssertEqual(snapshotInodes, ctrInodes)

        // The metadata database, as du counts it.
        let paths = try XCTUnwrap(report["paths"] as? [String: Any])
        let meta = try XCTUnwrap(paths["metadataPath"] as? String)
        XCTAssertEqual(totals["metadataBytes"] as? Int64, DiskFixtures.du(meta))
        XCTAssertEqual(totals["bytes"] as? Int64, fileBytes + snapshotBytes + DiskFixtures.du(meta))

        // Everything is either reached from an image or listed as not reached, each node once.
        let notFromImages = try XCTUnwrap(report["notFromImages"] as? [[String: Any]])
        let notFromBytes = notFromImages.reduce(Int64(0)) { $0 + ($1["bytes"] as? Int64 ?? 0) }
        XCTAssertEqual((report["imagesBytes"] as? Int64 ?? 0) + notFromBytes, fileBytes + snapshotBytes)
        XCTAssertEqual((report["imagesUniqueBytes"] as? Int64 ?? 0) + (report["imagesSharedBytes"] as? Int64 ?? 0),
                       report["imagesBytes"] as? Int64)
        XCTAssertTrue(notFromImages.allSatisfy { ($0["heldBy"] as? [String])?.first?.hasPrefix("container ") == true }, "\(notFromImages)")

        // Images: who uses them, what they share.
        let images = try XCTUnwrap(report["images"] as? [[String: Any]])
        func image(_ name: String) throws -> [String: Any] { try XCTUnwrap(images.first { $0["name"] as? String == name }, name) }
        let busybox = try image("docker.io/library/busybox:kctr-test")
        let users = try XCTUnwrap(busybox["users"] as? [[String: Any]])
        XCTAssertEqual(users.map { $0["id"] as? String }, [ids[0]])
        XCTAssertEqual(users.first?["state"] as? String, "Running")
        XCTAssertEqual(users.first?["pod"] as? String, "shop/writer")
        let pause = try image("registry.k8s.io/pause:3.9")
        // containerd 2.x pins its sandbox image itself and reports it only as pinned (not by name).
        XCTAssertEqual(pause["protections"] as? [String], lab.version.major >= 2 ? ["pinned (CRI)"] : ["the configured sandbox image"])
        XCTAssertEqual((pause["users"] as? [[String: Any]])?.first?["kind"] as? String, "sandbox")
        // busybox and multi share busybox's layer (blob and snapshot): shared, counted once in the total.
        let multi = try image("docker.io/kctr/multi:1.0")
        XCTAssertGreaterThan(busybox["sharedBytes"] as? Int64 ?? 0, 1_000_000)
        XCTAssertEqual(busybox["sharedBytes"] as? Int64, multi["sharedBytes"] as? Int64)
        let many = try (0..<3).map { try image("docker.io/kctr/dfimg-0\($0):1.0") }
        XCTAssertTrue(many.allSatisfy { ($0["uniqueBytes"] as? Int64 ?? 0) > 0 && ($0["sharedBytes"] as? Int64 ?? 0) > 0 })
        XCTAssertEqual(report["imagesSharedBytes"] as? Int64,
                       (busybox["sharedBytes"] as? Int64 ?? 0) + (many[0]["sharedBytes"] as? Int64 ?? 0))

        // CRI's own count, for comparison.
        let fsInfo = try XCTUnwrap((report["imageFsInfo"] as? [String: Any])?["imageFilesystems"] as? [[String: Any]])
        XCTAssertEqual(fsInfo.first?["mountpoint"] as? String, snapshotRoot(lab))

        // The kubelet's usage, from the same statfs.
        let kubelet = try XCTUnwrap(report["kubelet"] as? [String: Any])
        let gc = try XCTUnwrap(kubelet["imageGC"] as? [String: Any])
        let available = usage["availableBytes"] as? Int64 ?? 0
        XCTAssertEqual(gc["usagePercent"] as? Int, 100 - Int(available * 100 / before.size))

        // The table says the same.
        let table = lab.kctr(["df", "--kubelet-config", config, "--kubelet-root", lab.base + "/kubelet"])
        XCTAssertExit(table, 0)
        XCTAssertTrue(table.stdout.contains(lab.base + "/root (tmpfs)"), table.stdout)
        XCTAssertTrue(table.stdout.contains("app (shop/writer, Running)"), table.stdout)
        XCTAssertTrue(table.stdout.contains("CRI ImageFsInfo: \(snapshotRoot(lab))"), table.stdout)
    }

    /// A node near its image GC threshold: when the kubelet starts collecting, what it removes first, and
    /// how far each eviction signal is, as the kubelet computes them.
    func testImageGCProjectionAndEvictionNearTheThreshold() throws {
        let lab = try DiskFixtures.tmpfsLab(size: "64m")
        defer { lab.stop() }
        XCTAssertExit(lab.kctr(["import", try TestImages.path("all.oci.tar")]), 0)
        XCTAssertExit(lab.kctr(["import", try DiskFixtures.images(count: 3, prefix: "docker.io/kctr/gcimg")]), 0)
        _ = try PodFixture.start(socket: lab.socket, pod: PodSpec(name: "web", logDir: lab.base + "/pod-logs"),
                                 containers: [ContainerSpec(name: "app", command: ["sleep", "3600"])])
        // Least recently used first: the record updated longest ago (a label is an update).
        for n in ["01", "00", "02"] {
            XCTAssertExit(lab.ctr(["images", "label", "docker.io/kctr/gcimg-\(n):1.0", "touched=\(n)"]), 0)
        }
        let config = try writeKubeletConfig(lab, """
            apiVersion: kubelet.config.k8s.io/v1beta1
            kind: KubeletConfiguration
            imageGCHighThresholdPercent: 85
            imageGCLowThresholdPercent: 83
            imageMinimumGCAge: 0s
            evictionHard:
              imagefs.available: "10%"
              nodefs.available: 5%
            """)
        let root = lab.base + "/root"
        try DiskFixtures.fill(root, name: "filler", toKubeletPercent: 80)
        let args = ["df", "-o", "json", "--kubelet-config", config, "--kubelet-root", lab.base + "/kubelet"]

        var s = try DiskFixtures.statfs(root)
        var kubelet = try XCTUnwrap(try DiskFixtures.json(lab.kctr(args))["kubelet"] as? [String: Any])
        var gc = try XCTUnwrap(kubelet["imageGC"] as? [String: Any])
        XCTAssertEqual(gc["usagePercent"] as? Int, 80)
        XCTAssertEqual(gc["running"] as? Bool, false)
        // GC starts once available*100/capacity (integer division) <= 100 - 85.
        let limit = (16 * s.size - 1) / 100
        XCTAssertEqual(gc["bytesUntilGC"] as? Int64, s.availableBytes - limit)
        XCTAssertEqual(gc["bytesToFree"] as? Int64, s.size * 17 / 100 - limit)
        let candidates = try XCTUnwrap(gc["candidates"] as? [[String: Any]])
        XCTAssertEqual(candidates.map { $0["name"] as? String ?? "" },
                       ["docker.io/kctr/multi:1.0", "docker.io/kctr/gcimg-01:1.0", "docker.io/kctr/gcimg-00:1.0", "docker.io/kctr/gcimg-02:1.0"],
                       "busybox and pause are in use; the rest by the time their record was last updated")
        // The kubelet stops once CRI's sizes of what it removed reach bytesToFree.
        let toFree = gc["bytesToFree"] as? Int64 ?? 0
        var counted: Int64 = 0
        for c in candidates {
            XCTAssertEqual(c["removed"] as? Bool, counted < toFree, "\(c)")
            if counted < toFree { counted += c["criSize"] as? Int64 ?? 0 }
        }
        XCTAssertEqual(gc["skippedInUse"] as? Int, 2)
        let eviction = try XCTUnwrap(kubelet["eviction"] as? [[String: Any]])
        let imagefs = try XCTUnwrap(eviction.first { $0["signal"] as? String == "imagefs.available" })
        let evictionLimit = Int64((Double(s.size) * 0.10).rounded(.up))
        XCTAssertEqual(imagefs["limit"] as? Int64, evictionLimit)
        XCTAssertEqual(imagefs["margin"] as? Int64, s.availableBytes - evictionLimit)
        XCTAssertEqual(imagefs["met"] as? Bool, false)
        XCTAssertEqual(imagefs["source"] as? String, "config")
        // A partial evictionHard turns the other default signals off (no mergeDefaultEvictionSettings).
        XCTAssertEqual((kubelet["policy"] as? [String: Any])?["disabledDefaults"] as? [String], ["imagefs.inodesFree", "nodefs.inodesFree"])

        // Past the threshold: the kubelet collects now.
        try DiskFixtures.fill(root, name: "filler", toKubeletPercent: 91)
        s = try DiskFixtures.statfs(root)
        let r = lab.kctr(args)
        kubelet = try XCTUnwrap(try DiskFixtures.json(r)["kubelet"] as? [String: Any])
        gc = try XCTUnwrap(kubelet["imageGC"] as? [String: Any])
        XCTAssertEqual(gc["running"] as? Bool, true)
        XCTAssertEqual(gc["bytesUntilGC"] as? Int64, 0)
        XCTAssertEqual(gc["bytesToFree"] as? Int64, s.size * 17 / 100 - s.availableBytes)
        XCTAssertEqual(gc["reachesLow"] as? Bool, false, "the images are far smaller than the filler")
        let met = try XCTUnwrap((kubelet["eviction"] as? [[String: Any]])?.first { $0["signal"] as? String == "imagefs.available" })
        XCTAssertEqual(met["met"] as? Bool, true)
        let text = lab.kctr(["df", "--kubelet-config", config, "--kubelet-root", lab.base + "/kubelet"])
        XCTAssertTrue(text.stdout.contains("over the threshold: the kubelet collects now"), text.stdout)
        XCTAssertTrue(text.stdout.contains("MET: the kubelet evicts pods"), text.stdout)
    }

    // MARK: errors

    func testDfRefusesAMissingOrBrokenKubeletConfig() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let missing = lab.kctr(["df", "--kubelet-config", lab.base + "/nope.yaml"])
        XCTAssertExit(missing, 1)
        XCTAssertTrue(missing.stderr.contains("kctr: the kubelet config \(lab.base)/nope.yaml does not exist (hint: pass the file the kubelet runs with"), missing.stderr)
        let bad = lab.base + "/bad.yaml"
        try "imageGCHighThresholdPercent: 70\nimageGCLowThresholdPercent: 80\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let inverted = lab.kctr(["df", "--kubelet-config", bad])
        XCTAssertExit(inverted, 1)
        XCTAssertTrue(inverted.stderr.contains("kctr: the kubelet config \(bad) sets imageGCLowThresholdPercent (80) not below imageGCHighThresholdPercent (70)"), inverted.stderr)
        try "evictionHard:\n  imagefs.available: lots\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let quantity = lab.kctr(["df", "--kubelet-config", bad])
        XCTAssertExit(quantity, 1)
        XCTAssertTrue(quantity.stderr.contains("sets evictionHard.imagefs.available to \"lots\": not a quantity"), quantity.stderr)
        try "imageGCHighThresholdPercent: [\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let yaml = lab.kctr(["df", "--kubelet-config", bad])
        XCTAssertExit(yaml, 1)
        XCTAssertTrue(yaml.stderr.contains("kctr: cannot read the kubelet config \(bad): cannot parse"), yaml.stderr)
        let top = lab.kctr(["df", "--top=-1"])
        XCTAssertExit(top, 64)
        XCTAssertTrue(top.stderr.contains("--top must be 0 (all) or more"), top.stderr)
    }
}
