import ArgumentParser
import KctrCore

struct ImageList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List images, joined with what CRI and the snapshotter say about them.",
        aliases: ["list"])

    @OptionGroup var global: CrictlGlobalOptions
    @OptionGroup var output: OutputOptions

    @Flag(name: [.short, .long], help: "Also show CRI's sha256:<config> duplicate names.")
    var all = false

    @Argument(help: "Reference or glob to filter by (busybox, docker.io/library/*).")
    var pattern: String?

    static let headers = ["REF", "DIGEST", "SIZE", "PLATFORMS"]
    static let criHeaders = ["CRI", "PINNED"]
    static let unpackedHeader = "UNPACKED"

    func run() async throws {
        let session = try global.session()
        let rows = try await ImageCatalog(session: session).list(includeDigestNames: all, pattern: pattern, resolve: !output.quiet)
        if output.quiet {
            Console.out(rows.map { $0.name + "\n" }.joined())
            return
        }
        if let doc = try Render.document(rows, as: output.format) {
            Console.out(doc)
            return
        }
        let withCRI = rows.contains { $0.cri != nil } || session.config.namespace == "k8s.io"
        var headers = Self.headers
        if withCRI { headers += Self.criHeaders }
        headers.append(Self.unpackedHeader)
        // Many names share one target: its cells are built once (thousands of tags of a few images).
        var targetCells: [String: [String]] = [:]
        let table = rows.map { r -> [String] in
            let shared = targetCells[r.digest] ?? {
                let cells = [output.noTrunc ? r.digest : "sha256:" + Digest.short(r.digest),
                             r.problem == nil ? Render.size(r.size) : "-",
                             r.platforms.isEmpty ? "-" : r.platforms.joined(separator: ","),
                             r.unpacked ? "yes (\(r.snapshotter))" : "no"]
                targetCells[r.digest] = cells
                return cells
            }()
            var cells = [r.name] + shared.prefix(3)
            if withCRI { cells += [yesNo(r.cri?.known), yesNo(r.cri?.pinned)] }
            cells.append(shared[3])
            return cells
        }
        Console.out(Render.table(headers, table))
        for r in rows {
            if let problem = r.problem { Console.warn("\(r.name): \(problem)") }
        }
    }

    private func yesNo(_ b: Bool?) -> String {
        guard let b else { return "-" }
        return b ? "yes" : "no"
    }
}
