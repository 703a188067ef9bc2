import ArgumentParser
import KctrCore

struct Info: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show the runtime's status: conditions, CRI configuration, runtimes, CNI.")

    @OptionGroup var global: CrictlGlobalOptions
    @Option(name: [.short, .long], help: "Output format: table, json or yaml.")
    var output: OutputFormatArgument = .table

    func run() async throws {
        let session = try global.session()
        let report = try await InfoReport.gather(session)
        // json/yaml: crictl's document.
        Console.out(try Render.document(try report.document(), as: output.format) ?? report.text)
    }
}
