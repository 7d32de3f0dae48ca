import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor order set-cost NUMBER SKU COST`
struct OrderSetCostCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-cost", abstract: "Set an output line's unit production (or conversion) cost.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The order number.")
    var number: OrderNumber

    @Argument(help: "The output SKU.")
    var sku: SKU

    @Argument(help: "Unit cost.", transform: ArgumentValue.amount)
    var cost: Amount

    func run(replica: Replica, output: Output) throws {
        let recorded = try replica.record(.setCost(SetCost(order: number, sku: sku, unitCost: cost)))
        try Confirmation(recorded, [("number", number.rawValue), ("sku", sku.rawValue)]).print(output)
    }
}
