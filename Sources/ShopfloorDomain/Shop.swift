/// The whole domain state of one replica: catalog, orders, valuations and positions.
///
/// ``apply(_:context:)`` is the only way to change it. A refused command throws a ``DomainError`` and leaves
/// the shop exactly as it was; an accepted one returns the ledger entries it wrote, in order.
public struct Shop: Sendable {
    public var catalog = Catalog()
    public internal(set) var orders: [String: Order] = [:]
    /// Receipt id → order number.
    public internal(set) var receiptOrders: [String: String] = [:]
    public internal(set) var valuations: [StockKey: Valuation] = [:]
    /// Positions maintained from the entries written.
    public internal(set) var positions: [StockKey: Position] = [:]

    public init() {}

    /// Applies one command; on error nothing changes.
    @discardableResult
    public mutating func apply(_ command: Command, context: ApplyContext) throws(DomainError) -> [LedgerEntry] {
        let entries: [LedgerEntry]
        switch command {
        case .addItem(let item):
            try catalog.add(item)
            entries = []
        case .addLocation(let location):
            try catalog.add(location)
            entries = []
        case .setBOM(let bom):
            try catalog.setBOM(bom.parent, lines: bom.lines)
            entries = []
        case .adjustStock(let adjust): entries = try adjustStock(adjust, context: context)
        case .transferStock(let transfer): entries = try transferStock(transfer, context: context)
        case .createOrder(let create):
            try createOrder(create)
            entries = []
        case .setCost(let setCost):
            try self.setCost(setCost)
            entries = []
        case .editOrder(let edit):
            try editOrder(edit)
            entries = []
        case .transition(let transition): entries = try self.transition(transition, context: context)
        case .addReceipt(let receipt): entries = try addReceipt(receipt, context: context)
        case .voidReceipt(let void): entries = try voidReceipt(void, context: context)
        }
        for entry in entries {
            let key = StockKey(sku: entry.sku, location: entry.location)
            positions[key, default: Position(sku: entry.sku, location: entry.location)].apply(entry.delta)
        }
        return entries
    }

    public func order(_ number: String) throws(DomainError) -> Order {
        guard let order = orders[number] else { throw .unknownOrder(number) }
        return order
    }

    public func position(sku: String, location: String) -> Position {
        positions[StockKey(sku: sku, location: location)] ?? Position(sku: sku, location: location)
    }

    public func valuation(sku: String, location: String) -> Valuation {
        valuations[StockKey(sku: sku, location: location)] ?? Valuation()
    }

    // MARK: Stock

    mutating func adjustStock(_ adjust: AdjustStock, context: ApplyContext) throws(DomainError) -> [LedgerEntry] {
        _ = try catalog.item(adjust.sku)
        try catalog.requireLocation(adjust.location)
        guard !adjust.quantity.isZero else { throw .zeroQuantity(context: "adjust \(adjust.sku)") }
        let key = StockKey(sku: adjust.sku, location: adjust.location)
        var valuation = valuations[key] ?? Valuation()
        let value: Amount
        var unitCost = adjust.unitCost
        if adjust.quantity.isPositive {
            if let cost = adjust.unitCost, cost.isNegative {
                throw .negativeCost(context: "adjust \(adjust.sku)", cost: cost)
            }
            value = try arithmetic {
                let rate = try adjust.unitCost ?? valuation.rate()
                unitCost = rate
                return try valuation.receive(quantity: adjust.quantity, value: adjust.quantity.multiplied(by: rate))
            }
        } else {
            guard adjust.unitCost == nil else { throw .unitCostOnOutgoing(sku: adjust.sku) }
            value = try arithmetic { try valuation.issue(quantity: adjust.quantity.magnitude) }
            unitCost = try arithmetic { try value.divided(by: adjust.quantity) }
        }
        valuations[key] = valuation
        return [
            LedgerEntry(
                sku: adjust.sku, location: adjust.location, event: .adjust, quantity: adjust.quantity,
                unitCost: unitCost, value: value, date: context.date, operation: context.operation)
        ]
    }

