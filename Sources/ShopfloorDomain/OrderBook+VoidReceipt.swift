extension OrderBook {
    mutating func voidReceipt(
        _ void: VoidReceipt, context: ApplyContext, policy: some ApplyPolicy, inventory: inout Inventory,
        log: inout ConflictLog
    ) throws(DomainError) -> [LedgerEntry] {
        let receiptID = resolveReceipt(void.receipt, context)
        guard let number = receiptOrders[receiptID] else { throw .unknownReceipt(void.receipt) }
        var order = try order(number)
        let receiptIndex = order.receipts.firstIndex { $0.id == receiptID }!
        let receipt = order.receipts[receiptIndex]
        guard !receipt.voided else { throw .receiptAlreadyVoided(receiptID) }
        // A merged void of a receipt on an order closed concurrently is applied; the closed order keeps no
        // commitments, so nothing is restored to on order or allocated. Any other state that takes no void refuses.
        var closedConcurrently = false
        do {
            _ = try OrderLifecycle(status: order.status).next(.voidReceipt, order: order.number)
        } catch {
            guard order.status.isClosed else { throw error }
            try policy.tolerate(error)
            closedConcurrently = true
            log.flag(
                .receiptAfterClose, subject: order.number.rawValue, context: context,
                // An order closed by no operation is named "", as conflicts have always stored it.
                operations: [order.closedBy ?? "", context.operationText],
                outcome: "receipt \(receiptID) voided on the closed order",
                explanation: "the void of \(receiptID) was recorded while another device closed \(order.number)")
        }
        let restores = !order.status.isClosed

        var scratch: [StockKey: Valuation] = [:]
        var entries: [LedgerEntry] = []
        let lines = receipt.entryLines ?? receipt.entries.map { _ in receipt.lines[0].sku }
        // Undo quantities first, so commitments can be recomputed from what is left.
        for (original, lineSKU) in zip(receipt.entries, lines) {
            let index = try order.lineIndex(lineSKU)
            let quantity = original.quantity.magnitude
            switch original.event {
            case .produce: order.lines[index].produced -= quantity
            case .processLoss: order.lines[index].lost -= quantity
            case .scrap:
                if let input = order.inputs.firstIndex(where: { $0.sku == original.sku }) {
                    order.inputs[input].scrapped -= quantity
                }
            default:
                // Consumption stated for what is no input of the line (a merged receipt) was not counted on it.
                guard order.lines[index].inputs.contains(where: { $0.sku == original.sku }) else { continue }
                order.lines[index].consumed[original.sku, default: .zero] -= quantity
            }
        }
        // What is still outstanding after the void: ordered − produced, required − consumed (open orders only).
        var onOrderRestore: [SKU: Amount] = [:]
        var allocationRestore: [SKU: Amount] = [:]
        if restores {
            for index in order.lines.indices {
                let line = order.lines[index]
                let outstanding = Amount.maximum(.zero, line.quantity - line.progress)
                onOrderRestore[line.sku] = outstanding - line.onOrder
            }
            for index in order.inputs.indices {
                let sku = order.inputs[index].sku
                let consumed = order.lines.reduce(Amount.zero) { $0 + ($1.consumed[sku] ?? .zero) }
                let outstanding = Amount.maximum(.zero, order.inputs[index].required - consumed)
                allocationRestore[sku] = outstanding - order.inputs[index].allocated
            }
        }
        // Products leave first, then the materials come back, mirroring the receipt.
        for original in receipt.entries.reversed() {
            let key = StockKey(sku: original.sku, location: original.location)
            var valuation = scratch[key] ?? inventory.valuations[key] ?? Valuation()
            let quantity = original.quantity.magnitude
            switch original.event {
            case .produce:
                let value = try arithmetic { try valuation.issue(quantity: quantity) }
                let relieved = Amount.maximum(.zero, Amount.minimum(quantity, onOrderRestore[original.sku] ?? .zero))
                onOrderRestore[original.sku] = (onOrderRestore[original.sku] ?? .zero) - relieved
                order.lines[try order.lineIndex(original.sku)].onOrder += relieved
                entries.append(
                    LedgerEntry(
                        sku: original.sku, location: original.location, event: .reverseProduce, quantity: -quantity,
                        unitCost: try arithmetic { try (-value).divided(by: quantity) }, value: value,
                        relieved: relieved, ref: order.number, date: context.date, operation: context.operationText))
            case .processLoss:
                let relieved = Amount.maximum(.zero, Amount.minimum(quantity, onOrderRestore[original.sku] ?? .zero))
                onOrderRestore[original.sku] = (onOrderRestore[original.sku] ?? .zero) - relieved
                order.lines[try order.lineIndex(original.sku)].onOrder += relieved
                entries.append(
                    LedgerEntry(
                        sku: original.sku, location: original.location, event: .reverseProcessLoss, quantity: quantity,
                        relieved: relieved, ref: order.number, date: context.date, operation: context.operationText))
                continue
            case .scrap:
                let value = try arithmetic {
                    try valuation.receive(quantity: quantity, value: -(original.value ?? .zero))
                }
                entries.append(
                    LedgerEntry(
                        sku: original.sku, location: original.location, event: .reverseScrap, quantity: quantity,
                        unitCost: original.unitCost, value: value, ref: order.number, date: context.date,
                        operation: context.operationText))
            case .consume:
                let value = try arithmetic {
                    try valuation.receive(quantity: quantity, value: -(original.value ?? .zero))
                }
                let relieved = Amount.maximum(.zero, Amount.minimum(quantity, allocationRestore[original.sku] ?? .zero))
                allocationRestore[original.sku] = (allocationRestore[original.sku] ?? .zero) - relieved
                if let input = order.inputs.firstIndex(where: { $0.sku == original.sku }) {
                    order.inputs[input].allocated += relieved
                }
                entries.append(
                    LedgerEntry(
                        sku: original.sku, location: original.location, event: .reverseConsume, quantity: quantity,
                        unitCost: original.unitCost, value: value, relieved: relieved, ref: order.number,
                        date: context.date, operation: context.operationText))
            default:
                preconditionFailure("a receipt writes only SCRAP, CONSUME, PRODUCE and PROCESS_LOSS")
            }
            scratch[key] = valuation
        }
        order.receipts[receiptIndex].voided = true
        if let operation = context.operation { order.receipts[receiptIndex].voidedBy = operation }
        if !closedConcurrently {
            order.status = try OrderLifecycle(status: order.status).next(
                .voidReceipt, order: order.number, fullyReceived: order.isFullyReceived)
        }
        inventory.commit(scratch)
        orders[order.number] = order
        return entries
    }
}
