import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor bom explode SKU [--qty Q] [--levels one|full]`
struct BOMExplodeCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "explode", abstract: "The inputs needed for a quantity of an item.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The component or product.")
    var sku: SKU

    @Option(help: "How many to make.", transform: ArgumentValue.amount)
    var qty: Amount = .one

    @Option(help: "one: direct children; full: flattened to raw materials.", transform: ArgumentValue.levels)
    var levels: ExplosionLevels = .full

    func run(replica: Replica, output: Output) throws {
        let explosion = try replica.explosion(of: sku, quantity: qty, levels: levels)
        try output.show(explosion) {
            var table = Table([.left("SKU"), .left("KIND"), .right("QUANTITY"), .left("UNIT")])
            for input in explosion.inputs {
                table.append([input.sku.rawValue, input.kind, Format.quantity(input.quantity), input.unit])
            }
            return "\(qty) × \(sku), \(levels.rawValue) level\(levels == .full ? "s" : "")\n" + table.render()
        }
    }
}
