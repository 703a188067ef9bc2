import KctrRPC

/// The `pause` group: the sandbox image is in k8s.io, unpacked for CRI's snapshotter, pinned, used by
/// the running sandboxes, and current (not from the frozen k8s.gcr.io, not older than the kubelet expects).
enum PauseGroup {
    static func results(_ f: VerifyFacts) -> [CheckResult] {
        let why = f.daemon.reachable ? DaemonGroup.criNotServing : DaemonGroup.unreachable
        guard f.daemon.running != nil, let pause = f.pause else {
            return [Check.pausePresent.skip(why, evidence: "runtime.v1.ImageService/ImageStatus"),
                    Check.pauseUnpacked.skip(why, evidence: "Snapshots.Stat"),
                    Check.pausePinned.skip(why, evidence: "runtime.v1.ImageService/ImageStatus"),
                    Check.pauseInUse.skip(why, evidence: "runtime.v1.RuntimeService/ListPodSandbox"),
                    Check.pauseVersion.skip(why, evidence: "the sandbox image's reference")]
        }
        return present(f, pause) + [pinned(f, pause), inUse(f, pause), version(f, pause)]
    }

    /// Where the image name came from, as evidence.
    static func source(_ f: VerifyFacts, _ image: SandboxImage) -> String {
        switch image.source {
        case .daemon: return "runtime.v1.RuntimeService/Status verbose: config.sandboxImage = \(image.name)"
        case .file(let key): return "\(key) = \(image.name) (containerd \(f.release?.line ?? "2.x") does not report its sandbox image)"
        case .releaseDefault(let r): return "containerd \(r.line)'s default sandbox image \(image.name) (config.toml sets none; containerd does not report it)"
        }
    }

    /// How a fix names the key that chooses the sandbox image.
    static func configKey(_ f: VerifyFacts) -> String { "\(f.layout.key(.sandboxImage)) of \(f.paths.containerdConfig)" }

    static func present(_ f: VerifyFacts, _ pause: PauseFacts) -> [CheckResult] {
        let image = pause.image.name
        let normalized = ImageReference.parse(image)?.description ?? image
        let snapshotter = f.criSnapshotter.name
        let fixPull = "on air-gapped nodes: kctr import pause.tar (a tar of \(image) saved where a registry is reachable); otherwise crictl pull \(image)"
        let presentEvidence = "\(source(f, pause.image)); runtime.v1.ImageService/ImageStatus; Images.Get(\(normalized)) in k8s.io"
        let record = pause.record.value ?? nil
        var out: [CheckResult] = []
        if let cri = pause.criImage.value ?? nil {
            out.append(Check.pausePresent.pass("\(image) is present (image id \(cri.id))", evidence: presentEvidence))
        } else if let record {
            out.append(Check.pausePresent.warn("\(image) is in containerd's k8s.io store (\(record.target.digest)) but CRI does not list it",
                                               evidence: presentEvidence, fix: "restart containerd so that CRI re-reads its store, or re-import: \(fixPull)"))
        } else {
            out.append(Check.pausePresent.fail("the sandbox image \(image) is not in namespace k8s.io: every new pod pulls it first, and on a node without registry access RunPodSandbox fails",
                                               evidence: presentEvidence, fix: fixPull + " (or point \(configKey(f)) at an image the node has)"))
        }

        guard record != nil else {
            out.append(Check.pauseUnpacked.skip("\(image) is not in containerd's k8s.io store (see pause.present)", evidence: "Images.Get(\(normalized)) in k8s.io"))
            return out
        }
        let r = pause.resolved ?? ImageCatalog.Resolved(problem: "not resolved")
        let ev = "Images.Get(\(normalized)) -> config rootfs.diff_ids -> chain ID \(r.chainID ?? "?"); Snapshots.Stat(\(snapshotter), chain ID)"
        if r.unpacked {
            out.append(Check.pauseUnpacked.pass("\(image) is unpacked for \(snapshotter)", evidence: ev))
        } else if let problem = r.problem {
            out.append(Check.pauseUnpacked.fail("\(image) cannot be resolved: \(problem)", evidence: ev, fix: "remove and re-import it: \(fixPull)"))
        } else {
            out.append(Check.pauseUnpacked.warn("\(image) is not unpacked for CRI's snapshotter \(snapshotter): the first pod unpacks it (slower start; fails if a layer is missing)",
                                                evidence: ev,
                                                fix: "ctr -n k8s.io images unpack --snapshotter \(snapshotter) \(normalized), or re-import it with kctr import pause.tar (which unpacks for CRI's snapshotter)"))
        }
        return out
    }

    static func pinned(_ f: VerifyFacts, _ pause: PauseFacts) -> CheckResult {
        let check = Check.pausePinned
        let image = pause.image.name
        let normalized = ImageReference.parse(image)?.description ?? image
        let pinning = f.release?.pinning ?? .none
        if pinning == .none {
            return check.skip("containerd \(f.daemon.version?.version ?? "1.6") has no image pinning (added in 1.7): the kubelet's image GC may remove \(image)",
                              evidence: "containerd.services.version.v1.Version")
        }
        guard let cri = pause.criImage.value ?? nil else {
            return check.skip("CRI does not know \(image) (see pause.present)", evidence: "runtime.v1.ImageService/ImageStatus")
        }
        if cri.pinned {
            return check.pass("\(image) is pinned (the kubelet's image GC keeps it)", evidence: "runtime.v1.ImageService/ImageStatus: image.pinned")
        }
        let evidence = "runtime.v1.ImageService/ImageStatus: image.pinned = false; \(source(f, pause.image))"
        if pinning == .configured {
            // 2.x pins the sandbox image it is configured with, whoever put the image there.
            return check.warn("\(image) is not pinned, though containerd \(f.release?.line ?? "2.x") pins the sandbox image it runs with: it runs with another one (config.toml edited since it started?), and the kubelet's image GC may delete \(image)",
                              evidence: evidence, fix: "\(DaemonGroup.restart) so that it reads \(configKey(f)) (see config.drift)")
        }
        return check.warn("\(image) is not pinned: the kubelet's image GC may delete it, and new pods then need a registry", evidence: evidence,
                          fix: "ctr -n k8s.io images label \(normalized) io.cri-containerd.pinned=pinned (containerd pins the configured sandbox image when CRI pulls it)")
    }

