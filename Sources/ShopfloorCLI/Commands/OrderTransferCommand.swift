import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor order transfer NUMBER --from LOC [SKU=QTY ...]`: ERPNext's Make Transfer.
struct OrderTransferCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Make Transfer: move inputs into the order's WIP warehouse (TRANSFER entries, ref = the order).",
        discussion: "Without SKU=QTY lines it moves what the order still needs: each input's required quantity "
            + "less what was transferred for it already.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The order number.")
    var number: OrderNumber

    @Option(help: "The store the materials come from.")
    var from: String

    @Argument(help: "Inputs moved, SKU=QTY (default: what the order still needs).", transform: ArgumentValue.line)
    var lines: [BOMLine] = []

    func run(replica: Replica, output: Output) throws {
        let transfer = try replica.makeTransfer(for: number, from: from, lines: lines)
        let recorded = try replica.record(.transferToOrder(transfer))
        let moved = transfer.lines.map { "\($0.sku)=\($0.quantity)" }.joined(separator: " ")
        try Confirmation(recorded, [("number", number.rawValue), ("from", from), ("moved", moved)]).print(output)
    }
}
