import ArgumentParser

/// `shopfloor stock …`; with no subcommand, shows positions.
struct StockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stock", abstract: "Stock positions, adjustments and transfers.",
        subcommands: [StockShowCommand.self, StockAdjustCommand.self, StockTransferCommand.self],
        defaultSubcommand: StockShowCommand.self)
}
