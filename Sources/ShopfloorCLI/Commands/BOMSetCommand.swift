import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor bom set PARENT CHILD=QTY [CHILD=QTY ...]`: replaces the parent's BOM.
struct BOMSetCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Set (replace) a component's or product's BOM.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The component or product.")
    var parent: SKU

    @Argument(help: "CHILD=QTY per one parent, e.g. STEEL=2.5.", transform: ArgumentValue.line)
    var lines: [BOMLine]

    func validate() throws {
        guard !lines.isEmpty else { throw ValidationError("give at least one CHILD=QTY line") }
    }

    func run(replica: Replica, output: Output) throws {
        let recorded = try replica.record(.setBOM(SetBOM(parent: parent, lines: lines)))
        try Confirmation(recorded, [("parent", parent.rawValue)]).print(output)
    }
}
