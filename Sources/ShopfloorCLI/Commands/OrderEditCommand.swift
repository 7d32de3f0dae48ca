import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor order edit NUMBER [--due DATE] [--notes TEXT] [--tolerance PCT]`
struct OrderEditCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit", abstract: "Change an open order's header; fields not given stay as they are.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The order number.")
    var number: OrderNumber

    @Option(help: "Expected delivery date, YYYY-MM-DD (\"\" clears it).", transform: ArgumentValue.dateOrEmpty)
    var due: String?

    @Option(help: "Free text (replaces the notes).")
    var notes: String?

    @Option(help: "Over-receipt tolerance in percent.", transform: ArgumentValue.amount)
    var tolerance: Amount?

    func validate() throws {
        guard due != nil || notes != nil || tolerance != nil else {
            throw ValidationError("nothing to change: give --due, --notes or --tolerance")
        }
    }

    func run(replica: Replica, output: Output) throws {
        let edit = EditOrder(order: number, due: due, notes: notes, tolerancePercent: tolerance)
        let recorded = try replica.record(.editOrder(edit))
        try Confirmation(recorded, [("number", number.rawValue)]).print(output)
    }
}
