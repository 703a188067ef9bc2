import ArgumentParser
import KctrCore

struct ImageRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove images (every name given; keeps going past failures).",
        aliases: ["remove", "delete"])

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Wait until containerd has collected the image's content.")
    var sync = false

    @Argument(help: "Images to remove.")
    var refs: [String]

    func validate() throws {
        guard !refs.isEmpty else { throw ValidationError("name at least one image to remove") }
    }

    func run() async throws {
        let session = try global.session()
        let (removed, failures) = await ImageCatalog(session: session).remove(refs, sync: sync)
        Console.out(removed.map { $0 + "\n" }.joined())
        for failure in failures { Console.err("kctr: \(failure)\n") }
        if !failures.isEmpty {
            throw KctrError("\(failures.count) of \(refs.count) image(s) not removed")
        }
    }
}