    static func inUse(_ f: VerifyFacts, _ pause: PauseFacts) -> CheckResult {
        let check = Check.pauseInUse
        let image = pause.image.name
        let normalized = ImageReference.parse(image)?.description ?? image
        let evidence = "runtime.v1.RuntimeService/ListPodSandbox; PodSandboxStatus(verbose) info.image"
        let sandboxes: [RunningSandbox]
        switch pause.sandboxes {
        case .unknown(let why): return check.skip("cannot list sandboxes: \(why)", evidence: evidence)
        case .known(let s): sandboxes = s
        }
        if sandboxes.isEmpty { return check.skip("no running sandboxes", evidence: evidence) }
        let cri = pause.criImage.value ?? nil
        let ids = Set([cri?.id].compactMap { $0 })
        let names = Set([image, normalized] + (cri?.repoTags ?? []) + (cri?.repoDigests ?? []))
        var other: [String] = []
        var unknown = 0
        for s in sandboxes {
            guard let used = s.image else {
                unknown += 1
                continue
            }
            let usedNorm = ImageReference.parse(used)?.description ?? used
            if names.contains(used) || names.contains(usedNorm) || ids.contains(used) { continue }
            other.append("\(s.namespace)/\(s.name) uses \(used)")
        }
        if !other.isEmpty {
            return check.warn("\(other.count) of \(sandboxes.count) running sandboxes use another image than \(image): " + other.prefix(5).joined(separator: "; ") + (other.count > 5 ? "; ..." : ""),
                              evidence: evidence,
                              fix: "the kubelet's --pod-infra-container-image or an older \(configKey(f)) started them; they change when the pods are recreated (drain the node); keep the old image until then")
        }
        if unknown == sandboxes.count {
            return check.skip("the runtime does not report the image of its \(sandboxes.count) running sandboxes", evidence: evidence)
        }
        return check.pass("all \(sandboxes.count - unknown) running sandboxes use \(image)" + (unknown > 0 ? " (\(unknown) did not say)" : ""), evidence: evidence)
    }

    /// k8s.gcr.io is frozen (no new images since April 2023, as in the kubeadm guides that still write
    /// `k8s.gcr.io/pause:3.4.1`); and a pause older than the one the kubelet's release installs with kubeadm.
    static func version(_ f: VerifyFacts, _ pause: PauseFacts) -> CheckResult {
        let check = Check.pauseVersion
        let image = pause.image.name
        let evidence = source(f, pause.image)
        let ref = ImageReference.parse(image)
        let tag = ref?.tag ?? ""
        let expected = f.kubelet.version.value.flatMap { k in k.expectedPause.map { (k, $0) } }
        let replacement = "registry.k8s.io/pause:\(expected?.1 ?? (tag.isEmpty ? "3.10" : tag))"
        let setIt = "set \(f.layout.assignment(f.layout.path(.sandboxImage), "\"\(replacement)\"")) of \(f.paths.containerdConfig), put the image on the node (kctr import, or crictl pull \(replacement)), then \(DaemonGroup.restart)"
        if ref?.domain == "k8s.gcr.io" {
            return check.warn("the sandbox image \(image) is on k8s.gcr.io, frozen since April 2023: it gets no new pause releases and may stop serving",
                              evidence: evidence, fix: setIt)
        }
        let isPause = ref.map { $0.path.split(separator: "/").last == "pause" } ?? false
        guard let expected else {
            return check.pass("\(image)\(isPause ? "" : " (not a pause image kctr can date)"); \(f.kubelet.version.problem?.message ?? "the kubelet's version is unknown"): not compared with it",
                              evidence: evidence)
        }
        let (kubelet, want) = expected
        guard isPause, let have = numericVersion(tag), let wanted = numericVersion(want) else {
            return check.pass("\(image): not a pause tag kctr can compare with \(want), the kubelet \(kubelet)'s", evidence: evidence + "; kubelet --version: \(kubelet)")
        }
        if have.lexicographicallyPrecedes(wanted) {
            return check.warn("the sandbox image \(image) is older than pause \(want), which the kubelet \(kubelet) (kubeadm) expects",
                              evidence: evidence + "; kubelet --version: \(kubelet)", fix: setIt)
        }
        return check.pass("\(image) is pause \(tag), as new as the \(want) the kubelet \(kubelet) expects", evidence: evidence + "; kubelet --version: \(kubelet)")
    }

    /// "3.10.1" -> [3, 10, 1]; nil when a part is not a number.
    static func numericVersion(_ tag: String) -> [Int]? {
        let parts = tag.split(separator: ".").map { Int($0) }
        guard !parts.isEmpty, !parts.contains(nil) else { return nil }
        return parts.compactMap { $0 }
    }
}
