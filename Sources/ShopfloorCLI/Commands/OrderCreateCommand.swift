import ArgumentParser
import Foundation
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor order create --kind work|production --location L [--number N] [--due DATE] [--notes TEXT]
/// [--tolerance PCT] --output SKU=QTY[@COST] ...`
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
        var create = CreateOrder(
            number: number ?? "", kind: kind, location: location, due: due, notes: notes, tolerancePercent: tolerance,
            outputs: outputs)
        if number == nil {
            // Taking a default number advances a persisted sequence: check the rest first so a refusal changes nothing.
            try Self.validateExceptNumber(create, replica: replica)
            create.number = try replica.nextOrderNumber(kind: kind)
        }
        let recorded = try replica.record(.createOrder(create))
        try Confirmation(recorded, [("number", create.number.rawValue)]).print(output)
    }

    /// Applies `create`, under a number no order uses, to the working set it reads.
    static func validateExceptNumber(_ create: CreateOrder, replica: Replica) throws {
        var probe = create
        probe.number = "new"
        var scratch = try replica.workingSet(for: [.createOrder(probe)])
        while scratch.orders[probe.number] != nil { probe.number = OrderNumber(probe.number.rawValue + "_") }
        try scratch.apply(.createOrder(probe), context: ApplyContext(date: Replica.businessDate(Date())))
    }
}
