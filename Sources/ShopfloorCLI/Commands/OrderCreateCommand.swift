import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor order create --kind work|production --location L [--number N] [--due DATE] [--notes TEXT]
/// [--tolerance PCT] [--wip LOC] [--fg LOC] [--backflush bom|transferred] --output SKU=QTY[@COST] ...`
struct OrderCreateCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a Draft order.")

    @OptionGroup var global: GlobalOptions

    @Option(
        help: "work (conversion cost, one-level inputs) or production (full cost, raw materials).",
        transform: ArgumentValue.orderKind)
    var kind: OrderKind

    @Option(help: "Where it is made.")
    var location: String

    @Option(help: "The WIP warehouse, where its inputs are staged and consumed (default: --location).")
    var wip: String?

    @Option(help: "The finished-goods warehouse, where its outputs land (default: --location).")
    var fg: String?

    @Option(
        help: ArgumentHelp(
            "What a receipt consumes: bom (the inputs in proportion) or transferred (what was transferred for the "
                + "order, in proportion; the rest goes back on close). Default: bom."),
        transform: ArgumentValue.backflush)
    var backflush: BackflushBasis?

    @Option(help: "The order number (default: a number unique to this replica, e.g. PO-<replica>-1).")
    var number: OrderNumber?

    @Option(help: "Expected delivery date, YYYY-MM-DD.", transform: ArgumentValue.date)
    var due: String?

    @Option(help: "Free text.")
    var notes: String = ""

    @Option(help: "Over-receipt tolerance in percent of each line.", transform: ArgumentValue.amount)
    var tolerance: Amount = .zero

    @Option(
        name: .customLong("output"), parsing: .upToNextOption,
        help: "Output lines SKU=QTY or SKU=QTY@UNIT_COST (repeatable).", transform: ArgumentValue.output)
    var outputs: [OutputSpec] = []

    func validate() throws {
        guard !outputs.isEmpty else { throw ValidationError("give at least one --output SKU=QTY[@COST]") }
    }

    func run(replica: Replica, output: Output) throws {
        let create = CreateOrder(
            number: number ?? "", kind: kind, location: location, due: due, notes: notes, tolerancePercent: tolerance,
            outputs: outputs, wip: wip, fg: fg, backflush: backflush)
        let (recorded, number) = try replica.recordNewOrder(create, numbered: self.number != nil)
        try Confirmation(recorded, [("number", number.rawValue)]).print(output)
    }
}
