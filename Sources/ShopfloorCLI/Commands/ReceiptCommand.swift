import ArgumentParser

/// `shopfloor receipt …`
struct ReceiptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipt", abstract: "Deliveries of finished goods against an order.",
        subcommands: [ReceiptAddCommand.self, ReceiptVoidCommand.self])
}
