import Foundation
import KctrRPC

/// The daemon's replies to the calls kctr makes (containerd and CRI, verbose status included), as seeds for the
/// `reply` fuzz target (scripts/fuzz/fuzz-seeds, `kctr-lab replies`): one file per call, in ReplyFuzzing.Seed's format.
public enum ReplySeeds {
    /// Writes the seeds into `outdir`. Expects an image and a pod with a running container (`kctr-lab pods`) in
    /// `namespace`, so that the lists are not empty. Returns the names of the files written, in order.
    @discardableResult
    public static func write(_ rpc: RPCClient, to outdir: String, namespace: String = "k8s.io") async throws -> [String] {
        try FileManager.default.createDirectory(atPath: outdir, withIntermediateDirectories: true)
        var written: [String] = []
        func save(_ name: String, _ seed: ReplyFuzzing.Seed) throws {
            try Data(seed.file).write(to: URL(fileURLWithPath: outdir + "/" + name))
            written.append(name)
        }
        let ns = rpc.with("containerd-namespace", namespace)
        let containerd = ContainerdAPI(rpc).namespaced(namespace)

        try save("images-list", try await ReplyFuzzing.record(ns, Containerd.Images.ImagesService.list, Containerd.Images.ListImagesRequest()))
        guard let image = try await containerd.images().first else {
            throw LabError("no image in namespace \(namespace) to record replies about (hint: import the test images first)")
        }
        try save("images-get", try await ReplyFuzzing.record(ns, Containerd.Images.ImagesService.get, Containerd.Images.GetImageRequest(name: image.name)))
        let digest = image.target.digest
        try save("content-info", try await ReplyFuzzing.record(ns, Containerd.Content.ContentService.info, Containerd.Content.InfoRequest(digest: digest)))
        try save("content-read", try await ReplyFuzzing.record(ns, Containerd.Content.ContentService.read, Containerd.Content.ReadContentRequest(digest: digest)))
        try save("content-list-statuses", try await ReplyFuzzing.record(ns, Containerd.Content.ContentService.listStatuses, Containerd.Content.ListStatusesRequest()))
        try save("version", try await ReplyFuzzing.record(ns, Containerd.Version.VersionService.version, Google.Protobuf.Empty()))
        try save("namespaces-list", try await ReplyFuzzing.record(ns, Containerd.Namespaces.NamespacesService.list, Containerd.Namespaces.ListNamespacesRequest()))
        try save("plugins", try await ReplyFuzzing.record(ns, Containerd.Introspection.IntrospectionService.plugins, Containerd.Introspection.PluginsRequest()))
        try save("containers-list", try await ReplyFuzzing.record(ns, Containerd.Containers.ContainersService.list, Containerd.Containers.ListContainersRequest()))
        try save("tasks-list", try await ReplyFuzzing.record(ns, Containerd.Tasks.TasksService.list, Containerd.Tasks.ListTasksRequest()))
        let lease = Containerd.Leases.CreateRequest(id: "kctr-seed", labels: ["containerd.io/gc.expire": "2030-01-01T00:00:00Z"])
        try save("leases-create", try await ReplyFuzzing.record(ns, Containerd.Leases.LeasesService.create, lease))
        try save("leases-list", try await ReplyFuzzing.record(ns, Containerd.Leases.LeasesService.list, Containerd.Leases.ListRequest()))
        try await containerd.deleteLease(id: "kctr-seed", sync: false)
        try save("event-envelope", try await oneEvent(rpc, containerd, image: image))

        let r = CRI.RuntimeService.self, i = CRI.ImageService.self
        try save("cri-version", try await ReplyFuzzing.record(rpc, r.version, CRI.VersionRequest(version: "v1")))
        try save("cri-status-verbose", try await ReplyFuzzing.record(rpc, r.status, CRI.StatusRequest(verbose: true)))
        do {
            try save("cri-runtime-config", try await ReplyFuzzing.record(rpc, r.runtimeConfig, CRI.RuntimeConfigRequest()))
        } catch let error as RPCError where error.code == .unimplemented {
            // RuntimeConfig is newer than containerd 1.6 (1.7+).
        }
        let cri = CRIAPI(rpc)
        try save("cri-list-pods", try await ReplyFuzzing.record(rpc, r.listPodSandbox, CRI.ListPodSandboxRequest()))
        guard let pod = try await cri.listPodSandboxes().first, let container = try await cri.listContainers().first else {
            throw LabError("no pod with a container to record replies about (hint: start one first: kctr-lab pods SOCKET --count 1)")
        }
        try save("cri-pod-status-verbose", try await ReplyFuzzing.record(rpc, r.podSandboxStatus,
                                                                         CRI.PodSandboxStatusRequest(podSandboxId: pod.id, verbose: true)))
        try save("cri-list-containers", try await ReplyFuzzing.record(rpc, r.listContainers, CRI.ListContainersRequest()))
        try save("cri-container-status-verbose", try await ReplyFuzzing.record(rpc, r.containerStatus,
                                                                               CRI.ContainerStatusRequest(containerId: container.id, verbose: true)))
        try save("cri-container-stats", try await ReplyFuzzing.record(rpc, r.containerStats,
                                                                      CRI.ContainerStatsRequest(containerId: container.id)))
        try save("cri-list-container-stats", try await ReplyFuzzing.record(rpc, r.listContainerStats, CRI.ListContainerStatsRequest()))
        try save("cri-list-images", try await ReplyFuzzing.record(rpc, i.listImages, CRI.ListImagesRequest()))
        guard let criImage = try await cri.listImages().first else {
            throw LabError("CRI lists no image to record replies about (hint: import the test images into k8s.io first)")
        }
        try save("cri-image-status-verbose", try await ReplyFuzzing.record(rpc, i.imageStatus,
                                                                           CRI.ImageStatusRequest(image: .init(image: criImage.id), verbose: true)))
        return written
    }

    /// The first event envelope of a subscription to image creations: `image` is named
    /// docker.io/kctr/seed:event, again every half second until the subscription has seen one, then removed.
    static func oneEvent(_ rpc: RPCClient, _ containerd: ContainerdAPI, image: ImageRecord) async throws -> ReplyFuzzing.Seed {
        let subscribe = Containerd.EventService.EventsService.subscribe
        let event = Task {
            try await ReplyFuzzing.record(rpc, subscribe, Containerd.EventService.SubscribeRequest(filters: [#"topic=="/images/create""#]))
        }
        let name = "docker.io/kctr/seed:event"
        let maker = Task {
            while !Task.isCancelled {
                _ = try? await containerd.createImage(ImageRecord(name: name, labels: image.labels, target: image.target))
                try await Task.sleep(nanoseconds: 500_000_000)
                try? await containerd.deleteImage(name: name, sync: false)
            }
        }
        defer { maker.cancel() }
        let seed = try await event.value
        maker.cancel()
        _ = await maker.result
        do {
            try await containerd.deleteImage(name: name, sync: false)
        } catch where error.code == .notFound {}
        return seed
    }
}
