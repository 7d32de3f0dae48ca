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

    struct Input: Encodable {
        var sku: SKU
        var kind: String
        var unit: String
        var quantity: Amount
    }

    struct Explosion: Encodable {
        var sku: SKU
        var quantity: Amount
        var levels: String
        var inputs: [Input]
    }

    func run(replica: Replica, output: Output) throws {
        let catalog = try replica.catalog(subtreesOf: [sku])
        let lines = try catalog.explode(sku, quantity: qty, levels: levels)
        let inputs = lines.map { line in
            let item = catalog.items[line.sku]
            return Input(
                sku: line.sku, kind: item?.kind.rawValue ?? "", unit: item?.unit ?? "", quantity: line.quantity)
        }
        let explosion = Explosion(sku: sku, quantity: qty, levels: levels.rawValue, inputs: inputs)
        try output.show(explosion) {
            var table = Table([.left("SKU"), .left("KIND"), .right("QUANTITY"), .left("UNIT")])
            for input in inputs {
                table.append([input.sku.rawValue, input.kind, Format.quantity(input.quantity), input.unit])
            }
            return "\(qty) × \(sku), \(levels.rawValue) level\(levels == .full ? "s" : "")\n" + table.render()
        }
    }
}
