import ArgumentParser
import KctrCore

struct ImageInspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show images in full: CRI's status and info as crictl inspecti prints them, and under kctr: index, platforms, manifests, configs, layers, labels.")

    @OptionGroup var global: CrictlGlobalOptions

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
        var items: [JSONValue] = []
        for ref in refs { items.append(try await catalog.inspectDocument(ref)) }
        // crictl's document: one object for one image, an array for several.
        Console.out(try Render.document(CRIDocument.statuses(items), as: output.format) ?? "")
    }
}
