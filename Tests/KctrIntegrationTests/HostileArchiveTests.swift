import Foundation
import XCTest

/// `kctr import` of archives built to exhaust it (HostileInputTests has the unit side): exit 1 and a
/// message naming the archive and the limit, and nothing left in the namespace. Peak memory on a
/// million entries is measured by scripts/lab/hostile-archives, not here.
extension BadArchiveTests {
    /// Writes `archive` with Python's tarfile: `script` gets `add(t, name, data=b"", size=None)` and
    /// the open tar `t`.
    func hostileArchive(_ name: String, _ script: String, in dir: TempDir) throws -> String {
        let out = dir.file(name)
        let program = """
        import hashlib, io, json, sys, tarfile
        def add(t, name, data=b"", size=None):
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.size = len(data) if size is None else size
            t.addfile(info, io.BytesIO(data))
        d = lambda mt, dg, size=2: {"mediaType": mt, "digest": dg, "size": size}
        sha = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()
        of = lambda mt, b, size=None: d(mt, sha(b), len(b) if size is None else size)
        blob = lambda b: "blobs/sha256/" + hashlib.sha256(b).hexdigest()
        IDX, MAN = "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json"
        CFG = "application/vnd.oci.image.config.v1+json"
        config = json.dumps({"os": "linux", "architecture": "amd64", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        gz = sys.argv[1].endswith(".gz")
        with tarfile.open(sys.argv[1], "w:gz" if gz else "w", **({"compresslevel": 1} if gz else {})) as t:
            add(t, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        \(script.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        """
        let r = runProcess(["/usr/bin/python3", "-c", program, out])
        guard r.status == 0 else { throw SetupError("python3 failed: \(r.stderr)") }
        return out
    }

    func assertHostileRefused(_ archive: String, _ expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let lab = try Self.shared.get()
        let ns = uniqueNamespace("hostile")
        let r = lab.kctr(["-n", ns, "import", archive])
        XCTAssertExit(r, 1, file: file, line: line)
        for text in expected + [archive] {
            XCTAssertTrue(r.stderr.contains(text), "expected \"\(text)\" in: \(r.stderr)", file: file, line: line)
        }
        XCTAssertEqual(r.stdout, "", file: file, line: line)
        XCTAssertEqual(lab.imageNames(ns), [], file: file, line: line)
        lab.assertNoLeftovers(ns, file: file, line: line)
    }

    func testArchiveWithTooManyFiles() throws {
        let dir = try tempDir()
        let archive = try hostileArchive("many.tar.gz", """
        for i in range(100001):
            add(t, "e%d" % i)
        """, in: dir)
        // oci-layout is the first of the 100,001 files.
        try assertHostileRefused(archive, ["holds more than 100000 files and links (kctr stopped reading at e99999)",
                                           "hint: an image archive holds a few files per blob"])
    }

    func testLayerDescriptorClaimingAnAbsurdSize() throws {
        let dir = try tempDir()
        let archive = try hostileArchive("size.tar", """
        man = json.dumps({"schemaVersion": 2, "config": of(CFG, config), "layers": [of("application/vnd.oci.image.layer.v1.tar", b"{}", 9223372036854775807)]}).encode()
        add(t, "index.json", json.dumps({"schemaVersion": 2, "manifests": [dict(of(MAN, man), annotations={"io.containerd.image.name": "example.com/a:1"})]}).encode())
        add(t, blob(man), man)
        add(t, blob(config), config)
        add(t, blob(b"{}"), b"{}")
        """, in: dir)
        let layer = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"  // sha256 of "{}"
        try assertHostileRefused(archive, ["the descriptor of \(layer) claims 9223372036854775807 bytes, outside 0 to 1 TiB",
                                           "hint: the archive is corrupt or crafted"])
    }

    func testIndexFanOut() throws {
        let dir = try tempDir()
        let archive = try hostileArchive("fan.tar", """
        man = json.dumps({"schemaVersion": 2, "config": of(CFG, config), "layers": []}).encode()
        inner = json.dumps({"schemaVersion": 2, "manifests": [of(MAN, man)] * 1000}).encode()
        add(t, "index.json", json.dumps({"schemaVersion": 2, "manifests": [of(IDX, inner)] * 1000}).encode())
        add(t, blob(inner), inner)
        add(t, blob(man), man)
        add(t, blob(config), config)
        """, in: dir)
        try assertHostileRefused(archive, ["the archive names more than 100000 manifests and layers"])
    }

    /// A tar header claiming 512 GiB with one block of data behind it: a truncation, found while
    /// reading, with nothing allocated for the claim.
    func testHeaderClaimingHalfATerabyte() throws {
        let dir = try tempDir()
        let archive = dir.file("claim.tar")
        let program = """
        import sys, tarfile
        info = tarfile.TarInfo("index.json")
        info.size = 512 << 30
        with open(sys.argv[1], "wb") as f:
            f.write(info.tobuf(format=tarfile.GNU_FORMAT))
            f.write(b"{" + b"\\0" * 511)
        """
        let r = runProcess(["/usr/bin/python3", "-c", program, archive])
        guard r.status == 0 else { throw SetupError("python3 failed: \(r.stderr)") }
        try assertHostileRefused(archive, ["truncated"])
    }
}