    mutating func transferStock(_ transfer: TransferStock, context: ApplyContext) throws(DomainError) -> [LedgerEntry] {
        _ = try catalog.item(transfer.sku)
        try catalog.requireLocation(transfer.from)
        try catalog.requireLocation(transfer.to)
        guard transfer.from != transfer.to else { throw .sameLocation(transfer.from) }
        guard transfer.quantity.isPositive else {
            throw .nonPositiveQuantity(context: "transfer \(transfer.sku)", quantity: transfer.quantity)
        }
        let sourceKey = StockKey(sku: transfer.sku, location: transfer.from)
        let targetKey = StockKey(sku: transfer.sku, location: transfer.to)
        var source = valuations[sourceKey] ?? Valuation()
        var target = valuations[targetKey] ?? Valuation()
        let (outValue, inValue, rate) = try arithmetic {
            let outValue = try source.issue(quantity: transfer.quantity)
            let inValue = try target.receive(quantity: transfer.quantity, value: -outValue)
            return (outValue, inValue, try (-outValue).divided(by: transfer.quantity))
        }
        valuations[sourceKey] = source
        valuations[targetKey] = target
        return [
            LedgerEntry(
                sku: transfer.sku, location: transfer.from, event: .transfer, quantity: -transfer.quantity,
                unitCost: rate, value: outValue, date: context.date, operation: context.operation),
            LedgerEntry(
                sku: transfer.sku, location: transfer.to, event: .transfer, quantity: transfer.quantity,
                unitCost: rate, value: inValue, date: context.date, operation: context.operation),
        ]
    }

    // MARK: Orders

    mutating func createOrder(_ create: CreateOrder) throws(DomainError) {
        try Catalog.validateCode(create.number, what: "order number")
        guard orders[create.number] == nil else { throw .duplicateOrder(create.number) }
        try catalog.requireLocation(create.location)
        if let due = create.due { try validateDate(due) }
        try Self.validateTolerance(create.tolerancePercent)
        guard !create.outputs.isEmpty else { throw .emptyOrder(create.number) }
        var seen = Set<String>()
        for output in create.outputs {
            let item = try catalog.item(output.sku)
            guard item.kind != .material else { throw .notProducible(sku: output.sku, kind: item.kind) }
            guard catalog.boms[output.sku] != nil else { throw .noBOM(output.sku) }
            guard output.quantity.isPositive else {
                throw .nonPositiveQuantity(context: "order \(create.number), output \(output.sku)", quantity: output.quantity)
            }
            if let cost = output.unitCost, cost.isNegative {
                throw .negativeCost(context: "order \(create.number), output \(output.sku)", cost: cost)
            }
            guard seen.insert(output.sku).inserted else { throw .duplicateOutput(order: create.number, sku: output.sku) }
        }
        orders[create.number] = Order(
            number: create.number, kind: create.kind, location: create.location, due: create.due,
            notes: create.notes, tolerancePercent: create.tolerancePercent,
            lines: create.outputs.map { OrderLine(sku: $0.sku, quantity: $0.quantity, unitCost: $0.unitCost) })
    }

    static func validateTolerance(_ tolerance: Amount) throws(DomainError) {
        guard !tolerance.isNegative, tolerance <= Amount(1000) else { throw .invalidTolerance(tolerance) }
    }

    mutating func setCost(_ setCost: SetCost) throws(DomainError) {
        var order = try order(setCost.order)
        _ = try OrderLifecycle(status: order.status).next(.edit, order: order.number)
        let index = try order.lineIndex(setCost.sku)
        guard !setCost.unitCost.isNegative else {
            throw .negativeCost(context: "order \(order.number), output \(setCost.sku)", cost: setCost.unitCost)
        }
        order.lines[index].unitCost = setCost.unitCost
        orders[order.number] = order
    }

    mutating func editOrder(_ edit: EditOrder) throws(DomainError) {
        var order = try order(edit.order)
        _ = try OrderLifecycle(status: order.status).next(.edit, order: order.number)
        if let due = edit.due {
            if !due.isEmpty { try validateDate(due) }
            order.due = due.isEmpty ? nil : due
        }
        if let notes = edit.notes { order.notes = notes }
        if let tolerance = edit.tolerancePercent {
            try Self.validateTolerance(tolerance)
            order.tolerancePercent = tolerance
        }
        orders[order.number] = order
    }

