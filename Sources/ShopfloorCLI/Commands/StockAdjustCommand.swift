import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor stock adjust SKU QTY --location L [--unit-cost C]`
struct StockAdjustCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "adjust",
        abstract: "Count, opening balance or purchase: bring stock in (QTY > 0) or take it out (QTY < 0).",
        discussion: "A negative quantity goes after `--`: `stock adjust STEEL --location PLANT -- -5`.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The SKU.")
    var sku: SKU

    @Argument(help: "Signed quantity.", transform: ArgumentValue.amount)
    var quantity: Amount

    @Option(help: "The location.")
    var location: String

    @Option(help: "Unit cost of stock coming in (default: the current rate).", transform: ArgumentValue.amount)
    var unitCost: Amount?

    func run(replica: Replica, output: Output) throws {
        let adjust = AdjustStock(sku: sku, location: location, quantity: quantity, unitCost: unitCost)
        let recorded = try replica.record(.adjustStock(adjust))
        try Confirmation(recorded, [("sku", sku.rawValue), ("location", location)]).print(output)
    }
}
