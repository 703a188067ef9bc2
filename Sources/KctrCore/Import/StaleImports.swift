import Foundation
import KctrRPC

/// Leases and ingests of kctr imports whose process is gone (killed, or the
/// daemon died under it) are removed before the next import, so they do
/// not hold content until their lease expires.
struct StaleImports: Sendable {
    let session: Session

    static let prefix = "kctr-import-"

    /// `kctr-import-<pid namespace>-<pid>-<random>-<what>`: the pid tells a live
    /// import from a dead one, within the same pid namespace only (a kctr in
    /// another container has pids this process cannot see).
    static func name(_ what: String) -> String {
        "\(prefix)\(pidNamespace)-\(getpid())-\(UUID().uuidString.prefix(8).lowercased())-\(what)"
    }

    /// What every ref and lease of this process starts with.
    static var ownPrefix: String { "\(prefix)\(pidNamespace)-\(getpid())-" }

    /// The inode of /proc/self/ns/pid ("0" when unknown: then nothing is ever judged stale).
    static let pidNamespace: String = {
        var st = stat()
        guard stat("/proc/self/ns/pid", &st) == 0 else { return "0" }
        return String(st.st_ino)
    }()

    static func isStale(_ name: String, namespace: String = pidNamespace) -> Bool {
        guard name.hasPrefix(prefix) else { return false }
        return ownerIsGone(name.dropFirst(prefix.count), namespace: namespace)
    }

    /// `<pid namespace>-<pid>-...`: true when that kctr process is gone (same pid namespace only).
    static func ownerIsGone(_ rest: Substring, namespace: String = pidNamespace) -> Bool {
        guard namespace != "0" else { return false }
        let parts = rest.split(separator: "-")
        guard parts.count >= 2, String(parts[0]) == namespace, let pid = Int32(parts[1]), pid > 0 else { return false }
        if pid == getpid() { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Throws only when the daemon does not answer (the import would fail
    /// next anyway, and should not wait a second deadline for that).
    func clean() async throws {
        let api = session.containerd
        do {
            for id in try await api.leases() where Self.isStale(id) {
                session.debug("removing lease \(id) of an import that did not finish")
                try await api.deleteLease(id: id, sync: false)
            }
            for ref in try await api.activeIngests() where Self.isStale(ref) {
                session.debug("aborting ingest \(ref) of an import that did not finish")
                try await api.abortIngest(ref: ref)
            }
        } catch let e as RPCError where e.code == .deadlineExceeded || e.code == .unavailable {
            throw session.explain(e, doing: "looking for leases left by earlier imports")
        } catch {
            session.debug("cleaning up earlier imports: \(error)")
        }
    }
}
