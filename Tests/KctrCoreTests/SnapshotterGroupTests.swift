import Foundation
import XCTest
@testable import KctrCore
@testable import KctrRPC

/// The `snapshotter` group: the plugin CRI uses (from the status on 1.x, ImageFsInfo on 2.x) and the
/// filesystem under containerd's root, read from a mountinfo written here.
final class SnapshotterGroupTests: ScratchDirectoryTestCase {
    private func facts(_ snapshotter: String, plugins: [PluginStatus], fixture: String = "daemon-overlay") throws -> VerifyFacts {
        var f = VerifyFixtures.answered("1.7.20", root: try VerifyFixtures.dir(fixture))
        f.daemon.plugins = .known(plugins)
        f.daemon.criStatus = .known(VerifyFixtures.status(#"{"containerd": {"snapshotter": "\#(snapshotter)"}}"#))
        f.host = VerifyGatherer.host(f.paths)
        return f
    }

    private func snapshotter(_ f: VerifyFacts, file: StaticString = #filePath, line: UInt = #line) -> [String: CheckResult] {
        let results = SnapshotterGroup.results(f)
        XCTAssertEqual(results.map(\.id), Check.of(.snapshotter).map(\.id), file: file, line: line)
        return byID(results, group: "snapshotter", file: file, line: line)
    }

    func testPluginLoadedPasses() throws {
        let f = try facts("overlayfs", plugins: [try VerifyFixtures.plugin("io.containerd.snapshotter.v1", "native"),
                                                 try VerifyFixtures.plugin("io.containerd.snapshotter.v1", "overlayfs")])
        let p = snapshotter(f)["snapshotter.plugin"]
        XCTAssertEqual(p?.status, .pass)
        XCTAssertEqual(p?.found, "CRI's snapshotter overlayfs is loaded (status ok)")
        XCTAssertTrue(p!.evidence.hasPrefix("runtime.v1.RuntimeService/Status verbose: config.containerd.snapshotter = overlayfs"), p!.evidence)
    }

    /// 2.x does not report its snapshotter in the status: ImageFsInfo's mount point names it, and the
    /// check no longer says "CRI not serving" while CRI serves.
    func testOn2xTheSnapshotterComesFromImageFsInfo() throws {
        var f = try VerifyFixtures.recorded("2.3.4")
        let p = snapshotter(f)["snapshotter.plugin"]
        XCTAssertEqual(p?.status, .pass)
        XCTAssertEqual(p?.found, "CRI's snapshotter overlayfs is loaded (status ok)")
        XCTAssertTrue(p!.evidence.hasPrefix("runtime.v1.ImageService/ImageFsInfo: image_filesystems[].fs_id.mountpoint = /var/lab/root/io.containerd.snapshotter.v1.overlayfs"), p!.evidence)
        XCTAssertFalse(p!.found.contains("CRI not serving"))

        f.daemon.imageFilesystems = .known(["/var/lab/root/io.containerd.snapshotter.v1.native"])
        XCTAssertEqual(snapshotter(f)["snapshotter.plugin"]?.found, "CRI's snapshotter native is loaded (status ok)")
        XCTAssertEqual(snapshotter(f)["snapshotter.filesystem"]?.status, .skip)

        // No ImageFsInfo: the file's key (of its version), else containerd's default.
        f.daemon.imageFilesystems = .unknown(KctrError("ImageFsInfo: Unimplemented"))
        f.config.merged = try TOML.parse("version = 4\n[plugins.'io.containerd.cri.v1.images']\nsnapshotter = 'native'\n")
        XCTAssertTrue(f.criSnapshotter.source.contains("plugins.'io.containerd.cri.v1.images'.snapshotter (containerd does not report it)"), f.criSnapshotter.source)
        f.config.merged = nil
        XCTAssertEqual(f.criSnapshotter.name, "overlayfs")
    }

    func testPluginInErrorFails() throws {
        let err = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs does not support d_type. If the backing filesystem is xfs, please reformat with ftype=1 to enable d_type support"
        let f = try facts("overlayfs", plugins: [try VerifyFixtures.plugin("io.containerd.snapshotter.v1", "native"),
                                                 try VerifyFixtures.plugin("io.containerd.snapshotter.v1", "overlayfs", initError: err)])
        let p = snapshotter(f)["snapshotter.plugin"]
        XCTAssertEqual(p?.status, .fail)
        assertFound(p, "overlayfs did not load: " + err)
        assertFix(p, "modprobe overlay", "ftype=1", "systemctl restart containerd")

        // Another snapshotter in error: the fix points back at overlayfs, in the file's version's table.
        var zfs = try facts("zfs", plugins: [try VerifyFixtures.plugin("io.containerd.snapshotter.v1", "zfs", initError: "path /var/lib/containerd/io.containerd.snapshotter.v1.zfs must be a zfs filesystem to be used with the zfs snapshotter: skip plugin")])
        assertFix(snapshotter(zfs)["snapshotter.plugin"], "`snapshotter = \"overlayfs\"` in [plugins.\"io.containerd.grpc.v1.cri\".containerd]")
        zfs.config.merged = .object(["version": .number(3)])
        assertFix(snapshotter(zfs)["snapshotter.plugin"], "`snapshotter = \"overlayfs\"` in [plugins.'io.containerd.cri.v1.images']")
    }

    func testPluginMissingFailsListingTheLoadedOnes() throws {
        let f = try facts("stargz", plugins: [try VerifyFixtures.plugin("io.containerd.snapshotter.v1", "native"),
                                              try VerifyFixtures.plugin("io.containerd.snapshotter.v1", "overlayfs"),
                                              try VerifyFixtures.plugin("io.containerd.snapshotter.v1", "btrfs", initError: "not btrfs: skip plugin"),
                                              try VerifyFixtures.plugin("io.containerd.grpc.v1", "cri")])
        let c = snapshotter(f)
        XCTAssertEqual(c["snapshotter.plugin"]?.found, "CRI's snapshotter stargz is not a loaded snapshotter plugin (loaded: native, overlayfs)")
        assertFix(c["snapshotter.plugin"], "set snapshotter in [plugins.\"io.containerd.grpc.v1.cri\".containerd] of /etc/containerd/config.toml",
                  "native, overlayfs", "stargz proxy plugin")
        XCTAssertEqual(c["snapshotter.filesystem"]?.status, .skip)
    }

    func testWithoutPluginListSkips() throws {
        XCTAssertEqual(snapshotter(try facts("overlayfs", plugins: []))["snapshotter.plugin"]?.status, .skip)
    }

    // MARK: snapshotter.filesystem

    /// A containerd root dir and a mountinfo that mounts it with `fstype` (over an ext4 /).
    private func mounted(_ fstype: String) throws -> (root: String, mountinfo: String) {
        let root = dir + "/var-lib-containerd"
        try FileManager.default.createDirectory(atPath: root + "/io.containerd.snapshotter.v1.overlayfs", withIntermediateDirectories: true)
        let mountinfo = dir + "/mountinfo"
        try """
        22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
        23 22 0:21 / /proc rw,nosuid shared:2 - proc proc rw
        90 22 0:52 / \(root) rw,relatime - \(fstype) \(fstype) rw,lowerdir=/l,upperdir=/u,workdir=/w

        """.write(toFile: mountinfo, atomically: true, encoding: .utf8)
        return (root, mountinfo)
    }

    /// Facts whose CRI status names `config` (a containerdRootDir or a rootDir) and whose filesystem
    /// facts the gatherer read through `mountinfo`.
    private func filesystem(_ fixture: String, config: String, mountinfo: String) throws -> VerifyFacts {
        var f = VerifyFixtures.answered("1.7.20", root: try VerifyFixtures.dir(fixture))
        f.daemon.plugins = .known([try VerifyFixtures.plugin("io.containerd.snapshotter.v1", "overlayfs")])
        f.daemon.criStatus = .known(VerifyFixtures.status(config))
        f.host = VerifyGatherer.host(f.paths)
        f.filesystem = VerifyGatherer.filesystem(f, mountinfo: mountinfo)
        return f
    }

    func testOverlayKernelAndExt4RootPass() throws {
        let m = try mounted("ext4")
        let r = snapshotter(try filesystem("daemon-overlay", config: #"{"containerdRootDir": "\#(m.root)"}"#, mountinfo: m.mountinfo))["snapshotter.filesystem"]
        XCTAssertEqual(r?.status, .pass)
        XCTAssertEqual(r?.found, "the kernel has overlay; \(m.root)/io.containerd.snapshotter.v1.overlayfs is on ext4")
        XCTAssertTrue(r!.evidence.contains("proc/filesystems: overlay listed"), r!.evidence)
    }

    func testRootFromCRIRootDirParentAndFromImageFsInfo() throws {
        let m = try mounted("ext4")
        let f = try filesystem("daemon-overlay", config: #"{"rootDir": "\#(m.root)/io.containerd.grpc.v1.cri"}"#, mountinfo: m.mountinfo)
        XCTAssertEqual(f.filesystem?.directory, m.root + "/io.containerd.snapshotter.v1.overlayfs")
        var viaImageFS = VerifyFixtures.answered("v2.3.4", root: try VerifyFixtures.dir("daemon-overlay"))
        viaImageFS.daemon.criStatus = .known(VerifyFixtures.status("{}"))
        viaImageFS.daemon.imageFilesystems = .known([m.root + "/io.containerd.snapshotter.v1.overlayfs"])
        XCTAssertEqual(VerifyGatherer.filesystem(viaImageFS, mountinfo: m.mountinfo)?.type, "ext4")
    }

    func testNoOverlayInTheKernelFails() throws {
        let m = try mounted("ext4")
        let f = try filesystem("daemon-no-overlay", config: #"{"containerdRootDir": "\#(m.root)"}"#, mountinfo: m.mountinfo)
        let c = snapshotter(f)
        XCTAssertEqual(c["snapshotter.plugin"]?.status, .pass)
        XCTAssertEqual(c["snapshotter.filesystem"]?.status, .fail)
        assertFound(c["snapshotter.filesystem"], "does not list overlay in \(f.paths.root)/proc/filesystems")
        assertFix(c["snapshotter.filesystem"], "modprobe overlay", "/etc/modules-load.d/containerd.conf")
    }

    func testRootOnOverlayFails() throws {
        let m = try mounted("overlay")
        let r = snapshotter(try filesystem("daemon-overlay", config: #"{"containerdRootDir": "\#(m.root)"}"#, mountinfo: m.mountinfo))["snapshotter.filesystem"]
        XCTAssertEqual(r?.status, .fail)
        assertFound(r, "\(m.root)/io.containerd.snapshotter.v1.overlayfs is itself on overlayfs")
        XCTAssertTrue(r!.evidence.contains("mountinfo(\(m.root)/io.containerd.snapshotter.v1.overlayfs): overlay at \(m.root)"), r!.evidence)
        assertFix(r, "root = in /etc/containerd/config.toml", "ext4 or xfs (ftype=1)", "native snapshotter")
    }

    func testXfsFtype() throws {
        var f = try facts("overlayfs", plugins: [try VerifyFixtures.plugin("io.containerd.snapshotter.v1", "overlayfs")])
        f.filesystem = FilesystemFacts(directory: "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs", type: "xfs",
                                       mountPoint: "/var/lib/containerd", xfsFtype: .known(0))
        let bad = snapshotter(f)["snapshotter.filesystem"]
        XCTAssertEqual(bad?.status, .fail)
        assertFix(bad, "mkfs.xfs -n ftype=1")
        f.filesystem?.xfsFtype = .known(1)
        assertFound(snapshotter(f)["snapshotter.filesystem"], "is on xfs with ftype=1")
        f.filesystem?.xfsFtype = .unknown(KctrError("xfs_info not found"))
        assertFound(snapshotter(f)["snapshotter.filesystem"], "ftype not checked: xfs_info not found")
    }

    func testMountPicksTheLongestMatchingMountPoint() throws {
        let m = try mounted("xfs")
        XCTAssertEqual(HostProbes.mount(m.root + "/io.containerd.snapshotter.v1.overlayfs/snapshots", mountinfo: m.mountinfo)?.point, m.root)
        XCTAssertEqual(HostProbes.mount(m.root + "x", mountinfo: m.mountinfo)?.type, "ext4")
        XCTAssertEqual(HostProbes.mount("/proc/self", mountinfo: m.mountinfo)?.type, "proc")
    }

    func testUnreachableSkips() {
        XCTAssertTrue(SnapshotterGroup.results(VerifyFixtures.facts()).allSatisfy { $0.status == .skip })
    }
}