    mutating func transition(_ transition: OrderTransition, context: ApplyContext) throws(DomainError) -> [LedgerEntry] {
        var order = try order(transition.order)
        var lifecycle = OrderLifecycle(status: order.status)
        try lifecycle.handle(transition.action.event, order: order.number)
        if transition.action == .cancel, !order.visibleReceipts.isEmpty {
            throw .cancelWithReceipts(order: order.number, receipts: order.visibleReceipts.map(\.id))
        }
        func entry(_ sku: String, _ event: LedgerEvent, _ quantity: Amount) -> LedgerEntry {
            LedgerEntry(
                sku: sku, location: order.location, event: event, quantity: quantity, ref: order.number,
                date: context.date, operation: context.operation)
        }
        var entries: [LedgerEntry] = []
        switch transition.action {
        case .enter:
            var required: [String: Amount] = [:]
            for index in order.lines.indices {
                let line = order.lines[index]
                let inputs = try catalog.explode(line.sku, quantity: line.quantity, levels: order.kind.explosion)
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
        }
        order.status = lifecycle.status
        orders[order.number] = order
        return entries
    }

    // MARK: Receipts

    mutating func addReceipt(_ add: AddReceipt, context: ApplyContext) throws(DomainError) -> [LedgerEntry] {
        var order = try order(add.order)
        _ = try OrderLifecycle(status: order.status).next(.receive, order: order.number)
        try Catalog.validateCode(add.receipt, what: "receipt id")
        guard receiptOrders[add.receipt] == nil else { throw .duplicateReceipt(add.receipt) }
        guard !add.lines.isEmpty else { throw .emptyReceipt(order.number) }
        let date = add.date ?? context.date
        try validateDate(date)
        var seen = Set<String>()
        var lineIndices: [Int] = []
        for line in add.lines {
            let index = try order.lineIndex(line.sku)
            guard seen.insert(line.sku).inserted else { throw .duplicateReceiptLine(order: order.number, sku: line.sku) }
            guard line.quantity.isPositive else {
                throw .nonPositiveQuantity(context: "receipt on \(order.number), line \(line.sku)", quantity: line.quantity)
            }
            let orderLine = order.lines[index]
            guard orderLine.unitCost != nil else { throw .costNotSet(order: order.number, sku: line.sku) }
            let limit = try arithmetic {
                orderLine.quantity + (try orderLine.quantity.proportion(order.tolerancePercent, of: Amount.hundred))
            }
            guard orderLine.produced + line.quantity <= limit else {
                throw .overReceipt(
                    order: order.number, sku: line.sku, ordered: orderLine.quantity, received: orderLine.produced,
                    receiving: line.quantity, tolerancePercent: order.tolerancePercent)
            }
            lineIndices.append(index)
        }

        // Everything below computes on copies; the shop changes only at the end.
        var scratch: [StockKey: Valuation] = [:]
        func withValuation<T>(_ key: StockKey, _ body: (inout Valuation) throws(AmountError) -> T) throws(DomainError) -> T {
            var valuation = scratch[key] ?? valuations[key] ?? Valuation()
            do {
                let result = try body(&valuation)
                scratch[key] = valuation
                return result
            } catch { throw .arithmetic(error) }
        }
        var entries: [LedgerEntry] = []
        var produceEntries: [LedgerEntry] = []
        for (line, index) in zip(add.lines, lineIndices) {
            let orderLine = order.lines[index]
            let newProduced = orderLine.produced + line.quantity
            var materialValue = Amount.zero
            for input in orderLine.inputs {
                let consumed = orderLine.consumed[input.sku] ?? .zero
                let quantity: Amount = try arithmetic {
                    if newProduced < orderLine.quantity {
                        return try input.quantity.proportion(line.quantity, of: orderLine.quantity)
                    }
                    // The completing receipt takes the exact remainder; anything over is proportional.
                    let over = newProduced - Amount.maximum(orderLine.quantity, orderLine.produced)
                    let remainder = orderLine.produced < orderLine.quantity ? input.quantity - consumed : .zero
                    return remainder + (try input.quantity.proportion(over, of: orderLine.quantity))
                }
                guard quantity.isPositive else { continue }
                let key = StockKey(sku: input.sku, location: order.location)
                let value = try withValuation(key) { (v: inout Valuation) throws(AmountError) in
                    try v.issue(quantity: quantity)
                }
                let commitment = order.inputs.firstIndex { $0.sku == input.sku }!
                let relieved = Amount.minimum(quantity, order.inputs[commitment].allocated)
                order.inputs[commitment].allocated -= relieved
                order.lines[index].consumed[input.sku] = consumed + quantity
                materialValue -= value
                entries.append(
                    LedgerEntry(
                        sku: input.sku, location: order.location, event: .consume, quantity: -quantity,
                        unitCost: try arithmetic { try (-value).divided(by: quantity) }, value: value,
                        relieved: relieved, ref: order.number, date: date, operation: context.operation))
            }
            let unitCost = orderLine.unitCost!
            let productValue = try arithmetic {
                let conversion = try unitCost.multiplied(by: line.quantity)
                return order.kind == .production ? conversion + materialValue : conversion
            }
            let key = StockKey(sku: line.sku, location: order.location)
            let value = try withValuation(key) { (v: inout Valuation) throws(AmountError) in
                try v.receive(quantity: line.quantity, value: productValue)
            }
            let relieved = Amount.minimum(line.quantity, orderLine.onOrder)
            order.lines[index].onOrder -= relieved
            order.lines[index].produced = newProduced
            produceEntries.append(
                LedgerEntry(
                    sku: line.sku, location: order.location, event: .produce, quantity: line.quantity,
                    unitCost: try arithmetic { try productValue.divided(by: line.quantity) }, value: value,
                    relieved: relieved, ref: order.number, date: date, operation: context.operation))
        }
        entries += produceEntries
        var receipt = Receipt(id: add.receipt, order: order.number, date: date, lines: add.lines)
        receipt.entries = entries
        order.receipts.append(receipt)
        order.status = try OrderLifecycle(status: order.status).next(
            .receive, order: order.number, fullyReceived: order.isFullyReceived)
        valuations.merge(scratch) { $1 }
        receiptOrders[add.receipt] = order.number
        orders[order.number] = order
        return entries
    }

    mutating func voidReceipt(_ void: VoidReceipt, context: ApplyContext) throws(DomainError) -> [LedgerEntry] {
        guard let number = receiptOrders[void.receipt] else { throw .unknownReceipt(void.receipt) }
        var order = try order(number)
        let receiptIndex = order.receipts.firstIndex { $0.id == void.receipt }!
        let receipt = order.receipts[receiptIndex]
        guard !receipt.voided else { throw .receiptAlreadyVoided(void.receipt) }
        _ = try OrderLifecycle(status: order.status).next(.voidReceipt, order: order.number)

        var scratch: [StockKey: Valuation] = [:]
        var entries: [LedgerEntry] = []
        // Products leave first, then the materials come back, mirroring the receipt.
        for original in receipt.entries.reversed() {
            let key = StockKey(sku: original.sku, location: original.location)
            var valuation = scratch[key] ?? valuations[key] ?? Valuation()
            let quantity = original.quantity.magnitude
            switch original.event {
            case .produce:
                let value = try arithmetic { try valuation.issue(quantity: quantity) }
                let index = try order.lineIndex(original.sku)
                order.lines[index].produced -= quantity
                order.lines[index].onOrder += original.relieved
                entries.append(
                    LedgerEntry(
                        sku: original.sku, location: original.location, event: .reverseProduce, quantity: -quantity,
                        unitCost: try arithmetic { try (-value).divided(by: quantity) }, value: value,
                        relieved: original.relieved, ref: order.number, date: context.date,
                        operation: context.operation))
            case .consume:
                let value = try arithmetic { try valuation.receive(quantity: quantity, value: -(original.value ?? .zero)) }
                let commitment = order.inputs.firstIndex { $0.sku == original.sku }!
                order.inputs[commitment].allocated += original.relieved
                entries.append(
                    LedgerEntry(
                        sku: original.sku, location: original.location, event: .reverseConsume, quantity: quantity,
                        unitCost: original.unitCost, value: value, relieved: original.relieved, ref: order.number,
                        date: context.date, operation: context.operation))
            default:
                preconditionFailure("a receipt writes only CONSUME and PRODUCE")
            }
            scratch[key] = valuation
        }
        // Which line consumed what: undo in the same proportions the receipt wrote them.
        var consumedBySKU: [String: Amount] = [:]
        for original in receipt.entries where original.event == .consume {
            consumedBySKU[original.sku, default: .zero] += original.quantity.magnitude
        }
        for line in receipt.lines {
            let index = try order.lineIndex(line.sku)
            for input in order.lines[index].inputs {
                guard var remaining = consumedBySKU[input.sku], remaining.isPositive else { continue }
                let consumed = order.lines[index].consumed[input.sku] ?? .zero
                let share = Amount.minimum(remaining, consumed)
                order.lines[index].consumed[input.sku] = consumed - share
                remaining -= share
                consumedBySKU[input.sku] = remaining
            }
        }
        order.receipts[receiptIndex].voided = true
        order.status = try OrderLifecycle(status: order.status).next(
            .voidReceipt, order: order.number, fullyReceived: order.isFullyReceived)
        valuations.merge(scratch) { $1 }
        orders[order.number] = order
        return entries
    }

    /// Runs exact arithmetic, turning an overflow into a refusal.
    func arithmetic<T>(_ body: () throws -> T) throws(DomainError) -> T {
        do {
            return try body()
        } catch let error as AmountError {
            throw .arithmetic(error)
        } catch let error as DomainError {
            throw error
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
    }
}
