import Foundation
import KctrRPC

/// Leases and ingests of kctr imports whose process is gone (killed, or the
/// daemon died under it) are removed before the next import, so they do
/// not hold content until their lease expires.
struct StaleImports: Sendable {
    let session: Session

    static let prefix = "kctr-import-"

    /// `kctr-import-<pid>-<random>-<what>`: the pid tells a live import from a dead one.
    static func name(_ what: String) -> String {
        "\(prefix)\(getpid())-\(UUID().uuidString.prefix(8).lowercased())-\(what)"
    }

    static func isStale(_ name: String) -> Bool {
        guard name.hasPrefix(prefix) else { return false }
        let rest = name.dropFirst(prefix.count)
        guard let pidText = rest.split(separator: "-").first, let pid = Int32(pidText), pid > 0 else { return false }
        if pid == getpid() { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    func clean() async {
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
        } catch {
            session.debug("cleaning up earlier imports: \(error)")
        }
    }
}
