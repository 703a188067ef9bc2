#!/usr/bin/python3
"""Fixtures for scripts/bench/bench.py that ctr makes slowly or not at all, over the daemon's gRPC API.

  scripts/bench/bench-fixtures.py pods SOCKET [--count 50] [--log-dir DIR] [--jobs 4]
      N host-network pods with one busybox container each, started through CRI as the
      kubelet would (kubelet labels, log paths). The pause and busybox test images
      (scripts/lab/build-test-images) must be imported in `k8s.io` first. Prints POD_ID CONTAINER_ID lines.
  scripts/bench/bench-fixtures.py tags SOCKET SOURCE... --count N [--prefix docker.io/kctr/bench] [--jobs 32]
      N more names (PREFIX:0 .. PREFIX:N-1) in `k8s.io`, spread over the SOURCE images in turn
      (containerd Images.Create, concurrently: `ctr images tag` takes ~40-120 ms a name here),
      then waits until CRI lists them. Spread the names over many images: containerd 1.6's CRI
      re-sorts an image's whole name list for each new name (thousands of names for one image
      take it minutes of CPU).
  scripts/bench/bench-fixtures.py replies SOCKET OUTDIR [--namespace k8s.io]
      The daemon's replies to the calls kctr makes (containerd and CRI, verbose status included),
      as seeds for the `reply` fuzz target (scripts/fuzz/fuzz-seeds): one file per call, the reply's
      message type, a newline, then the reply's bytes. Expects an image and a pod with a running
      container (`pods` above) in NAMESPACE, so that the lists are not empty.

Needs Debian's python3-grpcio (apt-get install python3-grpcio; it installs for /usr/bin/python3).
The few runtime.v1 / containerd fields used are encoded here by hand, so no generated code is needed.
"""
import argparse, os, sys, time
from concurrent.futures import ThreadPoolExecutor

try:
    import grpc
