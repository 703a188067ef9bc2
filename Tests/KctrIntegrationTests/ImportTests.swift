import Foundation
import XCTest

/// `kctr import` against a private containerd, checked with ctr (and CRI through `kctr images ls`).
/// Each test imports into a namespace of its own, except where CRI (k8s.io) is the point.
final class ImportTests: XCTestCase {
    static let shared = SharedLab()

    override class func tearDown() { shared.stop() }

    static let busybox = "docker.io/library/busybox:kctr-test"
    static let pause = "registry.k8s.io/pause:3.9"
    static let multi = "docker.io/kctr/multi:1.0"
    static let all = [multi, busybox, pause]

    /// Images, CRI, snapshots and leftovers after importing each test archive into k8s.io.
    func testEachArchiveIntoK8sIsKnownToCRIUnpackedAndLeavesNothingBehind() throws {
        let lab = try Self.shared.get()
        let cases: [(String, [String])] = [
            ("busybox.oci.tar", [Self.busybox]),
            ("busybox.docker.tar", [Self.busybox]),
            ("multi.oci.tar", [Self.multi]),
            ("all.oci.tar", Self.all),
        ]
        for (archive, names) in cases {
            let r = lab.kctr(["import", try TestImages.path(archive)], timeout: 30)
            XCTAssertExit(r, 0)
            XCTAssertTrue(r.stderr.contains("imported \(names.count) image name(s)"), "\(archive): \(r.stderr)")
            let ctrNames = lab.imageNames("k8s.io")
            for name in names { XCTAssertTrue(ctrNames.contains(name), "\(archive): \(name) not in \(ctrNames)") }
            // The table names each image once.
            for name in names { XCTAssertEqual(r.lines.filter { $0.hasPrefix(name + " ") }.count, 1, "\(archive): \(r.stdout)") }

            let list = lab.kctr(["images", "ls", "-o", "json"])
            XCTAssertExit(list, 0)
            let rows = try XCTUnwrap(jsonObject(list.stdout) as? [[String: Any]], list.stdout)
            let check = lab.ctr(["images", "check"])
            for name in names {
                let image = try lab.ctrImage(name, namespace: "k8s.io")
                let row = try XCTUnwrap(rows.first { $0["name"] as? String == name }, "\(archive): \(name) not listed")
                XCTAssertEqual(row["digest"] as? String, image.digest, "\(archive): \(name)")
                XCTAssertEqual(row["unpacked"] as? Bool, true, "\(archive): \(name)")
                let cri = try XCTUnwrap(row["cri"] as? [String: Any], "\(archive): \(name)")
                XCTAssertEqual(cri["known"] as? Bool, true, "\(archive): \(name)")
                XCTAssertEqual(cri["id"] as? String, image.config, "\(archive): \(name)")
                // The chain ID, computed from the config ctr reads, is a committed snapshot in overlayfs.
                let chain = try XCTUnwrap(image.chainID, "\(archive): \(name) has no diff IDs")
                XCTAssertEqual(row["chainID"] as? String, chain, "\(archive): \(name)")
                let info = lab.ctr(["snapshots", "--snapshotter", "overlayfs", "info", chain])
                XCTAssertExit(info, 0)
                XCTAssertTrue(info.stdout.contains("Committed"), "\(archive): \(name): \(info.stdout)")
                // ctr agrees: all content present, unpacked.
                let line = try XCTUnwrap(check.lines.first { $0.hasPrefix(name + " ") }, check.stdout)
                XCTAssertTrue(line.contains("complete"), "\(archive): \(line)")
                XCTAssertEqual(line.split(separator: " ").last, "true", "\(archive): \(line)")
            }
            lab.assertNoLeftovers("k8s.io")
        }
    }

