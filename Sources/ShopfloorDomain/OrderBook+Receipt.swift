extension OrderBook {
    mutating func addReceipt(
        _ add: AddReceipt, context: ApplyContext, policy: some ApplyPolicy, inventory: inout Inventory,
        log: inout ConflictLog
    ) throws(DomainError) -> [LedgerEntry] {
        var order = try order(resolveOrder(add.order, context))
        // An order whose state here takes no receipt. A merged receipt is a physical fact and is kept all the same:
        // rules 2 and 4 on a closed order, rule 1 on one not in production here (its start was refused).
        var closedConcurrently = false
        var notStarted = false
        do {
            _ = try OrderLifecycle(status: order.status).next(.receive, order: order.number)
        } catch {
            try policy.tolerate(error)
            closedConcurrently = order.status.isClosed
            notStarted = !closedConcurrently
            if notStarted {
                log.flag(
                    .receiptAfterClose, subject: order.number.rawValue, context: context,
                    operations: [context.operationText],
                    outcome: "receipt kept on the \(order.status.rawValue) order",
                    explanation:
                        "the receipt's author saw \(order.number) in production; here it is \(order.status.rawValue)")
            }
        }
        try Catalog.validateCode(add.receipt, what: "receipt id")
        var receiptID = add.receipt
        if receiptOrders[add.receipt] != nil {
            try policy.tolerate(.duplicateReceipt(add.receipt))
            receiptID = Self.renamed(add.receipt, author: context.author) { receiptOrders[$0] != nil }
            let existingOrder = orders[receiptOrders[add.receipt]!]!
            let existing = existingOrder.receipts.first { $0.id == add.receipt }?.operation
            log.flag(
                .duplicateNumber, subject: add.receipt, context: context,
                operations: [existing, context.operationText].compactMap { $0 },
                outcome: "both receipts kept; the later one is now \(receiptID)",
                explanation: "two devices chose receipt id \(add.receipt) offline")
        }
        guard !add.lines.isEmpty else { throw .emptyReceipt(order.number) }
        let date = add.date ?? context.date
        try validateDate(date)
        var seen = Set<SKU>()
        var lineIndices: [Int] = []
        for line in add.lines {
            let index = try order.lineIndex(line.sku)
            guard seen.insert(line.sku).inserted else {
                throw .duplicateReceiptLine(order: order.number, sku: line.sku)
            }
            guard line.quantity.isPositive else {
                throw .nonPositiveQuantity(
                    context: "receipt on \(order.number), line \(line.sku)", quantity: line.quantity)
            }
            let orderLine = order.lines[index]
            guard orderLine.unitCost != nil else { throw .costNotSet(order: order.number, sku: line.sku) }
            let limit = try arithmetic {
                orderLine.quantity + (try orderLine.quantity.proportion(order.tolerancePercent, of: Amount.hundred))
            }
            let lost = add.loss?.first { $0.sku == line.sku }?.quantity ?? .zero
            if orderLine.progress + line.quantity + lost > limit {
                let error = DomainError.overReceipt(
                    order: order.number, sku: line.sku, ordered: orderLine.quantity, received: orderLine.produced,
                    receiving: line.quantity + lost, tolerancePercent: order.tolerancePercent)
                try policy.tolerate(error)
                // Rule 3: concurrent receipts past the tolerance are all kept.
                let others = order.visibleReceipts.filter { receipt in
                    receipt.lines.contains { $0.sku == line.sku } && !(receipt.operation.map(context.saw) ?? true)
                }
                log.flag(
                    .overReceipt, subject: order.number.rawValue, context: context,
                    operations: others.compactMap(\.operation) + [context.operationText],
                    outcome:
                        "kept: \(line.sku) received \(orderLine.progress + line.quantity + lost) of \(orderLine.quantity)",
                    explanation: error.description)
            }
            lineIndices.append(index)
        }
        if closedConcurrently {
            let wasCancelled = order.status == .cancelled
            log.flag(
                wasCancelled ? .cancelVersusReceipt : .receiptAfterClose, subject: order.number.rawValue,
                context: context,
                // An order closed by no operation is named "", as conflicts have always stored it.
                operations: [order.closedBy ?? "", context.operationText],
                outcome: wasCancelled
                    ? "order closed short (Completed) keeping receipt \(receiptID)"
                    : "receipt \(receiptID) kept on the closed order",
                explanation: "receipt \(receiptID) was recorded while another device "
                    + (wasCancelled ? "cancelled" : "closed") + " \(order.number); receipts are physical facts")
        }

        // Stated consumption is of an input of a line received here; scrap of any input of the order.
        let receivedInputs = Set(lineIndices.flatMap { order.lines[$0].inputs.map(\.sku) })
        let losses = try Self.lossLines(add.loss ?? [], of: order, received: add.lines)
        let stated = try Self.inputLines(add.consumed ?? [], of: order, inputs: receivedInputs, policy: policy)
        let scraps = try Self.inputLines(
            add.scrap ?? [], of: order, inputs: Set(order.inputs.map(\.sku)), policy: policy)

        // Everything below computes on copies; the shop changes only at the end.
        var scratch: [StockKey: Valuation] = [:]
        func withValuation<T>(
            _ key: StockKey, _ body: (inout Valuation) throws(AmountError) -> T
        ) throws(DomainError) -> T {
            if scratch[key] == nil { scratch[key] = inventory.valuations[key] ?? Valuation() }
            do {
                // In place (no copy out and back): an error leaves only the scratch copy changed.
                return try Self.update(&scratch[key]!, body)
            } catch { throw .arithmetic(error) }
        }
        var entries: [LedgerEntry] = []
        var produceEntries: [LedgerEntry] = []
        var entryLines: [SKU] = []
        let wip = order.wipLocation
        // Scrap, and stated consumption of what is no input here (a merged receipt only), leave WIP first. Both are
        // costed like consumption: part of a production order's material cost, carried by the first line.
        var extraMaterial = Amount.zero
        let strays = stated.filter { !receivedInputs.contains($0.sku) }
        for (line, event) in scraps.map({ ($0, LedgerEvent.scrap) }) + strays.map({ ($0, LedgerEvent.consume) }) {
            let value = try withValuation(StockKey(sku: line.sku, location: wip)) {
                (v: inout Valuation) throws(AmountError) in try v.issue(quantity: line.quantity)
            }
            extraMaterial -= value
            if event == .scrap, let input = order.inputs.firstIndex(where: { $0.sku == line.sku }) {
                order.inputs[input].scrapped += line.quantity
            }
            entryLines.append(add.lines[0].sku)
            entries.append(
                LedgerEntry(
                    sku: line.sku, location: wip, event: event, quantity: -line.quantity,
                    unitCost: try arithmetic { try (-value).divided(by: line.quantity) }, value: value,
                    ref: order.number, date: date, operation: context.operationText))
        }
        var statedLeft = Dictionary(uniqueKeysWithValues: stated.map { ($0.sku, $0.quantity) })
        for (position, (line, index)) in zip(add.lines, lineIndices).enumerated() {
            let orderLine = order.lines[index]
            let lost = losses[line.sku] ?? .zero
            let newProduced = orderLine.produced + line.quantity
            // Lost output consumes its inputs like good output: progress is produced and lost.
            let newProgress = orderLine.progress + line.quantity + lost
            var materialValue = position == 0 ? extraMaterial : Amount.zero
            for input in orderLine.inputs {
                let consumed = orderLine.consumed[input.sku] ?? .zero
                let target: Amount
                if let quantity = statedLeft.removeValue(forKey: input.sku) {
                    // Stated consumption overrides the basis for this input (on the first line that has it).
                    target = consumed + quantity
                } else if stated.contains(where: { $0.sku == input.sku }) {
                    continue
                } else {
                    // Cumulative proportion: after this receipt the line has consumed base × produced ÷ ordered,
                    // rounded once; so the completing receipt takes the exact remainder and rounding never drifts.
                    let base = try Self.basis(input, of: order)
                    target = try arithmetic { try base.proportion(newProgress, of: orderLine.quantity) }
                }
                let quantity = target - consumed
                guard quantity.isPositive else { continue }
                let key = StockKey(sku: input.sku, location: wip)
                let value = try withValuation(key) { (v: inout Valuation) throws(AmountError) in
                    try v.issue(quantity: quantity)
                }
                guard let commitment = order.inputs.firstIndex(where: { $0.sku == input.sku }) else { continue }
                let relieved = Amount.minimum(quantity, order.inputs[commitment].allocated)
                order.inputs[commitment].allocated -= relieved
                order.lines[index].consumed[input.sku] = target
                materialValue -= value
                entryLines.append(line.sku)
                entries.append(
                    LedgerEntry(
                        sku: input.sku, location: wip, event: .consume, quantity: -quantity,
                        unitCost: try arithmetic { try (-value).divided(by: quantity) }, value: value,
                        relieved: relieved, ref: order.number, date: date, operation: context.operationText))
            }
            let unitCost = orderLine.unitCost!
            let productValue = try arithmetic {
                let conversion = try unitCost.multiplied(by: line.quantity)
                return order.kind == .production ? conversion + materialValue : conversion
            }
            let key = StockKey(sku: line.sku, location: order.fgLocation)
            let value = try withValuation(key) { (v: inout Valuation) throws(AmountError) in
                try v.receive(quantity: line.quantity, value: productValue)
            }
            let relieved = Amount.minimum(line.quantity, orderLine.onOrder)
            order.lines[index].onOrder -= relieved
            order.lines[index].produced = newProduced
            produceEntries.append(
                LedgerEntry(
                    sku: line.sku, location: order.fgLocation, event: .produce, quantity: line.quantity,
                    unitCost: try arithmetic { try productValue.divided(by: line.quantity) }, value: value,
                    relieved: relieved, ref: order.number, date: date, operation: context.operationText))
            if lost.isPositive {
                // Nothing is produced for it, so what is on order for it is relieved; its material cost is carried
                // by the good output above.
                let lossRelieved = Amount.minimum(lost, order.lines[index].onOrder)
                order.lines[index].onOrder -= lossRelieved
                order.lines[index].lost += lost
                produceEntries.append(
                    LedgerEntry(
                        sku: line.sku, location: order.fgLocation, event: .processLoss, quantity: -lost,
                        relieved: lossRelieved, ref: order.number, date: date, operation: context.operationText))
            }
        }
        entries += produceEntries
        entryLines += produceEntries.map(\.sku)
        var receipt = Receipt(id: receiptID, order: order.number, date: date, lines: add.lines)
        receipt.entries = entries
        receipt.entryLines = entryLines
        lastEntryLines = entryLines
        receipt.operation = context.operation
        receipt.creationIndex = receiptsCreated
        receiptsCreated += 1
        if receiptID != add.receipt {
            receipt.requestedID = add.receipt
            receiptAliases[add.receipt, default: []].append(receiptID)
        }
        if closedConcurrently {
            order.status = .completed
        } else if notStarted {
            order.status = order.isFullyReceived ? .received : .production
        } else {
            order.status = try OrderLifecycle(status: order.status).next(
                .receive, order: order.number, fullyReceived: order.isFullyReceived)
        }
        // Nothing below throws. The stored copy goes first, so the receipts array is appended to in place rather
        // than copied whole.
        orders[order.number] = nil
        order.receipts.append(receipt)
        inventory.commit(scratch)
        receiptOrders[receiptID] = order.number
        orders[order.number] = order
        return entries
    }

    /// What the line's input consumes in all when the line is fully received: its snapshot (`bom`), or its share of
    /// what was transferred for the order less what was scrapped (`transferred`).
    static func basis(_ input: BOMLine, of order: Order) throws(DomainError) -> Amount {
        guard order.basis == .transferred,
            let commitment = order.inputs.first(where: { $0.sku == input.sku }), commitment.required.isPositive
        else { return input.quantity }
        let available = Amount.maximum(.zero, commitment.transferred - commitment.scrapped)
        return try arithmetic { try available.proportion(input.quantity, of: commitment.required) }
    }

    /// A receipt's process loss, by output: each a positive quantity of an output this receipt receives, once.
    static func lossLines(
        _ lines: [BOMLine], of order: Order, received: [BOMLine]
    ) throws(DomainError) -> [SKU: Amount] {
        var losses: [SKU: Amount] = [:]
        for line in lines {
            guard received.contains(where: { $0.sku == line.sku }) else {
                throw .notAnOutput(order: order.number, sku: line.sku, outputs: received.map(\.sku))
            }
            guard losses[line.sku] == nil else { throw .duplicateReceiptLine(order: order.number, sku: line.sku) }
            guard line.quantity.isPositive else {
                throw .nonPositiveQuantity(
                    context: "loss on \(order.number), output \(line.sku)", quantity: line.quantity)
            }
            losses[line.sku] = line.quantity
        }
        return losses
    }

    /// A receipt's stated consumption or scrap: positive quantities of the order's inputs, each SKU once. A merged
    /// receipt keeps a line for an SKU that is no input here.
    static func inputLines(
        _ lines: [BOMLine], of order: Order, inputs: Set<SKU>, policy: some ApplyPolicy
    ) throws(DomainError) -> [BOMLine] {
        var seen = Set<SKU>()
        for line in lines {
            guard seen.insert(line.sku).inserted else {
                throw .duplicateReceiptLine(order: order.number, sku: line.sku)
            }
            guard line.quantity.isPositive else {
                throw .nonPositiveQuantity(
                    context: "receipt on \(order.number), input \(line.sku)", quantity: line.quantity)
            }
            if !inputs.contains(line.sku) {
                try policy.tolerate(.notAnInput(order: order.number, sku: line.sku, inputs: inputs.sorted()))
            }
        }
        return lines
    }

    private static func update<T>(
        _ valuation: inout Valuation, _ body: (inout Valuation) throws(AmountError) -> T
    ) throws(AmountError) -> T {
        try body(&valuation)
    }
}
