import ArgumentParser
import Foundation
import KctrCore

struct ImageExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export images to an OCI archive that kctr, ctr and docker load.",
        discussion: """
        Writes an OCI image layout (with a docker manifest.json) to OUT, or to standard output with -. \
        The index lists only the platforms exported, so the archive always re-imports. Blobs are streamed \
        from the content store and checked against their digests; OUT appears only when complete.
        """)

    @OptionGroup var global: GlobalOptions

    @OptionGroup var progressOptions: ProgressOptions

    @Argument(help: "The archive to write, or - for standard output.")
    var output: String

    @Argument(help: "Images to export.")
    var refs: [String]

    @Option(help: "Export this platform of multi-platform images (repeatable; default: the node's).")
    var platform: [String] = []

    @Flag(name: .customLong("all-platforms"), help: "Export every platform.")
    var allPlatforms = false

    @Flag(name: .customLong("skip-missing"), help: "Leave out platforms whose content is missing instead of failing.")
    var skipMissing = false

    func validate() throws {
        guard !refs.isEmpty else { throw ValidationError("name at least one image to export") }
        for p in platform where !ImportPlan.PlatformChoice.isPlatform(p) {
            throw ValidationError("--platform \(p) is not os/arch[/variant], e.g. linux/amd64")
        }
        if allPlatforms && !platform.isEmpty { throw ValidationError("--all-platforms and --platform exclude each other") }
        if output != "-" && isatty(1) == 0 && output.isEmpty { throw ValidationError("give an output file") }
    }

    func run() async throws {
        if output == "-" && isatty(1) == 1 {
            throw KctrError.usage("refusing to write an archive to a terminal", hint: "redirect standard output to a file, or give a path")
        }
        let session = try global.session()
        var options = ExportOptions()
        options.platforms = .from(platforms: platform, all: allPlatforms)
        options.skipMissing = skipMissing
        let printer = progressOptions.printer("export")
        defer { printer?.finish() }
        let report = try await ImageExporter(session: session, progress: printer?.sink).run(refs: refs, output: output, options: options)
        printer?.finish()
        for image in report.images where !image.skippedPlatforms.isEmpty {
            Console.warn("\(image.name): skipped \(image.skippedPlatforms.joined(separator: ", "))")
        }
        Console.err("exported \(report.images.count) image(s), \(report.blobs) blob(s), \(Render.size(report.bytes)) to \(output == "-" ? "standard output" : output)\n")
    }
}
