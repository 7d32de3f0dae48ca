extension OrderBook {
    /// Make Transfer: each line moves from `from` into the order's WIP warehouse at the source's moving-average rate
    /// (two TRANSFER entries with the order as `ref`), and counts as transferred against the input. A transfer
    /// merged onto an order closed or cancelled concurrently is kept and flagged, as a receipt is: the material has
    /// physically moved.
    mutating func transfer(
        _ transfer: OrderTransfer, context: ApplyContext, policy: some ApplyPolicy, catalog: Catalog,
        inventory: inout Inventory, log: inout ConflictLog
    ) throws(DomainError) -> [LedgerEntry] {
        var order = try order(resolveOrder(transfer.order, context))
        guard !transfer.lines.isEmpty else { throw .emptyTransfer(order.number) }
        guard transfer.from != order.wipLocation else { throw .sameLocation(transfer.from) }
        switch order.status {
        case .entered, .production, .received: break
        case .draft: try policy.tolerate(.transferNotOpen(order: order.number, status: order.status))
        case .completed, .cancelled:
            try policy.tolerate(.transferNotOpen(order: order.number, status: order.status))
            log.flag(
                .transferAfterClose, subject: order.number.rawValue, context: context,
                operations: [order.closedBy ?? "", context.operationText],
                outcome: "transfer kept: the material is in \(order.wipLocation)",
                explanation: "materials were transferred to \(order.number) while another device "
                    + (order.status == .cancelled ? "cancelled" : "closed")
                    + " it; move them back with a stock transfer")
        }
        // Every line on a copy: the inventory changes only when all of them went through.
        var moved = inventory
        var seen = Set<SKU>()
        var entries: [LedgerEntry] = []
        for line in transfer.lines {
            guard seen.insert(line.sku).inserted else {
                throw .duplicateTransferLine(order: order.number, sku: line.sku)
            }
            let input = order.inputs.firstIndex { $0.sku == line.sku }
            if input == nil {
                try policy.tolerate(.notAnInput(order: order.number, sku: line.sku, inputs: order.inputs.map(\.sku)))
            }
            var pair = try moved.transfer(
                TransferStock(sku: line.sku, quantity: line.quantity, from: transfer.from, to: order.wipLocation),
                context: context, catalog: catalog)
            for index in pair.indices { pair[index].ref = order.number }
            entries += pair
            if let input { order.inputs[input].transferred += line.quantity }
        }
        inventory = moved
        if let operation = context.operation { order.transfers.append(operation) }
        orders[order.number] = order
        return entries
    }
}
