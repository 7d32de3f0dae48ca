import ArgumentParser

/// `shopfloor bom …`
struct BOMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bom", abstract: "Bills of materials.", subcommands: [BOMSetCommand.self, BOMExplodeCommand.self])
}
