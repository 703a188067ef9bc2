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

    @OptionGroup var progressOptions: ProgressOptions

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

    @Flag(name: .customLong("dry-run"), help: ArgumentHelp(
        "Read and verify the whole archive (every blob hashed) without writing to containerd, and say what an import would do.",
        discussion: "Exit 0 when an import would take every image under every name the archive gives, 1 otherwise. Works without a daemon."))
    var dryRun = false

    func validate() throws {
        for p in platform where !ImportPlan.PlatformChoice.isPlatform(p) {
            throw ValidationError("--platform \(p) is not os/arch[/variant], e.g. linux/amd64")
        }
        if allPlatforms && !platform.isEmpty {
            throw ValidationError("--all-platforms and --platform exclude each other")
        }
    }

    func run() async throws {
        var options = ImportOptions()
        options.platforms = .from(platforms: platform, all: allPlatforms)
        options.name = name
        options.digestNames = digests
        options.snapshotter = snapshotter
        options.unpack = !noUnpack
        options.pin = pin
        let spooled = file == "-" ? try StandardInput.spool() : nil
        let path = spooled?.path ?? file
        if spooled == nil && !FileManager.default.fileExists(atPath: path) {
            throw KctrError("cannot import \(path): no such file", hint: "give the path of an image archive, or - to read standard input")
        }
        let printer = progressOptions.printer(dryRun ? "import --dry-run" : "import")
        defer { printer?.finish() }
        if dryRun {
            try await checkOnly(path: path, source: spooled?.source, options: options, printer: printer)
            withExtendedLifetime(spooled) {}
            return
        }
        let session = try global.session()
        let report = try await ImageImporter(session: session, progress: printer?.sink).run(path: path, source: spooled?.source, options: options)
        withExtendedLifetime(spooled) {}
        printer?.finish()
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

    /// `--dry-run`: the archive verified whole, and what an import would do here.
    private func checkOnly(path: String, source: String?, options: ImportOptions, printer: ProgressPrinter?) async throws {
        var session: Session?
        var unreachable: String?
        do {
            session = try global.session()
        } catch {
            unreachable = "\(error)"
        }
        let check = try await ImageImporter.dryRun(path: path, source: source, options: options, session: session,
                                                   unreachable: unreachable, progress: printer?.sink)
        printer?.finish()
        if let doc = try Render.document(check, as: output.format) {
            Console.out(doc)
        } else {
            Console.out(Render.table(["IMAGE", "DIGEST", "PLATFORMS", "MISSING PLATFORMS", "BLOBS", "SIZE", "ON NODE"], check.images.flatMap { image in
                image.names.map { name in
                    [name, image.digest.hasPrefix("config ") ? "(built on import)" : "sha256:" + Digest.short(image.digest),
                     image.platforms.isEmpty ? "-" : image.platforms.joined(separator: ","),
                     image.missingPlatforms.isEmpty ? "-" : image.missingPlatforms.joined(separator: ","),
                     "\(image.blobs)", Render.size(image.size), image.blobsOnNode.map { "\($0)/\(image.blobs)" } ?? "?"]
                }
            }))
            let node = check.onNode.map { "\($0.count) already on the node" } ?? "cannot tell which are on the node"
            Console.err("verified \(check.blobs) blob(s) (\(Render.size(check.bytes))): every one matches its digest; \(node)\n")
            if let why = check.nodeUnknown { Console.warn("what the node already holds is unknown: \(why)") }
        }
        for image in check.images where !image.missingPlatforms.isEmpty {
            Console.warn("\(image.names.joined(separator: ", ")): platforms the index names but the archive lacks: \(image.missingPlatforms.joined(separator: ", "))")
        }
        for line in check.notImported { Console.warn("would not import: \(line) (name it with --name, or pass --digests)") }
        if check.complete {
            Console.err("an import would succeed: \(check.images.reduce(0) { $0 + $1.names.count }) image name(s)\n")
        } else {
            throw KctrError("\(check.archive): an import would not take every image the archive holds", hint: "see the warnings above")
        }
    }
}
