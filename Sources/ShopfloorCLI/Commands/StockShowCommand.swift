import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor stock [--sku S] [--location L]`: positions computed from the ledger.
struct StockShowCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show stock positions (the default `stock` subcommand).")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Only this SKU.")
    var sku: SKU?

    @Option(help: "Only this location.")
    var location: String?

    func run(replica: Replica, output: Output) throws {
        let rows = try replica.positions(sku: sku, location: location)
        try output.show(rows) {
            guard !rows.isEmpty else { return "no stock positions" }
            var table = Table([
                .left("SKU"), .left("LOCATION"), .left("UNIT"), .right("ON_HAND"), .right("ON_ORDER"),
                .right("DEMAND"), .right("ALLOCATED"), .right("AVAILABLE"), .right("PROJECTED"), .right("VALUE"),
            ])
            for row in rows {
                table.append([
                    row.sku.rawValue, row.location, row.unit, Format.quantity(row.onHand), Format.quantity(row.onOrder),
                    Format.quantity(row.demand), Format.quantity(row.allocated), Format.quantity(row.available),
                    Format.quantity(row.projected), Format.money(row.value),
                ])
            }
            return table.render()
        }
    }
}
