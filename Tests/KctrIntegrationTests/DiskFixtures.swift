import Foundation
import KctrLab
import KctrRPC
import XCTest

/// Labs, images, leases and filesystem readings for the disk tests (df, images prune).
enum DiskFixtures {
    /// A lab whose containerd root is a tmpfs of `size` of its own: statfs then moves only with what
    /// this daemon writes, so kctr's figures can be compared with df's exactly.
    static func tmpfsLab(size: String, options: [String] = []) throws -> Lab {
        guard getuid() == 0 else { throw XCTSkip("mounting a tmpfs needs root") }
        return try Lab(options) { base in
            try FileManager.default.createDirectory(atPath: base + "/root", withIntermediateDirectories: true)
            let mount = runProcess(["/bin/mount", "-t", "tmpfs", "-o", "size=\(size)", "kctr-disk-test", base + "/root"])
            guard mount.status == 0 else { throw SetupError("cannot mount a tmpfs: \(mount.stderr)") }
        }
    }

    /// A tmpfs lab with the test images (busybox, pause, multi) and `count` small images PREFIX-NN:1.0 imported.
    static func labWithImages(size: String, count: Int, prefix: String) throws -> Lab {
        let lab = try tmpfsLab(size: size)
        for archive in [try TestImages.path("all.oci.tar"), try images(count: count, prefix: prefix)] {
            let r = lab.kctr(["import", archive])
            guard r.status == 0 else {
                lab.stop()
                throw SetupError("kctr import \(archive) failed: \(r.stderr)")
            }
        }
        return lab
    }

    /// An archive of `count` small distinct images (scripts/lab/make-many-images.py) named PREFIX-NN:1.0, made once.
    static func images(count: Int, prefix: String, baseKiB: Int = 256, layerKiB: Int = 128) throws -> String {
        let name = "kctr-disk-\(prefix.split(separator: "/").last ?? "x")-\(count)-\(baseKiB)-\(layerKiB).tar"
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        if FileManager.default.fileExists(atPath: path) { return path }
        let r = runProcess([Paths.root + "/scripts/lab/make-many-images.py", path + ".part", "--count", "\(count)", "--prefix", prefix,
                            "--base-kib", "\(baseKiB)", "--layer-kib", "\(layerKiB)"], timeout: 120)
        guard r.status == 0 else { throw SetupError("make-many-images failed: \(r.stderr)") }
        try FileManager.default.moveItem(atPath: path + ".part", toPath: path)
        return path
    }

    /// statfs of `path` as stat(1) reads it (independent of kctr).
    struct Statfs: Equatable {
        var blocks: Int64, free: Int64, available: Int64, blockSize: Int64, inodes: Int64, inodesFree: Int64
        var size: Int64 { blocks * blockSize }
        var used: Int64 { (blocks - free) * blockSize }
        var availableBytes: Int64 { available * blockSize }
    }

    static func statfs(_ path: String) throws -> Statfs {
        let r = runProcess(["/usr/bin/stat", "-f", "-c", "%b %f %a %S %c %d", path])
        let f = r.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int64($0) }
        guard r.status == 0, f.count == 6 else { throw SetupError("stat -f \(path): \(r.stderr)") }
        return Statfs(blocks: f[0], free: f[1], available: f[2], blockSize: f[3], inodes: f[4], inodesFree: f[5])
    }

    /// `du -s -B1 DIR` (blocks, hard links counted once, as containerd counts a snapshot's usage).
    static func du(_ dir: String) -> Int64 {
        let r = runProcess(["/usr/bin/du", "-s", "-B1", dir])
        return Int64(r.stdout.split(separator: "\t").first ?? "") ?? -1
    }

    /// Fills `root` with a file until the kubelet's usage (100 - int(avail*100/capacity)) is `percent`.
    static func fill(_ root: String, name: String, toKubeletPercent percent: Int) throws {
        let s = try statfs(root)
        // Target: available just under (100 - percent + 1)% of the capacity.
        let target = (Int64(101 - percent) * s.size - 1) / 100 - 64 * 1024
        let bytes = s.availableBytes - target
        guard bytes > 0 else { return }
        let out = root + "/" + name
        let dd = runProcess(["/bin/dd", "if=/dev/zero", "of=\(out)", "bs=4096", "count=\(bytes / 4096)", "oflag=append", "conv=notrunc"])
        guard dd.status == 0 else { throw SetupError("dd: \(dd.stderr)") }
    }

    /// Runs `body` against the lab's containerd API in `namespace` and waits for it.
    static func withContainerd<T: Sendable>(_ lab: Lab, namespace: String = "k8s.io",
                                            _ body: @escaping @Sendable (ContainerdAPI) async throws -> T) throws -> T {
        try LabDaemon.run(socket: lab.socket) { rpc in try await body(ContainerdAPI(rpc).namespaced(namespace)) }
    }

    /// Writes `text` as a blob (under `lease` when given) and returns its digest. `commit: false` leaves
    /// an ingest of its first half instead, named `ref`.
    static func blob(_ lab: Lab, _ text: String, lease: String?, ref: String? = nil, commit: Bool = true) throws -> String {
        try withContainerd(lab) { api in
            let leased = lease.map { api.leased($0) } ?? api
            let bytes = Array(text.utf8)
            let writer = try await leased.contentWriter(ref: ref ?? "kctr-disk-test-\(UUID().uuidString.prefix(8))", expected: "",
                                                        total: Int64(bytes.count))
            if !commit {
                try await writer.write(Array(bytes.prefix(bytes.count / 2)))
                writer.cancel()
                return ""
            }
            try await writer.write(bytes)
            return try await writer.commit(labels: [:])
        }
    }

    static func lease(_ lab: Lab, _ id: String, expires: Double) throws {
        try withContainerd(lab) { api in
            try await api.createLease(id: id, labels: ["containerd.io/gc.expire": rfc3339(expires)])
        }
    }

    static func rfc3339(_ seconds: Double) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date(timeIntervalSince1970: seconds))
    }

    /// The inode of /proc/self/ns/pid, as kctr names its import leases.
    static var pidNamespace: String {
        let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid")) ?? ""
        return String(link.drop { $0 != "[" }.dropFirst().prefix { $0 != "]" })
    }

    /// A pid that was used and is gone.
    static func deadPid() throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    static func json(_ r: Run) throws -> [String: Any] {
        guard let o = jsonObject(r.stdout) as? [String: Any] else {
            throw SetupError("not a JSON object (exit \(r.status)): \(r.stdout.prefix(500)) \(r.stderr)")
        }
        return o
    }

    /// The sizes `ctr` prints: "405B", "1.032MB", "303.8kB" (content, decimal) or "12.0 KiB" (snapshots, binary),
    /// with the rounding error of the printed digits.
    static func ctrSize(_ text: String) -> (bytes: Double, error: Double)? {
        let t = text.replacingOccurrences(of: " ", with: "")
        let units: [(String, Double)] = [("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("kB", 1e3), ("MB", 1e6), ("GB", 1e9), ("B", 1)]
        for (u, f) in units where t.hasSuffix(u) {
            let number = String(t.dropLast(u.count))
            guard let v = Double(number) else { return nil }
            let decimals = number.split(separator: ".").dropFirst().first?.count ?? 0
            return (v * f, f * 0.5 * pow(10, -Double(decimals)))
        }
        return nil
    }
}
