import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One filesystem as statvfs(3) sees it, with the mount it belongs to.
public struct FilesystemUsage: Codable, Sendable, Equatable {
    /// The path that was measured (a plugin's root, the kubelet's root dir).
    public var path: String
    /// The mount point holding `path` (from /proc/self/mountinfo), when known.
    public var mountpoint: String?
    public var type: String?
    /// st_dev of `path`: two paths with the same device are one filesystem.
    public var device: UInt64
    /// f_blocks * f_frsize: what the kubelet calls capacity.
    public var sizeBytes: Int64
    /// (f_blocks - f_bfree) * f_frsize, as df prints "Used".
    public var usedBytes: Int64
    /// f_bavail * f_frsize: free for unprivileged writers, what df and the kubelet call available.
    public var availableBytes: Int64
    public var inodes: Int64
    public var inodesFree: Int64

    /// df's Use%: used / (used + available), rounded up.
    public var usedPercent: Int {
        let total = usedBytes + availableBytes
        guard total > 0 else { return 0 }
        return Int((Double(usedBytes) * 100 / Double(total)).rounded(.up))
    }

    public init(path: String, mountpoint: String? = nil, type: String? = nil, device: UInt64 = 0, sizeBytes: Int64,
                usedBytes: Int64, availableBytes: Int64, inodes: Int64 = 0, inodesFree: Int64 = 0) {
        self.path = path
        self.mountpoint = mountpoint
        self.type = type
        self.device = device
        self.sizeBytes = sizeBytes
        self.usedBytes = usedBytes
        self.availableBytes = availableBytes
        self.inodes = inodes
        self.inodesFree = inodesFree
    }

    /// statvfs of `path`, or nil when the path cannot be seen from here (kctr in a container
    /// without the host's /var/lib/containerd).
    public static func measure(_ path: String) -> FilesystemUsage? {
        var s = statvfs()
        var st = stat()
        guard statvfs(path, &s) == 0, stat(path, &st) == 0 else { return nil }
        let unit = Int64(clamping: s.f_frsize)
        func bytes(_ blocks: UInt) -> Int64 {
            let (v, overflow) = Int64(clamping: blocks).multipliedReportingOverflow(by: unit)
            return overflow ? Int64.max : v
        }
        let mount = mountOf(path)
        return FilesystemUsage(path: path, mountpoint: mount?.point, type: mount?.type, device: UInt64(st.st_dev),
                               sizeBytes: bytes(s.f_blocks), usedBytes: bytes(s.f_blocks - min(s.f_blocks, s.f_bfree)),
                               availableBytes: bytes(s.f_bavail), inodes: Int64(clamping: s.f_files),
                               inodesFree: Int64(clamping: s.f_ffree))
    }

    /// The mount holding `path`: the longest mount point that prefixes it in /proc/self/mountinfo (symlinks
    /// in `path` resolved first). Read with read(2) to the end: Foundation's String(contentsOfFile:) stops
    /// after 4 KiB of a /proc file, which drops the mounts listed last on a node with a few dozen.
    static func mountOf(_ path: String, mountinfo: String = "/proc/self/mountinfo") -> (point: String, type: String)? {
        guard let text = procText(mountinfo) else { return nil }
        return mount(of: URL(fileURLWithPath: path).resolvingSymlinksInPath().path, in: text)
    }

    /// A /proc file whole (its size reads as 0): 64 KiB reads to the end, at most 4 MiB.
    static func procText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while bytes.count < 4 << 20 {
            let n = chunk.withUnsafeMutableBytes { buf -> Int in
                guard let base = buf.baseAddress else { return 0 }
                return read(fd, base, buf.count)
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func mount(of real: String, in mountinfo: String) -> (point: String, type: String)? {
        var best: (point: String, type: String)?
        for line in mountinfo.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count > 4, let dash = f.firstIndex(of: "-"), dash + 1 < f.count else { continue }
            let mp = String(f[4]).replacing("\\040", with: " ")
            guard real == mp || real.hasPrefix(mp == "/" ? "/" : mp + "/") else { continue }
            // Later lines mount over earlier ones at the same point.
            if mp.count >= (best?.point.count ?? 0) { best = (mp, String(f[dash + 1])) }
        }
        return best
    }
}
