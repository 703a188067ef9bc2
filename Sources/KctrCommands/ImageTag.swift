import ArgumentParser
import KctrCore

struct ImageTag: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tag",
        abstract: "Give an image more names.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Repoint names that already exist.")
    var force = false

    @Argument(help: "The image to name.")
    var source: String

    @Argument(help: "New names.")
    var targets: [String]

    func validate() throws {
        guard !targets.isEmpty else { throw ValidationError("give at least one new name") }
    }

    func run() async throws {
        let session = try global.session()
        let names = try await ImageCatalog(session: session).tag(source, as: targets, force: force)
        Console.out(names.map { $0 + "\n" }.joined())
    }
}
