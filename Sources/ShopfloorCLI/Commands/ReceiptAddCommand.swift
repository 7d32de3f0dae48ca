import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor receipt add NUMBER SKU=QTY [SKU=QTY ...] [--date DATE] [--id ID] [--consumed SKU=QTY ...]
/// [--scrap SKU=QTY ...] [--loss SKU=QTY ...]`
struct ReceiptAddCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Receive finished goods: CONSUME the inputs, PRODUCE the outputs.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The order number.")
    var number: OrderNumber

    @Argument(help: "Output lines received, SKU=QTY.", transform: ArgumentValue.line)
    var lines: [BOMLine]

    @Option(help: "The delivery's business date, YYYY-MM-DD (default: today, UTC).", transform: ArgumentValue.date)
    var date: String?

    @Option(help: "The receipt id (default: one unique to this replica, e.g. RC-<replica>-7).")
    var id: String?

    @Option(
        name: .customLong("consumed"), parsing: .singleValue,
        help: "Actual consumption of an input, SKU=QTY, overriding the order's backflush basis (repeatable).",
        transform: ArgumentValue.line)
    var consumed: [BOMLine] = []

    @Option(
        name: .customLong("scrap"), parsing: .singleValue,
        help: "An input scrapped making these goods, SKU=QTY, taken from WIP (repeatable).",
        transform: ArgumentValue.line)
    var scrap: [BOMLine] = []

    @Option(
        name: .customLong("loss"), parsing: .singleValue,
        help: "Output lost in the process, SKU=QTY, for an output received here: it consumes inputs, produces nothing.",
        transform: ArgumentValue.line)
    var loss: [BOMLine] = []

    func validate() throws {
        guard !lines.isEmpty else { throw ValidationError("give at least one SKU=QTY line") }
    }

    func run(replica: Replica, output: Output) throws {
        let receipt = id ?? replica.nextReceiptID()
        let add = AddReceipt(
            order: number, receipt: receipt, lines: lines, date: date, consumed: consumed.isEmpty ? nil : consumed,
            scrap: scrap.isEmpty ? nil : scrap, loss: loss.isEmpty ? nil : loss)
        let recorded = try replica.record(.addReceipt(add), date: date)
        let status = try replica.orderStatus(number)?.rawValue ?? ""
        try Confirmation(recorded, [("number", number.rawValue), ("receipt", receipt), ("status", status)]).print(
            output)
    }
}
