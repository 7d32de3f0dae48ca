import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor item …`
struct ItemCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "item", abstract: "Materials, components and products.", subcommands: [Add.self])

    /// `shopfloor item add SKU --kind material|component|product [--unit U] [--name TEXT]`
    struct Add: ReplicaCommand {
        static let configuration = CommandConfiguration(abstract: "Add an item.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The SKU (letters, digits, '-', '_', '.', '/').")
        var sku: SKU

        @Option(help: "material, component or product.", transform: ArgumentValue.itemKind)
        var kind: ItemKind

        @Option(help: "Unit of measure.")
        var unit: String = "ea"

        @Option(help: "A descriptive name.")
        var name: String = ""

        func run(replica: Replica, output: Output) throws {
            let recorded = try replica.record(.addItem(Item(sku: sku, kind: kind, unit: unit, name: name)))
            try Confirmation(recorded, [("sku", sku.rawValue)]).print(output)
        }
    }
}
