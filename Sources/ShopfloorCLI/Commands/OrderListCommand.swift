import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor order list [--status S]`
struct OrderListCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List orders by number.")

    @OptionGroup var global: GlobalOptions

    @Option(
        help: "Only orders in this status (Draft, Entered, Production, Received, Completed, Cancelled).",
        transform: ArgumentValue.orderStatus)
    var status: OrderStatus?

    func run(replica: Replica, output: Output) throws {
        let rows = try replica.orders(status: status?.rawValue)
        try output.show(rows) {
            guard !rows.isEmpty else { return "no orders" }
            var table = Table([
                .left("NUMBER"), .left("KIND"), .left("STATUS"), .left("LOCATION"), .left("DUE"),
                .left("PRODUCED/ORDERED"),
            ])
            for row in rows {
                let progress = row.outputs.map { "\($0.sku) \($0.produced)/\($0.ordered)" }.joined(separator: ", ")
                table.append([
                    row.number.rawValue, row.kind, row.status, row.location, Format.optional(row.due), progress,
                ])
            }
            return table.render()
        }
    }
}
