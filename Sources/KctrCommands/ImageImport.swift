import ArgumentParser
import Foundation
import KctrCore

struct ImageImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import images from an archive so that the kubelet can run them.",
        discussion: """
        Accepts OCI image layouts and docker save archives (also compressed as a whole with gzip or zstd). \
        Blobs are streamed into containerd under a lease, labelled for garbage collection as containerd does, \
        the images are named in the namespace (default k8s.io) and unpacked for the snapshotter CRI uses, \
        then checked through CRI.
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The archive, or - for standard input.")
    var file: String

    @Option(help: "Import this platform of multi-platform images (repeatable; default: the node's).")
    var platform: [String] = []

    @Flag(name: .customLong("all-platforms"), help: "Import every platform the archive holds.")
    var allPlatforms = false

    @Option(help: "Name the archive's single image (e.g. registry.example.com/app:1.0).")
    var name: String?

    @Flag(help: "Import unnamed images under import-<date>@<digest> names.")
    var digests = false

    @Option(help: "Snapshotter to unpack for (default: the one CRI uses).")
    var snapshotter: String?

    @Flag(name: .customLong("no-unpack"), help: "Do not unpack the layers.")
    var noUnpack = false

    @Flag(help: "Pin the image against the kubelet's image garbage collection.")
    var pin = false

    @Option(name: [.short, .long], help: "Output format: table, json or yaml.")
    var output: OutputFormatArgument = .table

    func validate() throws {
        for p in platform where !ImportPlan.PlatformChoice.isPlatform(p) {
            throw ValidationError("--platform \(p) is not os/arch[/variant], e.g. linux/amd64")
        }
        if allPlatforms && !platform.isEmpty {
            throw ValidationError("--all-platforms and --platform exclude each other")
        }
    }

    func run() async throws {
        let session = try global.session()
        var options = ImportOptions()
        options.platforms = .from(platforms: platform, all: allPlatforms)
        options.name = name
        options.digestNames = digests
        options.snapshotter = snapshotter
        options.unpack = !noUnpack
        options.pin = pin
        let spooled = file == "-" ? try StandardInput.spool() : nil
        defer { spooled?.remove() }
        let path = spooled?.path ?? file
        if spooled == nil && !FileManager.default.fileExists(atPath: path) {
            throw KctrError("cannot import \(path): no such file", hint: "give the path of an image archive, or - to read standard input")
        }
        var progress: (@Sendable (String) -> Void)?
        if isatty(2) == 1 { progress = { @Sendable line in Console.err("\r\u{1b}[K" + line) } }
        let report = try await ImageImporter(session: session, progress: progress).run(path: path, options: options)
        if progress != nil { Console.err("\r\u{1b}[K") }
        if let doc = try Render.document(report, as: output.format) {
            Console.out(doc)
        } else {
            Console.out(Render.table(["IMAGE", "DIGEST", "CRI IMAGE ID", "SIZE", "PLATFORMS", "UNPACKED"], report.images.map {
                [$0.name, "sha256:" + Digest.short($0.digest), $0.criID.map { "sha256:" + Digest.short($0) } ?? "-",
                 Render.size($0.size), $0.platforms.isEmpty ? "-" : $0.platforms.joined(separator: ","),
                 $0.unpackedFor ?? "no"]
            }))
            Console.err("imported \(report.images.count) image name(s): \(report.blobsWritten) blob(s) written (\(Render.size(report.bytesWritten))), \(report.blobsPresent) already present\n")
        }
        for image in report.images where !image.skippedPlatforms.isEmpty {
            Console.warn("\(image.name): platforms not in the archive, skipped: \(image.skippedPlatforms.joined(separator: ", "))")
        }
        for line in report.notImported { Console.warn("not imported: \(line) (name it with --name, or pass --digests)") }
    }
}
