import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor order show NUMBER`: header, lines, input snapshot, receipts and ledger count.
struct OrderShowCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one order in full.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The order number.")
    var number: OrderNumber

    func run(replica: Replica, output: Output) throws {
        guard let detail = try replica.orderDetail(number) else {
            throw DomainError.unknownOrder(number)
        }
        try output.show(detail) { Self.render(detail) }
    }

    static func render(_ order: OrderDetail) -> String {
        let allowed = order.allowedEvents.isEmpty ? "none (closed)" : order.allowedEvents.joined(separator: ", ")
        var header = Table([.left(""), .left("")])
        header.append(["order", "\(order.number) (\(order.kind), \(order.location))"])
        if order.wip != order.location || order.fg != order.location {
            header.append(["warehouses", "WIP \(order.wip), FG \(order.fg)"])
        }
        if order.backflush != BackflushBasis.bom.rawValue {
            header.append(["backflush", "\(order.backflush): receipts consume what was transferred, in proportion"])
        }
        header.append(["status", "\(order.status); allowed: \(allowed)"])
        if !order.openConflicts.isEmpty {
            header.append(["CONFLICTS", "\(order.openConflicts.count) open (`conflicts --subject \(order.number)`)"])
        }
        if let requested = order.requestedNumber {
            header.append(["renamed", "from \(requested) (another device chose the same number)"])
        }
        header.append(["due", Format.optional(order.due)])
        header.append(["notes", Format.optional(order.notes)])
        header.append(["tolerance", "\(order.tolerancePercent)%"])
        header.append(["ledger", "\(order.ledgerEntries) entries (`ledger --ref \(order.number)`)"])
        var sections = [header.render(header: false)]

        var lines = Table([
            .left("SKU"), .right("ORDERED"), .right("PRODUCED"), .right("ON_ORDER"), .right("UNIT_COST"),
        ])
        for line in order.lines {
            lines.append([
                line.sku.rawValue, Format.quantity(line.ordered), Format.quantity(line.produced),
                Format.quantity(line.onOrder),
                Format.money(line.unitCost),
            ])
        }
        sections.append("Lines\n" + lines.render())

        if order.inputs.isEmpty {
            sections.append("Inputs\n(no snapshot until the order is entered)")
        } else {
            // Transferred against required, once the order stages material in WIP.
            let staged = order.wip != order.location || order.inputs.contains { !$0.transferred.isZero }
            let scrapped = order.inputs.contains { !$0.scrapped.isZero }
            var inputs = Table(
                [.left("SKU"), .right("REQUIRED")] + (staged ? [.right("TRANSFERRED")] : [])
                    + [.right("DEMAND"), .right("ALLOCATED"), .right("CONSUMED")]
                    + (scrapped ? [.right("SCRAPPED")] : []))
            for input in order.inputs {
                inputs.append(
                    [input.sku.rawValue, Format.quantity(input.required)]
                        + (staged ? [Format.quantity(input.transferred)] : [])
                        + [
                            Format.quantity(input.demand), Format.quantity(input.allocated),
                            Format.quantity(input.consumed),
                        ] + (scrapped ? [Format.quantity(input.scrapped)] : []))
            }
            sections.append("Inputs (snapshot)\n" + inputs.render())
        }

        if order.receipts.isEmpty {
            sections.append("Receipts\n(none)")
        } else {
            var receipts = Table([.left("ID"), .left("DATE"), .left("LINES"), .left("VOIDED")])
            for receipt in order.receipts {
                let lines = receipt.lines.map { "\($0.sku)=\($0.quantity)" }.joined(separator: " ")
                receipts.append([receipt.id, receipt.date, lines, receipt.voided ? "yes" : "no"])
            }
            sections.append("Receipts\n" + receipts.render())
        }
        return sections.joined(separator: "\n\n")
    }
}
