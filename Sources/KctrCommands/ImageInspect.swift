import ArgumentParser
import KctrCore

struct ImageInspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show images in full: index, platforms, manifests, configs, layers, labels (a JSON array).")

    @OptionGroup var global: GlobalOptions

    @Option(name: [.short, .long], help: "Output format: json or yaml.")
    var output: OutputFormatArgument = .json

    @Argument(help: "Images to inspect.")
    var refs: [String]

    func validate() throws {
        guard !refs.isEmpty else { throw ValidationError("name at least one image to inspect") }
        guard output != .table else { throw ValidationError("inspect prints json or yaml") }
    }

    func run() async throws {
        let session = try global.session()
        let catalog = ImageCatalog(session: session)
        var items: [ImageInspection] = []
        for ref in refs { items.append(try await catalog.inspect(ref)) }
        Console.out(try Render.document(items, as: output.format) ?? "")
    }
}
