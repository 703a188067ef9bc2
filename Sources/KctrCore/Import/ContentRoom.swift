import Foundation
import KctrRPC

/// Free space on the filesystem of containerd's content store, checked before each blob is
/// written: a blob that cannot fit is refused before a byte of it reaches the store, whatever
/// size its descriptor or tar header claims, instead of filling the node's disk first.
struct ContentRoom: Sendable {
    /// The content store's root, as containerd reports it (the content plugin's "root" export).
    var root: String?
    /// Bytes free for `root` (statvfs f_bavail), or nil when it cannot be read from here.
    var free: @Sendable (String) -> Int64?

    /// When the root is not known (or not visible from where kctr runs), no check is made.
    static let unknown = ContentRoom(root: nil, free: { _ in nil })

    /// Free bytes of the filesystem holding `path`, or of its nearest existing parent (containerd
    /// creates the content directory only when it first writes, e.g. 1.7 on a new root).
    static func statvfsFree(_ path: String) -> Int64? {
        var candidate = path
        var s = statvfs()
        while statvfs(candidate, &s) != 0 {
            guard errno == ENOENT, let slash = candidate.lastIndex(of: "/"), slash != candidate.startIndex else { return nil }
            candidate = String(candidate[..<slash])
        }
        let (bytes, overflow) = Int64(clamping: s.f_bavail).multipliedReportingOverflow(by: Int64(clamping: s.f_frsize))
        return overflow ? Int64.max : bytes
    }

    /// The content store's root from containerd's plugin list, when kctr can see it.
    static func of(_ containerd: ContainerdAPI, session: Session) async -> ContentRoom {
        do {
            let plugins = try await containerd.plugins(filters: ["type==io.containerd.content.v1"])
            guard let root = plugins.compactMap({ $0.exports["root"] }).first, statvfsFree(root) != nil else {
                session.debug("content store root not visible from here: no free-space check before writing blobs")
                return .unknown
            }
            return ContentRoom(root: root, free: statvfsFree)
        } catch {
            session.debug("listing the content plugin: \(error): no free-space check before writing blobs")
            return .unknown
        }
    }

    /// Throws when a blob of `size` bytes cannot fit next to what is already on the filesystem.
    func require(_ size: Int64, for path: String, source: String) throws {
        guard let root, let available = free(root), size > available else { return }
        throw KctrError("\(source): no space left on the device holding containerd's content store \(root) for \(path): it needs \(Render.size(size)) and \(Render.size(available)) are free",
                        hint: "free space there (df -h \(root); kctr images rm removes images) or import on a node with room; if the archive should not hold a blob that large, it was crafted: do not import it")
    }
}
