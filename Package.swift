// swift-tools-version: 6.0
import PackageDescription

// Layers, one way only:
//   CKctrProto (protoc-c output in Generated/) + CGRPCShim (gRPC core / protobuf-c shim)
//     -> KctrRPC (the only Swift target that imports C)
//     -> KctrCore (domain: models, archives, runtime checks, rendering; no C, no CLI)
//     -> KctrCommands (swift-argument-parser commands, one file each)
//     -> kctr (main)
// Beside KctrRPC, KctrArchive (libarchive) and KctrYAML (libyaml's event parser, the CYaml of Yams)
// each own one C library for KctrCore. CProcess is three one-line libc wrappers (pipe2 and two
// posix_spawn file actions that need _GNU_SOURCE) that KctrCore's HostProbes calls directly: no
// handle, no lifetime, nothing for a Swift owner to wrap, and nothing to do with RPC.
let package = Package(
    name: "kctr",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "kctr", targets: ["kctr"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .target(
            name: "CKctrProto",
            path: "Generated",
            // Generated/swift: the typed Swift messages, compiled into KctrRPC (Sources/KctrRPC/Generated links there).
            exclude: ["swift"],
            publicHeadersPath: ".",
            cSettings: [.headerSearchPath(".")]
        ),
        .target(
            name: "CGRPCShim",
            dependencies: ["CKctrProto"],
            cSettings: [.headerSearchPath("../../Generated")],
            linkerSettings: [
                .linkedLibrary("grpc_unsecure"),
                .linkedLibrary("gpr"),
                .linkedLibrary("protobuf-c"),
            ]
        ),
        .target(
            name: "KctrRPC",
            dependencies: ["CGRPCShim"]
        ),
        .target(
            name: "KctrCore",
            dependencies: [
                "KctrRPC",
                "KctrArchive",
                "KctrYAML",
                "CProcess",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "CProcess"),
        .target(
            name: "KctrCommands",
            dependencies: ["KctrCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "kctr", dependencies: ["KctrCommands"]),
        // Fuzz targets over the parsers of untrusted input; `make fuzz` builds kctr-fuzz with libFuzzer.
        .target(name: "KctrFuzz", dependencies: ["KctrCore", "KctrRPC"]),
        .executableTarget(name: "kctr-fuzz", dependencies: ["KctrFuzz"]),
        // Test and bench tooling, not a product (nor in `make dist`): pods, image names and reply seeds made through
        // KctrRPC's typed messages, for the integration tests (KctrLab) and scripts/bench, scripts/fuzz (kctr-lab).
        .target(name: "KctrLab", dependencies: ["KctrRPC"]),
        .executableTarget(name: "kctr-lab", dependencies: ["KctrLab", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .target(name: "CArchive", linkerSettings: [.linkedLibrary("archive")]),
        .target(name: "KctrArchive", dependencies: ["CArchive"]),
        // CYaml is not a product of Yams; it is visible through the Yams product, and this target
        // reads libyaml's events with the same libyaml Yams parses with.
        .target(name: "KctrYAML", dependencies: [.product(name: "Yams", package: "Yams")]),
        .testTarget(name: "KctrArchiveTests", dependencies: ["KctrArchive"]),
        .testTarget(name: "KctrRPCTests", dependencies: ["KctrRPC"]),
        .testTarget(name: "KctrRPCLiveTests", dependencies: ["KctrRPC"]),
        .testTarget(name: "KctrCoreTests", dependencies: ["KctrCore", "KctrCommands"], resources: [.copy("Fixtures")]),
        // Yams: the pod tests read the DaemonSet and Job manifests (scripts/deploy) to build their CRI configs.
        // KctrCore: the lab's containerd version is read with kctr's own ContainerdRelease.
        // KctrLab: the pods they start (PodFixture); kctr-lab: LabToolTests runs it.
        .testTarget(name: "KctrIntegrationTests", dependencies: ["kctr", "kctr-lab", "KctrLab", "KctrRPC", "KctrCore",
                                                                 .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "KctrFuzzTests", dependencies: ["KctrFuzz", "KctrRPC"], exclude: ["Corpus"]),
    ],
    cLanguageStandard: .c11
)
