import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor stock transfer SKU QTY --from L --to L`
struct StockTransferCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer", abstract: "Move stock between locations at the source's rate.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The SKU.")
    var sku: SKU

    @Argument(help: "Quantity to move.", transform: ArgumentValue.amount)
    var quantity: Amount

    @Option(help: "Source location.")
    var from: String

    @Option(help: "Destination location.")
    var to: String

    func run(replica: Replica, output: Output) throws {
        let transfer = TransferStock(sku: sku, quantity: quantity, from: from, to: to)
        let recorded = try replica.record(.transferStock(transfer))
        try Confirmation(recorded, [("sku", sku.rawValue), ("from", from), ("to", to)]).print(output)
    }
}
