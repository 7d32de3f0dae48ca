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
    /// Every conflict, in fold order.
    public internal(set) var conflicts: [Conflict] = []
    /// The conflicts raised by the last successful ``apply(_:context:)``.
    public private(set) var lastConflicts: [Conflict] = []
    /// Conflict id → acknowledgement.
    public internal(set) var acknowledgements: [String: Acknowledgement] = [:]
    /// Field → last writer (rule 5).
    public internal(set) var fieldWrites: [FieldKey: FieldWrite] = [:]
    /// Requested order number → the numbers of renamed orders that asked for it (rule 7).
    public internal(set) var orderAliases: [String: [String]] = [:]
    /// Requested receipt id → renamed receipt ids.
    public internal(set) var receiptAliases: [String: [String]] = [:]
    /// For each ledger entry of the last successful receipt, the output line (SKU) it belongs to; nil otherwise.
    public private(set) var lastEntryLines: [String]?
    /// Conflicts raised by the command being applied; committed only if it succeeds.
    var pending: [Conflict] = []
    /// Orders created so far (the next order's creation index).
    var ordersCreated = 0
    /// Receipts recorded so far (the next receipt's creation index).
    var receiptsCreated = 0

    public init() {}

    /// Applies one command; on error nothing changes.
    @discardableResult
    public mutating func apply(_ command: Command, context: ApplyContext) throws(DomainError) -> [LedgerEntry] {
        pending = []
        lastEntryLines = nil
        if context.mode == .local, let violation = command.boundsViolation() { throw .outOfBounds(violation) }
        let entries: [LedgerEntry]
        switch command {
        case .addItem(let item):
            try addItem(item, context: context)
            entries = []
        case .addLocation(let location):
            try addLocation(location, context: context)
            entries = []
        case .setBOM(let bom):
            try setBOM(bom, context: context)
            entries = []
        case .adjustStock(let adjust): entries = try adjustStock(adjust, context: context)
        case .transferStock(let transfer): entries = try transferStock(transfer, context: context)
        case .createOrder(let create):
            try createOrder(create, context: context)
            entries = []
        case .setCost(let setCost):
            try self.setCost(setCost, context: context)
            entries = []
        case .editOrder(let edit):
            try editOrder(edit, context: context)
            entries = []
        case .transition(let transition): entries = try self.transition(transition, context: context)
        case .addReceipt(let receipt): entries = try addReceipt(receipt, context: context)
        case .voidReceipt(let void): entries = try voidReceipt(void, context: context)
        case .acknowledgeConflict(let ack):
            try acknowledge(ack, context: context)
            entries = []
        }
        for entry in entries {
            // One hash lookup per entry: the position is changed in place.
            let (before, after) = Self.apply(
                entry,
                to: &positions[
                    StockKey(sku: entry.sku, location: entry.location),
                    default: Position(
                        sku: entry.sku, location: entry.location)])
            if entry.quantity.isNegative, after.isNegative, !before.isNegative {
                flag(
                    .negativeStock, subject: "\(entry.sku)@\(entry.location)", context: context,
                    operations: [context.operation], outcome: "kept; on hand is now \(after)",
                    explanation: "\(entry.event.rawValue) of \(entry.quantity.magnitude) took \(entry.sku) at "
                        + "\(entry.location) below zero (was \(before)); count the stock or adjust it")
            }
        }
        conflicts += pending
        lastConflicts = pending
        pending = []
        return entries
    }

    private static func update<T>(
        _ valuation: inout Valuation, _ body: (inout Valuation) throws(AmountError) -> T
    ) throws(AmountError) -> T {
        try body(&valuation)
    }

    /// Applies an entry's delta to its position; returns on hand before and after.
    private static func apply(_ entry: LedgerEntry, to position: inout Position) -> (before: Amount, after: Amount) {
        let before = position.onHand
        position.apply(entry.delta)
        return (before, position.onHand)
    }

    /// Records a conflict raised by the command being applied.
    mutating func flag(
        _ kind: Conflict.Kind, subject: String, context: ApplyContext, operations: [String], outcome: String,
        explanation: String
    ) {
        let conflict = Conflict(
            kind: kind, subject: subject, trigger: context.operation, operations: operations, outcome: outcome,
            explanation: explanation)
        if let index = pending.firstIndex(where: { $0.id == conflict.id }) {
            // One operation editing several fields against concurrent writes: one conflict names them all.
            guard kind == .concurrentEdit else { return }
            var merged = pending[index]
            // The triggering operation stays last; the new field's other writes go before it.
            let trigger = merged.operations.removeLast()
            merged.operations += operations.filter { $0 != trigger && !merged.operations.contains($0) } + [trigger]
            merged.outcome += "; " + outcome
            merged.explanation += "; " + explanation
            pending[index] = merged
            return
        }
        pending.append(conflict)
    }

    /// Records an operation that could not be applied in merge mode (it changes nothing).
    public mutating func flagRefused(subject: String, context: ApplyContext, explanation: String) {
        pending = []
        flag(
            .refusedOperation, subject: subject, context: context, operations: [context.operation],
            outcome: "not applied", explanation: explanation)
        conflicts += pending
        lastConflicts = pending
        pending = []
    }

    public func order(_ number: String) throws(DomainError) -> Order {
        guard let order = orders[number] else { throw .unknownOrder(number) }
        return order
    }

    /// The order an operation means by `number`: with duplicates (rule 7), the one it had seen created.
    func resolveOrder(_ number: String, _ context: ApplyContext) -> String {
        let candidates = ([number] + (orderAliases[number] ?? [])).filter { orders[$0] != nil }
        guard candidates.count > 1 else { return candidates.first ?? number }
        let seen = candidates.filter { orders[$0]!.createdBy.map(context.saw) ?? true }
        if seen.count == 1 { return seen[0] }
        if seen.contains(number) { return number }
        // The author saw several but not the plain one: it meant the one it had under that number, the earliest.
        return seen.min { (orders[$0]!.creationIndex ?? 0) < (orders[$1]!.creationIndex ?? 0) } ?? number
    }

    /// The receipt an operation means by `id` (see ``resolveOrder(_:_:)``).
    func resolveReceipt(_ id: String, _ context: ApplyContext) -> String {
        let candidates = ([id] + (receiptAliases[id] ?? [])).filter { receiptOrders[$0] != nil }
        guard candidates.count > 1 else { return candidates.first ?? id }
        let seen = candidates.filter { candidate in
            let order = orders[receiptOrders[candidate]!]!
            return order.receipts.first { $0.id == candidate }?.operation.map(context.saw) ?? true
        }
        if seen.count == 1 { return seen[0] }
        if seen.contains(id) { return id }
        func index(_ candidate: String) -> Int {
            orders[receiptOrders[candidate]!]!.receipts.first { $0.id == candidate }?.creationIndex ?? 0
        }
        return seen.min { index($0) < index($1) } ?? id
    }

    /// Rule 5: records a field write. The writes this one did not see stay standing beside it as rivals; when any
    /// of them holds another value, one conflict lists every standing value (with three concurrent writers the
    /// conflict of the third lists all three).
    mutating func write(field key: FieldKey, value: String, subject: String, context: ApplyContext) {
        var standing: [FieldWrite] = []
        if let previous = fieldWrites[key] {
            standing = (previous.rivals + [FieldWrite(operation: previous.operation, value: previous.value)])
                .filter { !context.saw($0.operation) }
        }
        if standing.contains(where: { $0.value != value }) {
            let values = (standing + [FieldWrite(operation: context.operation, value: value)])
                .map { "\($0.value) by \($0.operation)" }
            flag(
                .concurrentEdit, subject: subject, context: context,
                operations: standing.map(\.operation) + [context.operation],
                outcome: "\(key) = \(value) (the later in canonical order wins)",
                explanation: "concurrent edits of \(key): " + values.joined(separator: ", "))
        }
        fieldWrites[key] = FieldWrite(operation: context.operation, value: value, rivals: standing)
    }

    // MARK: Catalog

    mutating func addItem(_ item: Item, context: ApplyContext) throws(DomainError) {
        if context.mode == .merge, let existing = catalog.items[item.sku] {
            // Rule 5 for adds: the first definition in canonical order stays.
            let writer = fieldWrites[.item(sku: item.sku)]?.operation ?? ""
            if existing != item {
                flag(
                    .concurrentEdit, subject: item.sku, context: context, operations: [writer, context.operation],
                    outcome: "kept the first definition (\(existing.kind.rawValue), \(existing.unit))",
                    explanation: "two devices added SKU \(item.sku): \(existing.kind.rawValue)/\(existing.unit) and "
                        + "\(item.kind.rawValue)/\(item.unit)")
            }
            return
        }
        try catalog.add(item)
        fieldWrites[.item(sku: item.sku)] = FieldWrite(operation: context.operation, value: item.kind.rawValue)
    }

    mutating func addLocation(_ location: Location, context: ApplyContext) throws(DomainError) {
        if context.mode == .merge, catalog.locations[location.code] != nil { return }
        try catalog.add(location)
    }

    mutating func setBOM(_ bom: SetBOM, context: ApplyContext) throws(DomainError) {
        try catalog.setBOM(bom.parent, lines: bom.lines)
        let value = catalog.boms[bom.parent]!.map { "\($0.sku)=\($0.quantity)" }.joined(separator: " ")
        write(field: .bom(parent: bom.parent), value: value, subject: bom.parent, context: context)
    }

    mutating func acknowledge(_ ack: AcknowledgeConflict, context: ApplyContext) throws(DomainError) {
        // Merged too: an acknowledgement of a conflict this fold never raised (its author saw the conflict in an
        // order that HQ's sequence changed) is refused, so it shows as a refused-operation conflict instead of
        // leaving an acknowledgement of nothing (PROTOCOL.md §4.8).
        guard conflicts.contains(where: { $0.id == ack.conflict }) else { throw .unknownConflict(ack.conflict) }
        if context.mode == .local {
            guard acknowledgements[ack.conflict] == nil else { throw .alreadyAcknowledged(ack.conflict) }
        }
        // Concurrent acknowledgements: the first in canonical order stays.
        guard acknowledgements[ack.conflict] == nil else { return }
        acknowledgements[ack.conflict] = Acknowledgement(
            conflict: ack.conflict, operation: context.operation, note: ack.note, date: context.date)
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

    mutating func createOrder(_ create: CreateOrder, context: ApplyContext) throws(DomainError) {
        try Catalog.validateCode(create.number, what: "order number")
        var number = create.number
        if let existing = orders[create.number] {
            guard context.mode == .merge else { throw .duplicateOrder(create.number) }
            // Rule 7: both orders are kept; the later in canonical order takes a suffix naming its author.
            number = "\(create.number)~\(context.author)"
            var suffix = 2
            while orders[number] != nil {
                number = "\(create.number)~\(context.author)-\(suffix)"
                suffix += 1
            }
            flag(
                .duplicateNumber, subject: create.number, context: context,
                operations: [existing.createdBy ?? "", context.operation],
                outcome: "both orders kept; the later one is now \(number)",
                explanation: "two devices chose order number \(create.number) offline")
        }
        if let due = create.due { try validateDate(due) }
        try Self.validateTolerance(create.tolerancePercent)
        guard !create.outputs.isEmpty else { throw .emptyOrder(create.number) }
        if context.mode == .local {
            try catalog.requireLocation(create.location)
        } else if catalog.locations[create.location] == nil {
            flag(
                .catalogMismatch, subject: number, context: context, operations: [context.operation],
                outcome: "order kept at location \(create.location)",
                explanation: "location \(create.location) is not in the catalog here (a concurrent catalog change)")
        }
        var seen = Set<String>()
        for output in create.outputs {
            // A merged order is kept whatever the merged catalog says now: its author checked it against the catalog
            // it saw, and receipts against it are physical facts. Differences are flagged; Enter copes.
            if context.mode == .local {
                let item = try catalog.item(output.sku)
                guard item.kind != .material else { throw .notProducible(sku: output.sku, kind: item.kind) }
                guard catalog.boms[output.sku] != nil else { throw .noBOM(output.sku) }
            } else if catalog.boms[output.sku] == nil {
                flag(
                    .catalogMismatch, subject: number, context: context, operations: [context.operation],
                    outcome: "order kept; \(output.sku) has no BOM here, so it will have no inputs",
                    explanation: "\(output.sku) had a BOM where the order was created, not after merging (a concurrent "
                        + "catalog change, e.g. a BOM refused for a cycle)")
            }
            guard output.quantity.isPositive else {
                throw .nonPositiveQuantity(
                    context: "order \(create.number), output \(output.sku)", quantity: output.quantity)
            }
            if let cost = output.unitCost, cost.isNegative {
                throw .negativeCost(context: "order \(create.number), output \(output.sku)", cost: cost)
            }
            guard seen.insert(output.sku).inserted else {
                throw .duplicateOutput(order: create.number, sku: output.sku)
            }
        }
        var order = Order(
            number: number, kind: create.kind, location: create.location, due: create.due,
            notes: create.notes, tolerancePercent: create.tolerancePercent,
            lines: create.outputs.map { OrderLine(sku: $0.sku, quantity: $0.quantity, unitCost: $0.unitCost) })
        if !context.operation.isEmpty { order.createdBy = context.operation }
        order.creationIndex = ordersCreated
        ordersCreated += 1
        if number != create.number {
            order.requestedNumber = create.number
            orderAliases[create.number, default: []].append(number)
        }
        orders[number] = order
        for line in order.lines {
            if let cost = line.unitCost {
                fieldWrites[.orderCost(order: number, sku: line.sku)] = FieldWrite(
                    operation: context.operation, value: cost.description)
            }
        }
    }

    static func validateTolerance(_ tolerance: Amount) throws(DomainError) {
        guard !tolerance.isNegative, tolerance <= Amount(1000) else { throw .invalidTolerance(tolerance) }
    }

    /// Checks an edit is allowed; in merge mode an edit of a closed order is still recorded (rule 5 needs it).
    func checkEditable(_ order: Order, context: ApplyContext) throws(DomainError) {
        guard context.mode == .local else { return }
        _ = try OrderLifecycle(status: order.status).next(.edit, order: order.number)
    }

    mutating func setCost(_ setCost: SetCost, context: ApplyContext) throws(DomainError) {
        var order = try order(resolveOrder(setCost.order, context))
        try checkEditable(order, context: context)
        let index = try order.lineIndex(setCost.sku)
        guard !setCost.unitCost.isNegative else {
            throw .negativeCost(context: "order \(order.number), output \(setCost.sku)", cost: setCost.unitCost)
        }
        order.lines[index].unitCost = setCost.unitCost
        orders[order.number] = order
        write(
            field: .orderCost(order: order.number, sku: setCost.sku), value: setCost.unitCost.description,
            subject: order.number,
            context: context)
    }

    mutating func editOrder(_ edit: EditOrder, context: ApplyContext) throws(DomainError) {
        var order = try order(resolveOrder(edit.order, context))
        try checkEditable(order, context: context)
        if let due = edit.due, !due.isEmpty { try validateDate(due) }
        if let tolerance = edit.tolerancePercent { try Self.validateTolerance(tolerance) }
        if let due = edit.due {
            order.due = due.isEmpty ? nil : due
            write(field: .orderDue(order: order.number), value: due, subject: order.number, context: context)
        }
        if let notes = edit.notes {
            order.notes = notes
            write(field: .orderNotes(order: order.number), value: notes, subject: order.number, context: context)
        }
        if let tolerance = edit.tolerancePercent {
            order.tolerancePercent = tolerance
            write(
                field: .orderTolerance(order: order.number), value: tolerance.description, subject: order.number,
                context: context)
        }
        orders[order.number] = order
    }

    mutating func transition(_ transition: OrderTransition, context: ApplyContext) throws(DomainError) -> [LedgerEntry]
    {
        var order = try order(resolveOrder(transition.order, context))
        var action = transition.action
        if action == .cancel, !order.visibleReceipts.isEmpty, order.status == .production || order.status == .received {
            guard context.mode == .merge else {
                // Received orders cannot be cancelled at all: the lifecycle's error says so.
                _ = try OrderLifecycle(status: order.status).next(.cancel, order: order.number)
                throw .cancelWithReceipts(order: order.number, receipts: order.visibleReceipts.map(\.id))
            }
            // Rule 2: the cancel did not see these receipts; reverse only what is outstanding and close short.
            let unseen = order.visibleReceipts.filter { !($0.operation.map(context.saw) ?? true) }
            action = .complete
            flag(
                .cancelVersusReceipt, subject: order.number, context: context,
                operations: [context.operation] + unseen.compactMap(\.operation),
                outcome:
                    "closed short (Completed); receipts \(order.visibleReceipts.map(\.id).joined(separator: ", ")) kept",
                explanation: "a cancel of \(order.number) did not see receipts recorded concurrently; receipts are "
                    + "physical facts, so the order was closed short instead")
        }
        var lifecycle = OrderLifecycle(status: order.status)
        try lifecycle.handle(action.event, order: order.number)
        if transition.action == .complete, context.mode == .merge {
            // Rule 4 the other way round: receipts (or voids) the close did not see are kept as they are.
            let unseen = order.receipts.filter { receipt in
                !(receipt.operation.map(context.saw) ?? true) || !(receipt.voidedBy.map(context.saw) ?? true)
            }
            if !unseen.isEmpty {
                flag(
                    .receiptAfterClose, subject: order.number, context: context,
                    operations: unseen.compactMap { $0.voidedBy ?? $0.operation } + [context.operation],
                    outcome: "closed short; receipts \(unseen.map(\.id).joined(separator: ", ")) kept as recorded",
                    explanation: "\(order.number) was closed by a device that had not seen "
                        + unseen.map(\.id).joined(separator: ", "))
            }
        }
        func entry(_ sku: String, _ event: LedgerEvent, _ quantity: Amount) -> LedgerEntry {
            LedgerEntry(
                sku: sku, location: order.location, event: event, quantity: quantity, ref: order.number,
                date: context.date, operation: context.operation)
        }
        var entries: [LedgerEntry] = []
        switch action {
        case .enter:
            var required: [String: Amount] = [:]
            for index in order.lines.indices {
                let line = order.lines[index]
                // An input that rounds to nothing for this quantity is not demanded.
                let inputs: [BOMLine]
                do {
                    inputs = try catalog.explode(line.sku, quantity: line.quantity, levels: order.kind.explosion)
                        .filter { $0.quantity.isPositive }
                } catch {
                    guard context.mode == .merge else { throw error }
                    inputs = []
                    flag(
                        .catalogMismatch, subject: order.number, context: context, operations: [context.operation],
                        outcome: "entered with no inputs for \(line.sku)",
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
        }
        order.status = lifecycle.status
        if order.status.isClosed, !context.operation.isEmpty { order.closedBy = context.operation }
        orders[order.number] = order
        return entries
    }

    // MARK: Receipts

    mutating func addReceipt(_ add: AddReceipt, context: ApplyContext) throws(DomainError) -> [LedgerEntry] {
        var order = try order(resolveOrder(add.order, context))
        // Rules 2 and 4: a merged receipt on a closed order is a physical fact and is kept.
        let closedConcurrently = context.mode == .merge && order.status.isClosed
        // Rule 1: a merged receipt on an order not in production here (its start was refused) is kept too.
        let notStarted = context.mode == .merge && (order.status == .draft || order.status == .entered)
        if notStarted {
            flag(
                .receiptAfterClose, subject: order.number, context: context, operations: [context.operation],
                outcome: "receipt kept on the \(order.status.rawValue) order",
                explanation:
                    "the receipt's author saw \(order.number) in production; here it is \(order.status.rawValue)")
        } else if !closedConcurrently {
            _ = try OrderLifecycle(status: order.status).next(.receive, order: order.number)
        }
        try Catalog.validateCode(add.receipt, what: "receipt id")
        var receiptID = add.receipt
        if receiptOrders[add.receipt] != nil {
            guard context.mode == .merge else { throw .duplicateReceipt(add.receipt) }
            receiptID = "\(add.receipt)~\(context.author)"
            var suffix = 2
            while receiptOrders[receiptID] != nil {
                receiptID = "\(add.receipt)~\(context.author)-\(suffix)"
                suffix += 1
            }
            let existingOrder = orders[receiptOrders[add.receipt]!]!
            let existing = existingOrder.receipts.first { $0.id == add.receipt }?.operation
            flag(
                .duplicateNumber, subject: add.receipt, context: context,
                operations: [existing, context.operation].compactMap { $0 },
                outcome: "both receipts kept; the later one is now \(receiptID)",
                explanation: "two devices chose receipt id \(add.receipt) offline")
        }
        guard !add.lines.isEmpty else { throw .emptyReceipt(order.number) }
        let date = add.date ?? context.date
        try validateDate(date)
        var seen = Set<String>()
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
            if orderLine.produced + line.quantity > limit {
                let error = DomainError.overReceipt(
                    order: order.number, sku: line.sku, ordered: orderLine.quantity, received: orderLine.produced,
                    receiving: line.quantity, tolerancePercent: order.tolerancePercent)
                guard context.mode == .merge else { throw error }
                // Rule 3: concurrent receipts past the tolerance are all kept.
                let others = order.visibleReceipts.filter { receipt in
                    receipt.lines.contains { $0.sku == line.sku } && !(receipt.operation.map(context.saw) ?? true)
                }
                flag(
                    .overReceipt, subject: order.number, context: context,
                    operations: others.compactMap(\.operation) + [context.operation],
                    outcome:
                        "kept: \(line.sku) received \(orderLine.produced + line.quantity) of \(orderLine.quantity)",
                    explanation: error.description)
            }
            lineIndices.append(index)
        }
        if closedConcurrently {
            let wasCancelled = order.status == .cancelled
            flag(
                wasCancelled ? .cancelVersusReceipt : .receiptAfterClose, subject: order.number, context: context,
                operations: [order.closedBy ?? "", context.operation],
                outcome: wasCancelled
                    ? "order closed short (Completed) keeping receipt \(receiptID)"
                    : "receipt \(receiptID) kept on the closed order",
                explanation: "receipt \(receiptID) was recorded while another device "
                    + (wasCancelled ? "cancelled" : "closed") + " \(order.number); receipts are physical facts")
        }

        // Everything below computes on copies; the shop changes only at the end.
        var scratch: [StockKey: Valuation] = [:]
        func withValuation<T>(
            _ key: StockKey, _ body: (inout Valuation) throws(AmountError) -> T
        ) throws(DomainError) -> T {
            if scratch[key] == nil { scratch[key] = valuations[key] ?? Valuation() }
            do {
                // In place (no copy out and back): an error leaves only the scratch copy changed.
                return try Self.update(&scratch[key]!, body)
            } catch { throw .arithmetic(error) }
        }
        var entries: [LedgerEntry] = []
        var produceEntries: [LedgerEntry] = []
        var entryLines: [String] = []
        for (line, index) in zip(add.lines, lineIndices) {
            let orderLine = order.lines[index]
            let newProduced = orderLine.produced + line.quantity
            var materialValue = Amount.zero
            for input in orderLine.inputs {
                let consumed = orderLine.consumed[input.sku] ?? .zero
                // Cumulative proportion: after this receipt the line has consumed input × produced ÷ ordered, rounded
                // once; so the completing receipt takes the exact remainder and rounding never drifts.
                let target = try arithmetic { try input.quantity.proportion(newProduced, of: orderLine.quantity) }
                let quantity = target - consumed
                guard quantity.isPositive else { continue }
                let key = StockKey(sku: input.sku, location: order.location)
                let value = try withValuation(key) { (v: inout Valuation) throws(AmountError) in
                    try v.issue(quantity: quantity)
                }
                let commitment = order.inputs.firstIndex { $0.sku == input.sku }!
                let relieved = Amount.minimum(quantity, order.inputs[commitment].allocated)
                order.inputs[commitment].allocated -= relieved
                order.lines[index].consumed[input.sku] = target
                materialValue -= value
                entryLines.append(line.sku)
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
        entryLines += produceEntries.map(\.sku)
        var receipt = Receipt(id: receiptID, order: order.number, date: date, lines: add.lines)
        receipt.entries = entries
        receipt.entryLines = entryLines
        lastEntryLines = entryLines
        if !context.operation.isEmpty { receipt.operation = context.operation }
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
        valuations.merge(scratch) { $1 }
        receiptOrders[receiptID] = order.number
        orders[order.number] = order
        return entries
    }

    mutating func voidReceipt(_ void: VoidReceipt, context: ApplyContext) throws(DomainError) -> [LedgerEntry] {
        let receiptID = resolveReceipt(void.receipt, context)
        guard let number = receiptOrders[receiptID] else { throw .unknownReceipt(void.receipt) }
        var order = try order(number)
        let receiptIndex = order.receipts.firstIndex { $0.id == receiptID }!
        let receipt = order.receipts[receiptIndex]
        guard !receipt.voided else { throw .receiptAlreadyVoided(receiptID) }
        // A merged void of a receipt on an order closed concurrently is applied; the closed order keeps no
        // commitments, so nothing is restored to on order or allocated.
        let closedConcurrently = context.mode == .merge && order.status.isClosed
        if closedConcurrently {
            flag(
                .receiptAfterClose, subject: order.number, context: context,
                operations: [order.closedBy ?? "", context.operation],
                outcome: "receipt \(receiptID) voided on the closed order",
                explanation: "the void of \(receiptID) was recorded while another device closed \(order.number)")
        } else {
            _ = try OrderLifecycle(status: order.status).next(.voidReceipt, order: order.number)
        }
        let restores = !order.status.isClosed

        var scratch: [StockKey: Valuation] = [:]
        var entries: [LedgerEntry] = []
        let lines = receipt.entryLines ?? receipt.entries.map { _ in receipt.lines[0].sku }
        // Undo quantities first, so commitments can be recomputed from what is left.
        for (original, lineSKU) in zip(receipt.entries, lines) {
            let index = try order.lineIndex(lineSKU)
            let quantity = original.quantity.magnitude
            if original.event == .produce {
                order.lines[index].produced -= quantity
            } else {
                order.lines[index].consumed[original.sku, default: .zero] -= quantity
            }
        }
        // What is still outstanding after the void: ordered − produced, required − consumed (open orders only).
        var onOrderRestore: [String: Amount] = [:]
        var allocationRestore: [String: Amount] = [:]
        if restores {
            for index in order.lines.indices {
                let line = order.lines[index]
                let outstanding = Amount.maximum(.zero, line.quantity - line.produced)
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
            var valuation = scratch[key] ?? valuations[key] ?? Valuation()
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
                        relieved: relieved, ref: order.number, date: context.date, operation: context.operation))
            case .consume:
                let value = try arithmetic {
                    try valuation.receive(quantity: quantity, value: -(original.value ?? .zero))
                }
                let relieved = Amount.maximum(.zero, Amount.minimum(quantity, allocationRestore[original.sku] ?? .zero))
                allocationRestore[original.sku] = (allocationRestore[original.sku] ?? .zero) - relieved
                order.inputs[order.inputs.firstIndex { $0.sku == original.sku }!].allocated += relieved
                entries.append(
                    LedgerEntry(
                        sku: original.sku, location: original.location, event: .reverseConsume, quantity: quantity,
                        unitCost: original.unitCost, value: value, relieved: relieved, ref: order.number,
                        date: context.date, operation: context.operation))
            default:
                preconditionFailure("a receipt writes only CONSUME and PRODUCE")
            }
            scratch[key] = valuation
        }
        order.receipts[receiptIndex].voided = true
        if !context.operation.isEmpty { order.receipts[receiptIndex].voidedBy = context.operation }
        if !closedConcurrently {
            order.status = try OrderLifecycle(status: order.status).next(
                .voidReceipt, order: order.number, fullyReceived: order.isFullyReceived)
        }
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
