extension OrderBook {
    mutating func transition(
        _ transition: OrderTransition, context: ApplyContext, policy: some ApplyPolicy, catalog: Catalog,
        inventory: inout Inventory, log: inout ConflictLog
    ) throws(DomainError) -> [LedgerEntry] {
        var order = try order(resolveOrder(transition.order, context))
        var action = transition.action
        if action == .cancel, !order.visibleReceipts.isEmpty, order.status == .production || order.status == .received {
            try policy.tolerate(Self.cancelRefusal(order))
            // Rule 2: the cancel did not see these receipts; reverse only what is outstanding and close short.
            let unseen = order.visibleReceipts.filter { !($0.operation.map(context.saw) ?? true) }
            action = .complete
            log.flag(
                .cancelVersusReceipt, subject: order.number.rawValue, context: context,
                operations: [context.operationText] + unseen.compactMap(\.operation),
                outcome:
                    "closed short (Completed); receipts \(order.visibleReceipts.map(\.id).joined(separator: ", ")) kept",
                explanation: "a cancel of \(order.number) did not see receipts recorded concurrently; receipts are "
                    + "physical facts, so the order was closed short instead")
        }
        var lifecycle = OrderLifecycle(status: order.status)
        try lifecycle.handle(action.event, order: order.number)
        if transition.action == .complete, policy.reportsUnseenReceipts {
            // Rule 4 the other way round: receipts (or voids) the close did not see are kept as they are.
            let unseen = order.receipts.filter { receipt in
                !(receipt.operation.map(context.saw) ?? true) || !(receipt.voidedBy.map(context.saw) ?? true)
            }
            if !unseen.isEmpty {
                log.flag(
                    .receiptAfterClose, subject: order.number.rawValue, context: context,
                    operations: unseen.compactMap { $0.voidedBy ?? $0.operation } + [context.operationText],
                    outcome: "closed short; receipts \(unseen.map(\.id).joined(separator: ", ")) kept as recorded",
                    explanation: "\(order.number) was closed by a device that had not seen "
                        + unseen.map(\.id).joined(separator: ", "))
            }
        }
        if transition.action == .complete || transition.action == .cancel, policy.reportsUnseenReceipts {
            // Transfers the close did not see stand: the material is in WIP.
            let unseen = order.transfers.filter { !context.saw($0) }
            if !unseen.isEmpty {
                log.flag(
                    .transferAfterClose, subject: order.number.rawValue, context: context,
                    operations: unseen + [context.operationText],
                    outcome: "transfers kept: the material is in \(order.wipLocation)",
                    explanation:
                        "\(order.number) was closed by a device that had not seen materials transferred to it; "
                        + "move them back with a stock transfer")
            }
        }
        func entry(_ sku: SKU, _ event: LedgerEvent, _ quantity: Amount) -> LedgerEntry {
            // Outputs are on order where they will land; inputs are demanded and allocated where they are consumed.
            let onOutput = event == .order || event == .reverseOrder
            return LedgerEntry(
                sku: sku, location: onOutput ? order.fgLocation : order.wipLocation, event: event, quantity: quantity,
                ref: order.number, date: context.date, operation: context.operationText)
        }
        var entries: [LedgerEntry] = []
        switch action {
        case .enter:
            var required: [SKU: Amount] = [:]
            for index in order.lines.indices {
                let line = order.lines[index]
                // An input that rounds to nothing for this quantity is not demanded.
                let inputs: [BOMLine]
                do {
                    inputs = try catalog.explode(line.sku, quantity: line.quantity, levels: order.kind.explosion)
                        .filter { $0.quantity.isPositive }
                } catch {
                    try policy.tolerate(error)
                    inputs = []
                    log.flag(
                        .catalogMismatch, subject: order.number.rawValue, context: context,
                        operations: [context.operationText], outcome: "entered with no inputs for \(line.sku)",
                        explanation:
                            "\(line.sku) cannot be exploded here (\(error.description)); a concurrent catalog change")
                }
                order.lines[index].inputs = inputs
                order.lines[index].onOrder = line.quantity
                for input in inputs { required[input.sku, default: .zero] += input.quantity }
                entries.append(entry(line.sku, .order, line.quantity))
            }
            order.inputs = required.keys.sorted().map { sku in
                var commitment = InputCommitment(sku: sku, required: required[sku]!)
                commitment.demand = commitment.required
                return commitment
            }
            entries += order.inputs.map { entry($0.sku, .demand, $0.demand) }
        case .start:
            for index in order.inputs.indices where order.inputs[index].demand.isPositive {
                let quantity = order.inputs[index].demand
                order.inputs[index].demand = .zero
                order.inputs[index].allocated += quantity
                entries.append(entry(order.inputs[index].sku, .allocate, quantity))
            }
        case .complete, .cancel:
            for index in order.lines.indices where order.lines[index].onOrder.isPositive {
                entries.append(entry(order.lines[index].sku, .reverseOrder, -order.lines[index].onOrder))
                order.lines[index].onOrder = .zero
            }
            for index in order.inputs.indices {
                let allocated = order.inputs[index].allocated
                if allocated.isPositive {
                    entries.append(entry(order.inputs[index].sku, .reverseAllocate, -allocated))
                    order.inputs[index].allocated = .zero
                    order.inputs[index].demand += allocated
                }
                let demand = order.inputs[index].demand
                if demand.isPositive {
                    entries.append(entry(order.inputs[index].sku, .reverseDemand, -demand))
                    order.inputs[index].demand = .zero
                }
            }
            entries += try Self.returnUnconsumed(&order, context: context, inventory: &inventory)
        }
        order.status = lifecycle.status
        if order.status.isClosed, let operation = context.operation { order.closedBy = operation }
        orders[order.number] = order
        return entries
    }

    /// On close, an order that consumes what was transferred (`transferred` basis) with a WIP warehouse of its own
    /// sends what it did not consume or scrap back from WIP to its location (TRANSFER, ref = the order); what it
    /// transferred is then net of that.
    private static func returnUnconsumed(
        _ order: inout Order, context: ApplyContext, inventory: inout Inventory
    ) throws(DomainError) -> [LedgerEntry] {
        guard order.basis == .transferred, order.wipLocation != order.location else { return [] }
        var moved = inventory
        var entries: [LedgerEntry] = []
        for index in order.inputs.indices {
            let sku = order.inputs[index].sku
            let consumed = order.lines.reduce(Amount.zero) { $0 + ($1.consumed[sku] ?? .zero) }
            let rest = order.inputs[index].transferred - order.inputs[index].scrapped - consumed
            guard rest.isPositive else { continue }
            var pair = try moved.move(
                TransferStock(sku: sku, quantity: rest, from: order.wipLocation, to: order.location), context: context)
            for entry in pair.indices { pair[entry].ref = order.number }
            entries += pair
            order.inputs[index].transferred -= rest
        }
        inventory = moved
        return entries
    }

    /// Why a cancel of an order with receipts is refused locally. Received orders cannot be cancelled at all: the
    /// lifecycle's error says so.
    private static func cancelRefusal(_ order: Order) -> DomainError {
        do {
            _ = try OrderLifecycle(status: order.status).next(.cancel, order: order.number)
        } catch {
            return error
        }
        return .cancelWithReceipts(order: order.number, receipts: order.visibleReceipts.map(\.id))
    }
}
