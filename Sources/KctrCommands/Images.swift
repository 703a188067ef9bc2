import ArgumentParser

struct Images: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "Manage images in a containerd namespace (default k8s.io).",
        subcommands: [ImageList.self, ImageImport.self, ImageExport.self, ImagePullCommand.self, ImageRemove.self, ImagePrune.self, ImageTag.self, ImageInspect.self],
        defaultSubcommand: ImageList.self)
}
