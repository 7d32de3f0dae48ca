import ArgumentParser

/// The floor client: one SQLite replica, every change an operation.
public struct Shopfloor: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "shopfloor",
        abstract: "Shop-floor client: items, BOMs, stock and manufacturing orders on an offline replica.",
        discussion: """
            Exit status: 0 success; 1 the operation was refused (nothing changed) or the database is missing;
            2 usage error (unknown option, malformed number or date, bad SKU=QTY argument).
            A negative quantity goes after `--`, e.g. `shopfloor stock adjust STEEL --location PLANT -- -5`.
            """,
        subcommands: [
            InitCommand.self, LocationCommand.self, ItemCommand.self, BOMCommand.self, StockCommand.self,
            OrderCommand.self, ReceiptCommand.self, LedgerCommand.self, LogCommand.self, DigestCommand.self,
            RebuildCommand.self, ImportCommand.self, EnrollCommand.self, SyncCommand.self, ConflictsCommand.self,
            MCPCommand.self, PlantCommand.self,
        ])

    /// Lets `shopfloor --db PATH order list` parse; each leaf command reads the options itself.
    @OptionGroup var global: GlobalOptions

    public init() {}
}
