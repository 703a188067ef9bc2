import ArgumentParser
import KctrCore

struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Show kctr's, containerd's and the CRI runtime's versions.")

    @OptionGroup var global: CrictlGlobalOptions
    @Option(name: [.short, .long], help: "Output format: table, json or yaml.")
    var output: OutputFormatArgument = .table

    func run() async throws {
        let session = try global.session()
        let report = try await VersionReport.gather(session)
        Console.out(try Render.document(report, as: output.format) ?? report.text)
        if let criError = report.criError { Console.warn(criError) }
    }
}
