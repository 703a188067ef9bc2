import Foundation
import KctrRPC

/// What scripts/bench/bench.py needs that ctr makes slowly or not at all (kctr-lab pods, kctr-lab tags).
public enum BenchFixtures {
    /// `count` host-network pods `bench-NNN` (from `first`) in pod namespace `bench`, one busybox container
    /// `app` each, started through CRI as the kubelet would, at most `jobs` at once; (pod, container) IDs in order.
    public static func pods(_ rpc: RPCClient, count: Int, first: Int = 0, logDir: String, jobs: Int,
                            image: String = ContainerSpec.busybox) async throws -> [(pod: String, container: String)] {
        let cri = CRIAPI(rpc)
        return try await LabDaemon.map(first..<(first + count), jobs: jobs) { i in
            let name = "bench-" + String(repeating: "0", count: max(0, 3 - String(i).count)) + String(i)
            let (pod, containers) = try await PodFixture.start(
                cri, pod: PodSpec(name: name, namespace: "bench", logDir: logDir + "/" + name),
                containers: [ContainerSpec(name: "app", command: ["sleep", "3600"], image: image)])
            return (pod, containers.first ?? "")
        }
    }

    /// `count` more names (`prefix:0` .. `prefix:count-1`) in `namespace`, spread over the `sources` images in turn
    /// (containerd Images.Create, at most `jobs` at once: `ctr images tag` takes ~40-120 ms a name), then waits until
    /// CRI lists them. Spread the names over many images: containerd 1.6's CRI re-sorts an image's whole name list
    /// for each new name (thousands of names for one image take it minutes of CPU).
    public static func tags(_ rpc: RPCClient, sources: [String], count: Int, prefix: String, jobs: Int,
                            namespace: String = "k8s.io") async throws {
        let containerd = ContainerdAPI(rpc).namespaced(namespace)
        var records: [ImageRecord] = []
        for source in sources {
            guard let image = try await containerd.image(named: source) else {
                throw LabError("image \(source) not found in namespace \(namespace) (hint: import it first, e.g. "
                               + "ctr -n \(namespace) images import ARCHIVE)")
            }
            // The source record under another name: labels and target kept, as `ctr images tag` does.
            records.append(ImageRecord(name: "", labels: image.labels, target: image.target))
        }
        guard !records.isEmpty else { return }
        let cri = CRIAPI(rpc)
        let before = try await criNames(cri)
        let sourceRecords = records
        _ = try await LabDaemon.map(0..<count, jobs: jobs) { i in
            var record = sourceRecords[i % sourceRecords.count]
            record.name = "\(prefix):\(i)"
            return try await containerd.createImage(record).name
        }
        // CRI learns of new names from containerd's events, asynchronously.
        let waitSeconds = 300
        for _ in 0..<(waitSeconds * 5) {
            if try await criNames(cri) >= before + count { return }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        throw LabError("CRI lists \(try await criNames(cri) - before) of the \(count) new names after \(waitSeconds) s "
                       + "(hint: see the daemon's log for the CRI plugin's image events)")
    }

    /// How many names CRI lists over all images.
    static func criNames(_ cri: CRIAPI) async throws(RPCError) -> Int {
        try await cri.listImages().reduce(0) { $0 + $1.repoTags.count }
    }
}