    func testImportedImageRunsWithCtr() throws {
        let lab = try Self.shared.get()
        let ns = uniqueNamespace("run")
        XCTAssertExit(lab.kctr(["-n", ns, "import", try TestImages.path("busybox.oci.tar")]), 0)
        // Unpacked by kctr already (ctr run would otherwise unpack it itself).
        let check = lab.ctr(["images", "check"], namespace: ns)
        XCTAssertEqual(check.lines.dropFirst().map { $0.split(separator: " ").last.map(String.init) ?? "" }, ["true"], check.stdout)
        let id = "t-\(UUID().uuidString.prefix(8).lowercased())"
        let r = runProcess([lab.ctrPath, "--address", lab.socket, "-n", ns, "run", "--rm", "--runc-root", lab.base + "/runc",
                            Self.busybox, id, "echo", "hello"], timeout: 120)
        XCTAssertExit(r, 0)
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "hello", r.stderr)
        XCTAssertEqual(lab.ctr(["containers", "ls", "-q"], namespace: ns).lines, [])
    }

    /// containerd's GC references set by the import keep the content and the snapshot alive through a collection.
    func testGarbageCollectionLabelsKeepTheImportedContent() throws {
        let lab = try Self.shared.get()
        let ns = uniqueNamespace("gc")
        XCTAssertExit(lab.kctr(["-n", ns, "import", try TestImages.path("multi.oci.tar")]), 0)
        // docker save: kctr writes the manifest itself, so its labels matter as much.
        XCTAssertExit(lab.kctr(["-n", ns, "import", "--name", "docker.io/kctr/docker-save:1", try TestImages.path("busybox.docker.tar")]), 0)
        let images = [try lab.ctrImage(Self.multi, namespace: ns), try lab.ctrImage("docker.io/kctr/docker-save:1", namespace: ns)]
        XCTAssertEqual(images[0].layers.count, 3)
        var labels = lab.contentLabels(ns)
        for image in images {
            let manifest = try XCTUnwrap(labels[image.digest], "\(image.name): manifest not in ctr content ls")
            XCTAssertEqual(manifest["containerd.io/gc.ref.content.config"], image.config, image.name)
            for (i, layer) in image.layers.enumerated() {
                XCTAssertEqual(manifest["containerd.io/gc.ref.content.l.\(i)"], layer, "\(image.name) layer \(i)")
            }
            let config = try XCTUnwrap(labels[image.config], "\(image.name): config not in ctr content ls")
            XCTAssertEqual(config["containerd.io/gc.ref.snapshot.overlayfs"], image.chainID, image.name)
        }

        // An unrelated image, removed with --sync: containerd collects garbage before answering.
        XCTAssertExit(lab.ctr(["images", "import", try TestImages.path("pause.oci.tar")], namespace: ns), 0)
        let pause = try lab.ctrImage(Self.pause, namespace: ns)
        XCTAssertExit(lab.ctr(["images", "rm", "--sync", Self.pause], namespace: ns), 0)
        labels = lab.contentLabels(ns)
        for blob in pause.blobs { XCTAssertNil(labels[blob], "GC did not run: \(blob) of pause is still there") }

        for image in images {
            for blob in image.blobs {
                XCTAssertNotNil(labels[blob], "\(image.name): \(blob) was collected")
                let sum = shell(#"exec "$3" --address "$0" -n "$1" content get "$2" | sha256sum"#, [lab.socket, ns, blob, lab.ctrPath])
                XCTAssertEqual(sum.stdout.split(separator: " ").first.map { "sha256:" + $0 }, blob, sum.stderr)
            }
            let chain = try XCTUnwrap(image.chainID)
            XCTAssertExit(lab.ctr(["snapshots", "--snapshotter", "overlayfs", "info", chain], namespace: ns), 0)
        }
        let dir = try tempDir()
        let export = lab.kctr(["-n", ns, "export", dir.file("out.tar"), Self.multi, "docker.io/kctr/docker-save:1"])
        XCTAssertExit(export, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.file("out.tar")))
    }

    func testGzipAndZstdCompressedArchives() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let all = try TestImages.path("all.oci.tar")
        for (tool, suffix) in [("gzip", "gz"), ("zstd", "zst")] {
            let file = dir.file("all.oci.tar.\(suffix)")
            XCTAssertExit(shell(#"exec "$0" -c "$1" > "$2""#, [tool == "gzip" ? "/usr/bin/gzip" : "/usr/bin/zstd", all, file]), 0)
            let ns = uniqueNamespace(suffix)
            let r = lab.kctr(["-n", ns, "import", file])
            XCTAssertExit(r, 0)
            XCTAssertEqual(lab.imageNames(ns), Self.all.sorted(), tool)
            // The same images as the uncompressed archive holds.
            XCTAssertEqual(lab.imageDigests(ns), try ArchiveFixtures.layoutDigests(), tool)
            lab.assertNoLeftovers(ns)
        }
    }

    func testStandardInput() throws {
        let lab = try Self.shared.get()
        for (archive, names) in [("busybox.docker.tar", [Self.busybox]), ("all.oci.tar", Self.all)] {
            let ns = uniqueNamespace("stdin")
            let spool = try tempDir("kctr-spool")
            let r = shell(#"exec "$0" --address "$1" -n "$2" import - < "$3""#,
                          [Paths.kctr, lab.socket, ns, try TestImages.path(archive)], env: ["TMPDIR": spool.path])
            XCTAssertExit(r, 0)
            XCTAssertEqual(lab.imageNames(ns), names.sorted(), archive)
            XCTAssertEqual(spool.contents, [], "\(archive): the spooled copy of standard input was left behind")
            lab.assertNoLeftovers(ns)
        }
    }

    func testNameRenamesTheSingleImageAndIsRefusedForSeveral() throws {
        let lab = try Self.shared.get()
        let ns = uniqueNamespace("name")
        let r = lab.kctr(["-n", ns, "import", "--name", "registry.example.com/team/app:1.0", try TestImages.path("busybox.oci.tar")])
        XCTAssertExit(r, 0)
        XCTAssertEqual(lab.imageNames(ns), ["registry.example.com/team/app:1.0"])
        // A short name is normalised as everywhere else.
        let short = lab.kctr(["-n", ns, "import", "--name", "app:2", try TestImages.path("busybox.docker.tar")])
        XCTAssertExit(short, 0)
        XCTAssertEqual(lab.imageNames(ns), ["docker.io/library/app:2", "registry.example.com/team/app:1.0"])

        let many = uniqueNamespace("name-many")
        let refused = lab.kctr(["-n", many, "import", "--name", "registry.example.com/team/app:1.0", try TestImages.path("all.oci.tar")])
        XCTAssertExit(refused, 64)
        XCTAssertTrue(refused.stderr.contains("--name names the single image"), refused.stderr)
        XCTAssertEqual(lab.imageNames(many), [])
        lab.assertNoLeftovers(many)
    }

    func testJSONReportsTheCRIImageID() throws {
        let lab = try Self.shared.get()
        let r = lab.kctr(["import", "-o", "json", try TestImages.path("busybox.oci.tar")])
        XCTAssertExit(r, 0)
        let doc = try XCTUnwrap(jsonObject(r.stdout) as? [String: Any], r.stdout)
        let images = try XCTUnwrap(doc["images"] as? [[String: Any]])
        XCTAssertEqual(images.count, 1)
        let image = try lab.ctrImage(Self.busybox, namespace: "k8s.io")
        XCTAssertEqual(images.first?["name"] as? String, Self.busybox)
        XCTAssertEqual(images.first?["digest"] as? String, image.digest)
        XCTAssertEqual(images.first?["criID"] as? String, image.config)
        XCTAssertEqual(images.first?["unpackedFor"] as? String, "overlayfs")
        XCTAssertEqual(doc["notImported"] as? [String], [])
        // Outside k8s.io there is no CRI image ID.
        let ns = uniqueNamespace("json")
        let other = lab.kctr(["-n", ns, "import", "-o", "json", try TestImages.path("busybox.oci.tar")])
        XCTAssertExit(other, 0)
        let otherImages = try XCTUnwrap((jsonObject(other.stdout) as? [String: Any])?["images"] as? [[String: Any]])
        XCTAssertNil(otherImages.first?["criID"] as? String)
    }

    func testReimportSucceedsWithEverythingAlreadyPresent() throws {
        let lab = try Self.shared.get()
        let ns = uniqueNamespace("again")
        let all = try TestImages.path("all.oci.tar")
        let first = lab.kctr(["-n", ns, "import", all])
        XCTAssertExit(first, 0)
        let digests = lab.imageDigests(ns)
        // Blobs already in the store are not written again, and that costs no time: a first import of
        // all.oci.tar takes well under a second. Repeated, because a stall on an existing blob would be
        // intermittent; each attempt is killed after 20s.
        for attempt in 1...3 {
            let again = lab.kctr(["-n", ns, "import", all], timeout: 20)
            XCTAssertExit(again, 0)
            XCTAssertTrue(again.stderr.range(of: #"imported 3 image name\(s\): 0 blob\(s\) written \(0 B\), 10 already present"#,
                                             options: .regularExpression) != nil, again.stderr)
            XCTAssertLessThan(again.seconds, 3, "re-import #\(attempt) took \(again.seconds)s")
        }
        XCTAssertEqual(lab.imageDigests(ns), digests)
        XCTAssertEqual(lab.imageNames(ns), Self.all.sorted())
        lab.assertNoLeftovers(ns)
        // A name that now points elsewhere is updated: busybox from docker save.
        let docker = lab.kctr(["-n", ns, "import", try TestImages.path("busybox.docker.tar")])
        XCTAssertExit(docker, 0)
        let updated = try lab.ctrImage(Self.busybox, namespace: ns)
        XCTAssertNotEqual(updated.digest, digests[Self.busybox])
        XCTAssertEqual(updated.mediaType, "application/vnd.docker.distribution.manifest.v2+json")
    }

    func testKctrExportIsImportedByCtr() throws {
        let lab = try Self.shared.get()
        let source = uniqueNamespace("rt-src"), target = uniqueNamespace("rt-ctr")
        XCTAssertExit(lab.kctr(["-n", source, "import", try TestImages.path("all.oci.tar")]), 0)
        let dir = try tempDir()
        let out = dir.file("kctr.tar")
        XCTAssertExit(lab.kctr(["-n", source, "export", out, Self.busybox, Self.multi]), 0)
        let r = lab.ctr(["images", "import", out], namespace: target)
        XCTAssertExit(r, 0)
        XCTAssertEqual(lab.imageNames(target), [Self.multi, Self.busybox].sorted())
        let before = lab.imageDigests(source), after = lab.imageDigests(target)
        for name in [Self.busybox, Self.multi] { XCTAssertEqual(after[name], before[name], name) }
    }

    func testCtrExportIsImportedByKctr() throws {
        let lab = try Self.shared.get()
        XCTAssertExit(lab.ctr(["images", "import", try TestImages.path("all.oci.tar")]), 0)
        let dir = try tempDir()
        let out = dir.file("ctr.tar")
        XCTAssertExit(lab.ctrExport(out, [Self.multi, Self.pause]), 0)
        let ns = uniqueNamespace("rt-kctr")
        let r = lab.kctr(["-n", ns, "import", out])
        XCTAssertExit(r, 0)
        XCTAssertEqual(lab.imageNames(ns), [Self.multi, Self.pause].sorted())
        let k8s = lab.imageDigests("k8s.io"), imported = lab.imageDigests(ns)
        for name in [Self.multi, Self.pause] { XCTAssertEqual(imported[name], k8s[name], name) }
        lab.assertNoLeftovers(ns)
    }

    /// skopeo, an independent producer: docker-archive and oci-archive with names of their own.
    func testSkopeoArchives() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let layout = try TestImages.path("layout")
        let docker = dir.file("sk.docker.tar"), oci = dir.file("sk.oci.tar")
        for dest in ["docker-archive:\(docker):docker.io/library/busybox:sk", "oci-archive:\(oci):docker.io/library/busybox:sko"] {
            let r = runProcess(["/usr/bin/skopeo", "--insecure-policy", "--tmpdir", dir.path, "copy", "--quiet",
                                "oci:\(layout):busybox", dest], timeout: 120)
            XCTAssertExit(r, 0)
        }
        let ns = uniqueNamespace("skopeo")
        XCTAssertExit(lab.kctr(["-n", ns, "import", docker]), 0)
        XCTAssertExit(lab.kctr(["-n", ns, "import", oci]), 0)
        XCTAssertEqual(lab.imageNames(ns), ["docker.io/library/busybox:sk", "docker.io/library/busybox:sko"])
        let check = lab.ctr(["images", "check"], namespace: ns)
        XCTAssertEqual(check.lines.dropFirst().filter { $0.contains("complete") && $0.split(separator: " ").last == "true" }.count,
                       2, check.stdout)
        lab.assertNoLeftovers(ns)
    }
}
