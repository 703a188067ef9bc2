import ArgumentParser
import Foundation
import KctrCore

struct ImagePullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Pull an image through CRI, with containerd's registry configuration (mirrors, hosts.toml, auth).",
        discussion: """
        The pull goes through CRI PullImage, as the kubelet's does: hosts.toml mirrors under the CRI registry \
        config_path, TLS settings and credentials in containerd's config all apply (ctr images pull ignores them \
        unless given --hosts-dir). Afterwards kctr reports CRI's image ID and whether the image is unpacked for \
        the snapshotter CRI uses.
        """)

    @OptionGroup var global: CrictlGlobalOptions

    @OptionGroup var progressOptions: ProgressOptions

    @Option(help: ArgumentHelp("Registry credentials, as crictl takes them: USER[:PASSWORD] (asks for the password on a terminal when it is left out).",
                               valueName: "USER[:PASSWORD]"))
    var creds: String?

    @Option(help: ArgumentHelp("Registry credentials as base64 of USER:PASSWORD (a docker config.json's auth).", valueName: "BASE64"))
    var auth: String?

    @Option(name: .customLong("registry-config"),
            help: ArgumentHelp("Take the credentials for the image's registry from this docker config.json.", valueName: "PATH"))
    var registryConfig: String?

    @Option(name: .customLong("pod-config"),
            help: ArgumentHelp("A pod sandbox config (JSON or YAML, as crictl's) to pull for, e.g. for a runtime handler's snapshotter.", valueName: "FILE"))
    var podConfig: String?

    @Option(name: .customLong("pull-timeout"),
            help: ArgumentHelp("Give up after this long (e.g. 90s, 10m); default: as long as the pull takes.", valueName: "DURATION"))
    var pullTimeout: String?

    @Option(name: [.short, .long], help: "Output format: table, json or yaml.")
    var output: OutputFormatArgument = .table

    @Argument(help: "The image to pull, e.g. registry.example.com/team/app:1.0.")
    var image: String

    func validate() throws {
        let given = [creds != nil, auth != nil, registryConfig != nil].filter { $0 }.count
        if given > 1 { throw ValidationError("--creds, --auth and --registry-config exclude each other") }
        if let t = pullTimeout, DurationText.milliseconds(t) == nil {
            throw ValidationError("--pull-timeout \(t) is not a duration (e.g. 90s, 10m)")
        }
    }

    func run() async throws {
        let session = try global.session()
        var credentials: RegistryAuth?
        if let creds {
            credentials = try PullCredentials.fromCreds(creds) { try Console.askPassword("password for \(creds): ", flag: "--creds") }
        } else if let auth {
            credentials = try PullCredentials.fromAuth(auth)
        } else if let registryConfig, let ref = ImageReference.parse(image) {
            credentials = try PullCredentials.fromDockerConfig(registryConfig, for: ref)
            if credentials == nil { Console.warn("\(registryConfig) holds no credentials for \(ref.domain): pulling anonymously") }
        }
        var config: JSONValue?
        if let podConfig { config = try ImagePuller.podConfig(podConfig) }
        let printer = progressOptions.printer("pull")
        defer { printer?.finish() }
        let report = try await ImagePuller(session: session, progress: printer?.sink)
            .pull(image, auth: credentials, podConfig: config, timeoutMilliseconds: pullTimeout.flatMap(DurationText.milliseconds) ?? 0)
        printer?.finish()
        if let doc = try Render.document(report, as: output.format) {
            Console.out(doc)
            return
        }
        Console.out("Image is up to date for \(report.imageID)\n")
        let unpacked = report.snapshotter.map { report.unpacked ? "unpacked for \($0)" : "NOT unpacked for \($0)" } ?? "unpacked: unknown"
        Console.err("pulled \(report.name) in \(Render.fixed(report.seconds, digits: 1)) s: \(report.size.map(Render.size) ?? "?"), \(unpacked)\n")
    }
}
