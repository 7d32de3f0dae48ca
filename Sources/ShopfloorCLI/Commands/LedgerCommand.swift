import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor ledger [--ref NUMBER] [--sku S] [--location L]`: entries in canonical order.
struct LedgerCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger", abstract: "List ledger entries in canonical order.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Only entries of this order.")
    var ref: OrderNumber?

    @Option(help: "Only this SKU.")
    var sku: SKU?

    @Option(help: "Only this location.")
    var location: String?

    func run(replica: Replica, output: Output) throws {
        let rows = try replica.ledger(ref: ref, sku: sku, location: location)
        try output.show(rows) {
            guard !rows.isEmpty else { return "no ledger entries" }
            var table = Table([
                .left("OPERATION"), .left("DATE"), .left("EVENT"), .left("SKU"), .left("LOCATION"), .right("QUANTITY"),
                .right("UNIT_COST"), .right("VALUE"), .left("REF"),
            ])
            for row in rows {
                table.append([
                    row.operation, row.date, row.event, row.sku.rawValue, row.location, Format.quantity(row.quantity),
                    Format.money(row.unitCost), Format.money(row.value), Format.optional(row.ref?.rawValue),
                ])
            }
            return table.render()
        }
    }
}