except ImportError:
    sys.exit("bench-fixtures: the python3 grpc module is missing: apt-get install python3-grpcio "
             "(Debian's package; it installs for /usr/bin/python3)")


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, value):
    """One protobuf field: int as varint; str, bytes (an encoded message) length-delimited."""
    if isinstance(value, int):
        return varint(num << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value


def msg(*fields):
    return b"".join(field(n, v) for n, v in fields if v is not None)


def strmap(num, d):
    return b"".join(field(num, msg((1, k), (2, v))) for k, v in sorted(d.items()))


def fields(data):
    """(number, value, whole encoded field) for each field of a message; value is int or bytes."""
    i = 0

    def read_varint():
        nonlocal i
        n, shift = 0, 0
        while True:
            b = data[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return n

    while i < len(data):
        start = i
        key = read_varint()
        num, wire = key >> 3, key & 7
        if wire == 0:
            value = read_varint()
        elif wire == 2:
            n = read_varint()
            value = data[i:i + n]
            i += n
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError(f"unexpected wire type {wire}")
        yield num, value, data[start:i]


def first(data, num):
    return next((v for n, v, _ in fields(data) if n == num), None)


class Daemon:
    def __init__(self, socket):
        self.channel = grpc.insecure_channel("unix://" + os.path.abspath(socket))

    def call(self, path, request, namespace=None, timeout=120):
        method = self.channel.unary_unary(path, request_serializer=lambda b: b, response_deserializer=lambda b: b)
        metadata = [("containerd-namespace", namespace)] if namespace else None
        return method(request, metadata=metadata, timeout=timeout)


def pods(a):
    d = Daemon(a.socket)

    def one(i):
        name = f"bench-{i:03d}"
        kubelet = {"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": "bench"}
        log_dir = os.path.join(a.log_dir, name)
        os.makedirs(log_dir, exist_ok=True)
        # linux.security_context.namespace_options.network = NODE (2): host network, no CNI needed.
        sandbox = msg((1, msg((1, name), (2, f"uid-{name}"), (3, "bench"))), (3, log_dir)) \
            + strmap(6, kubelet) + field(8, msg((2, msg((1, msg((1, 2)))))))
        pod_id = first(d.call("/runtime.v1.RuntimeService/RunPodSandbox", field(1, sandbox)), 1).decode()
        config = msg((1, msg((1, "app"))), (2, msg((1, a.image)))) + field(3, "sleep") + field(3, "3600") \
            + strmap(9, {**kubelet, "io.kubernetes.container.name": "app"}) + field(11, "app/0.log")
        cid = first(d.call("/runtime.v1.RuntimeService/CreateContainer", msg((1, pod_id), (2, config), (3, sandbox))), 1).decode()
        d.call("/runtime.v1.RuntimeService/StartContainer", msg((1, cid)))
        return pod_id, cid

    with ThreadPoolExecutor(a.jobs) as pool:
        for pod_id, cid in pool.map(one, range(a.first, a.first + a.count)):
            print(pod_id, cid)


def cri_names(d):
    """How many repo tags CRI lists over all images."""
    images = d.call("/runtime.v1.ImageService/ListImages", b"")
    return sum(1 for n, v, _ in fields(images) if n == 1 for m, _, _ in fields(v) if m == 2)


def tags(a):
    d = Daemon(a.socket)
    ns = "k8s.io"
    records = []
    for source in a.sources:
        image = first(d.call("/containerd.services.images.v1.Images/Get", field(1, source), ns), 1)
        if image is None:
            sys.exit(f"bench-fixtures: image {source} not found in {ns}: import it first")
        # The source record under another name (labels and target kept, as `ctr images tag` does).
        records.append(b"".join(raw for n, _, raw in fields(image) if n in (2, 3)))
    before = cri_names(d)

    def one(i):
        record = records[i % len(records)]
        d.call("/containerd.services.images.v1.Images/Create", field(1, field(1, f"{a.prefix}:{i}") + record), ns)

    with ThreadPoolExecutor(a.jobs) as pool:
        list(pool.map(one, range(a.count)))
    # CRI learns of new names from containerd's events, asynchronously.
    deadline = time.time() + 300
    while cri_names(d) < before + a.count:
        if time.time() > deadline:
            sys.exit(f"bench-fixtures: CRI lists {cri_names(d) - before} of {a.count} new names after 300 s")
        time.sleep(0.2)


def replies(a):
    d = Daemon(a.socket)
    ns = a.namespace
    os.makedirs(a.outdir, exist_ok=True)
    C, R, I = "/containerd.services.", "/runtime.v1.RuntimeService/", "/runtime.v1.ImageService/"

    def save(name, type_name, reply):
        with open(os.path.join(a.outdir, name), "wb") as f:
            f.write(type_name.encode() + b"\n" + reply)

    def unary(name, path, request, type_name, namespace=ns, optional=False):
        try:
            reply = d.call(path, request, namespace)
        except grpc.RpcError as e:
            # Calls newer than the daemon (RuntimeConfig: containerd 1.7+).
            if optional and e.code() == grpc.StatusCode.UNIMPLEMENTED:
                return None
            raise
        save(name, type_name, reply)
        return reply

    images = unary("images-list", C + "images.v1.Images/List", b"", "containerd.services.images.v1.ListImagesResponse")
    image = first(images, 1)
    image_name = first(image, 1).decode()
    unary("images-get", C + "images.v1.Images/Get", field(1, image_name), "containerd.services.images.v1.GetImageResponse")
    target = first(image, 3)
    digest = first(target, 2).decode()
    unary("content-info", C + "content.v1.Content/Info", field(1, digest), "containerd.services.content.v1.InfoResponse")
    read = d.channel.unary_stream(C + "content.v1.Content/Read", request_serializer=lambda b: b, response_deserializer=lambda b: b)
    save("content-read", "containerd.services.content.v1.ReadContentResponse",
         next(iter(read(field(1, digest), metadata=[("containerd-namespace", ns)], timeout=60))))
    unary("content-list-statuses", C + "content.v1.Content/ListStatuses", b"", "containerd.services.content.v1.ListStatusesResponse")
    unary("version", C + "version.v1.Version/Version", b"", "containerd.services.version.v1.VersionResponse")
    unary("namespaces-list", C + "namespaces.v1.Namespaces/List", b"", "containerd.services.namespaces.v1.ListNamespacesResponse")
    unary("plugins", C + "introspection.v1.Introspection/Plugins", b"", "containerd.services.introspection.v1.PluginsResponse")
    unary("containers-list", C + "containers.v1.Containers/List", b"", "containerd.services.containers.v1.ListContainersResponse")
    unary("tasks-list", C + "tasks.v1.Tasks/List", b"", "containerd.services.tasks.v1.ListTasksResponse")
    unary("leases-create", C + "leases.v1.Leases/Create", msg((1, "kctr-seed")) + strmap(3, {"containerd.io/gc.expire": "2030-01-01T00:00:00Z"}),
          "containerd.services.leases.v1.CreateResponse")
    unary("leases-list", C + "leases.v1.Leases/List", b"", "containerd.services.leases.v1.ListResponse")
    d.call(C + "leases.v1.Leases/Delete", field(1, "kctr-seed"), ns)

    # One event: subscribe, then make one (a new image name) and keep the first envelope.
    subscribe = d.channel.unary_stream(C + "events.v1.Events/Subscribe", request_serializer=lambda b: b, response_deserializer=lambda b: b)
    stream = subscribe(field(1, 'topic=="/images/create"'), timeout=60)
    time.sleep(0.5)
    d.call(C + "images.v1.Images/Create", field(1, field(1, "docker.io/kctr/seed:event") + b"".join(
        raw for n, _, raw in fields(image) if n in (2, 3))), ns)
    save("event-envelope", "containerd.services.events.v1.Envelope", next(iter(stream)))
    stream.cancel()
    d.call(C + "images.v1.Images/Delete", field(1, "docker.io/kctr/seed:event"), ns)

    unary("cri-version", R + "Version", field(1, "v1"), "runtime.v1.VersionResponse", None)
    unary("cri-status-verbose", R + "Status", field(1, 1), "runtime.v1.StatusResponse", None)
    unary("cri-runtime-config", R + "RuntimeConfig", b"", "runtime.v1.RuntimeConfigResponse", None, optional=True)
    pods = unary("cri-list-pods", R + "ListPodSandbox", b"", "runtime.v1.ListPodSandboxResponse", None)
    pod_id = first(first(pods, 1), 1)
    unary("cri-pod-status-verbose", R + "PodSandboxStatus", msg((1, pod_id.decode()), (2, 1)), "runtime.v1.PodSandboxStatusResponse", None)
    containers = unary("cri-list-containers", R + "ListContainers", b"", "runtime.v1.ListContainersResponse", None)
    cid = first(first(containers, 1), 1).decode()
    unary("cri-container-status-verbose", R + "ContainerStatus", msg((1, cid), (2, 1)), "runtime.v1.ContainerStatusResponse", None)
    unary("cri-container-stats", R + "ContainerStats", field(1, cid), "runtime.v1.ContainerStatsResponse", None)
    unary("cri-list-container-stats", R + "ListContainerStats", b"", "runtime.v1.ListContainerStatsResponse", None)
    cri_images = unary("cri-list-images", I + "ListImages", b"", "runtime.v1.ListImagesResponse", None)
    image_id = first(first(cri_images, 1), 1).decode()
    unary("cri-image-status-verbose", I + "ImageStatus", msg((1, msg((1, image_id))), (2, 1)), "runtime.v1.ImageStatusResponse", None)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pods")
    p.add_argument("socket")
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--first", type=int, default=0, help="number of the first pod (bench-NNN)")
    p.add_argument("--log-dir", default="/var/tmp/kctr-bench/pod-logs")
    p.add_argument("--jobs", type=int, default=4)
    p.add_argument("--image", default="docker.io/library/busybox:kctr-test")
    t = sub.add_parser("tags")
    t.add_argument("socket")
    t.add_argument("sources", nargs="+", metavar="SOURCE")
    t.add_argument("--count", type=int, required=True)
    t.add_argument("--prefix", default="docker.io/kctr/bench")
    t.add_argument("--jobs", type=int, default=32)
    r = sub.add_parser("replies")
    r.add_argument("socket")
    r.add_argument("outdir")
    r.add_argument("--namespace", default="k8s.io")
    a = ap.parse_args()
    try:
        {"pods": pods, "tags": tags, "replies": replies}[a.cmd](a)
    except grpc.RpcError as e:
        sys.exit(f"bench-fixtures {a.cmd}: RPC failed: {e.code().name}: {e.details()} "
                 "(are the test images imported in k8s.io and the daemon's CRI plugin running? see the daemon's log)")


if __name__ == "__main__":
    main()
