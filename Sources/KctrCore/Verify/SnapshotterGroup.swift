/// The `snapshotter` group: CRI's snapshotter is a loaded plugin, and (overlayfs) the kernel and the
/// filesystem under containerd's root can serve it.
enum SnapshotterGroup {
    static func results(_ f: VerifyFacts) -> [CheckResult] {
        guard f.daemon.reachable else {
            return [Check.snapshotterPlugin.skip(DaemonGroup.unreachable, evidence: "Introspection.Plugins"),
                    Check.snapshotterFilesystem.skip(DaemonGroup.unreachable, evidence: "statfs")]
        }
        let (name, source) = f.criSnapshotter
        return [plugin(f, name: name, source: source), filesystem(f, name: name, source: source)]
    }

    static func plugin(_ f: VerifyFacts, name: String, source: String) -> CheckResult {
        let check = Check.snapshotterPlugin
        let evidence = "\(source); Introspection.Plugins: io.containerd.snapshotter.v1.\(name)"
        let plugins = f.daemon.pluginList
        let layout = f.layout
        let config = f.paths.containerdConfig
        if let p = plugins.first(where: { $0.type == "io.containerd.snapshotter.v1" && $0.id == name }) {
            guard let err = p.initError else { return check.pass("CRI's snapshotter \(name) is loaded (status ok)", evidence: evidence) }
            return check.fail("CRI's snapshotter \(name) did not load: \(err)", evidence: evidence,
                              fix: name == "overlayfs"
                                  ? "put containerd's root on a filesystem overlayfs supports (ext4, or xfs with ftype=1) and load the overlay module (modprobe overlay), then \(DaemonGroup.restart)"
                                  : "fix what the error names, or set \(layout.assignment(layout.path(.snapshotter), "\"overlayfs\"")) of \(config) and \(DaemonGroup.restart)")
        }
        if plugins.isEmpty { return check.skip("the daemon did not list its plugins", evidence: evidence) }
        let have = plugins.filter { $0.type == "io.containerd.snapshotter.v1" && $0.initError == nil }.map(\.id)
        return check.fail("CRI's snapshotter \(name) is not a loaded snapshotter plugin (loaded: \(have.joined(separator: ", ")))", evidence: evidence,
                          fix: "set \(layout.key(.snapshotter)) of \(config) to one of \(have.joined(separator: ", ")) (or install the \(name) proxy plugin) and \(DaemonGroup.restart)")
    }

    static func filesystem(_ f: VerifyFacts, name: String, source: String) -> CheckResult {
        let check = Check.snapshotterFilesystem
        guard name == "overlayfs" else {
            return check.skip("only checked for overlayfs (the snapshotter is \(name))", evidence: source)
        }
        var notes: [String] = [], evidence: [String] = []
        let filesystems = f.paths.proc("filesystems")
        switch f.host.kernelHasOverlay {
        case false?:
            return check.fail("the kernel does not list overlay in \(filesystems): the overlayfs snapshotter cannot mount layers",
                              evidence: "\(filesystems): overlay not listed",
                              fix: "modprobe overlay, and add overlay to /etc/modules-load.d/containerd.conf so it loads at boot")
        case true?:
            evidence.append("\(filesystems): overlay listed")
            notes.append("the kernel has overlay")
        case nil:
            notes.append("\(filesystems) not readable (kernel support not checked)")
        }
        guard let fs = f.filesystem, let dir = fs.directory, let type = fs.type else {
            notes.append(f.filesystem?.note ?? "containerd's root dir unknown (filesystem not checked)")
            return check.pass(notes.joined(separator: "; "), evidence: (evidence.isEmpty ? [source] : evidence).joined(separator: "; "))
        }
        evidence.append("mountinfo(\(dir)): \(type) at \(fs.mountPoint ?? "?")")
        switch type {
        case "overlay":
            return check.fail("\(dir) is itself on overlayfs: overlayfs cannot use an overlay upper dir (containerd in a container without a volume for its root)",
                              evidence: evidence.joined(separator: "; "),
                              fix: "put containerd's root (root = in \(f.paths.containerdConfig)) on ext4 or xfs (ftype=1), e.g. a volume or host mount, or use the native snapshotter there")
        case "xfs":
            switch fs.xfsFtype {
            case .unknown(let why):
                notes.append("\(dir) is on xfs (ftype not checked: \(why.message))")
            case .known(let ftype):
                evidence.append("xfs_info \(fs.mountPoint ?? dir): \(ftype.map { "ftype=\($0)" } ?? "no ftype")")
                if ftype == 0 {
                    return check.fail("\(dir) is on xfs formatted with ftype=0: overlayfs needs d_type (ftype=1); layers show wrong or missing files",
                                      evidence: evidence.joined(separator: "; "),
                                      fix: "move containerd's root to a filesystem made with mkfs.xfs -n ftype=1 (ftype cannot be changed in place) or ext4, then \(DaemonGroup.restart)")
                }
                notes.append(ftype == 1 ? "\(dir) is on xfs with ftype=1" : "\(dir) is on xfs (xfs_info did not report ftype)")
            }
        default:
            notes.append("\(dir) is on \(type)")
        }
        return check.pass(notes.joined(separator: "; "), evidence: evidence.joined(separator: "; "))
    }
}
