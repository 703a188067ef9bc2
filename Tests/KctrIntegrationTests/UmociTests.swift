import Foundation
import XCTest

/// umoci as an independent producer: an OCI layout built from a rootfs,
/// tagged by tag only (no whole reference), so kctr needs --name.
final class UmociTests: XCTestCase {
    func testUmociLayoutImportsWithName() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let dir = lab.base + "-umoci"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = """
        set -e
        mkdir -p \(dir)/rootfs-src/bin
        cp /bin/busybox \(dir)/rootfs-src/bin/busybox
        ln -s busybox \(dir)/rootfs-src/bin/sh
        umoci init --layout \(dir)/layout
        umoci new --image \(dir)/layout:v1
        umoci insert --image \(dir)/layout:v1 \(dir)/rootfs-src/bin /bin
        umoci config --image \(dir)/layout:v1 --config.cmd /bin/sh --architecture amd64 --os linux
        tar -C \(dir)/layout -cf \(dir)/umoci.tar .
        """
        let made = runProcess(["/bin/sh", "-c", script], timeout: 120)
        XCTAssertExit(made, 0)

        let unnamed = lab.kctr(["-n", "um", "import", dir + "/umoci.tar"])
        XCTAssertExit(unnamed, 1)
        XCTAssertTrue(unnamed.stderr.contains("no image to import"), unnamed.stderr)
        XCTAssertTrue(unnamed.stderr.contains("--name"), unnamed.stderr)

        let named = lab.kctr(["-n", "um", "import", "--name", "kctr.local/umoci:v1", dir + "/umoci.tar"])
        XCTAssertExit(named, 0)
        XCTAssertEqual(lab.ctr(["images", "ls", "-q"], namespace: "um").lines, ["kctr.local/umoci:v1"])
        let digests = lab.kctr(["-n", "um2", "import", "--digests", dir + "/umoci.tar"])
        XCTAssertExit(digests, 0)
        let names = lab.ctr(["images", "ls", "-q"], namespace: "um2").lines
        XCTAssertEqual(names.count, 1)
        XCTAssertTrue(names.first?.range(of: "^import-[0-9]{4}-[0-9]{2}-[0-9]{2}@sha256:[0-9a-f]{64}$", options: .regularExpression) != nil, "\(names)")
        // Runnable: ctr runs the image kctr unpacked.
        let run = runProcess([lab.ctrPath, "--address", lab.socket, "-n", "um", "run", "--rm", "--runc-root", lab.base + "/runc",
                              "kctr.local/umoci:v1", "umoci-\(getpid())", "/bin/busybox", "echo", "from-umoci"], timeout: 60)
        XCTAssertExit(run, 0)
        XCTAssertEqual(run.stdout, "from-umoci\n")
    }

    /// `docker save <image id>` writes no RepoTags: --digests still names it (after
    /// the digest of the manifest kctr builds), and without it the message says so.
    func testUntaggedDockerSaveWithDigests() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let out = lab.base + "-untagged.tar"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let script = """
        import json, sys, tarfile, io
        src, dst = sys.argv[1], sys.argv[2]
        with tarfile.open(src) as a, tarfile.open(dst, "w") as b:
            for m in a.getmembers():
                data = a.extractfile(m).read() if m.isfile() else None
                if m.name == "manifest.json":
                    doc = json.loads(data)
                    for e in doc: e["RepoTags"] = None
                    data = json.dumps(doc).encode()
                    m.size = len(data)
                b.addfile(m, io.BytesIO(data) if data is not None else None)
        """
        XCTAssertExit(runProcess(["/usr/bin/python3", "-c", script, try TestImages.path("busybox.docker.tar"), out]), 0)
        let unnamed = lab.kctr(["-n", "dk", "import", out])
        XCTAssertExit(unnamed, 1)
        XCTAssertTrue(unnamed.stderr.contains("--digests"), unnamed.stderr)
        let named = lab.kctr(["-n", "dk", "import", "--digests", out])
        XCTAssertExit(named, 0)
        let names = lab.ctr(["images", "ls", "-q"], namespace: "dk").lines
        XCTAssertEqual(names.count, 1, "\(names)")
        XCTAssertTrue(names.first?.range(of: "^import-[0-9-]+@sha256:[0-9a-f]{64}$", options: .regularExpression) != nil, "\(names)")
        XCTAssertTrue(named.stdout.contains("overlayfs"), named.stdout)
    }
}
