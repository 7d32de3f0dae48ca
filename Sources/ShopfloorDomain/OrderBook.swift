/// Orders and their receipts: the numbers operations use for them (with rule 7's renames) and the creation counters
/// that order duplicates deterministically.
///
/// The order commands are reduced here. They read the catalog, change valuations through ``Inventory`` and raise
/// conflicts in the ``ConflictLog``; where local validation and the merge rules differ, the ``ApplyPolicy`` decides.
struct OrderBook: Sendable {
    var orders: [OrderNumber: Order] = [:]
    /// Receipt id → order number.
    var receiptOrders: [String: OrderNumber] = [:]
    /// Requested order number → the numbers of renamed orders that asked for it (rule 7).
    var orderAliases: [OrderNumber: [OrderNumber]] = [:]
    /// Requested receipt id → renamed receipt ids.
    var receiptAliases: [String: [String]] = [:]
    /// For each ledger entry of the last successful receipt, the output line (SKU) it belongs to; nil otherwise.
    var lastEntryLines: [SKU]?
    /// Orders created so far (the next order's creation index).
    var ordersCreated = 0
    /// Receipts recorded so far (the next receipt's creation index).
    var receiptsCreated = 0

    func order(_ number: OrderNumber) throws(DomainError) -> Order {
        guard let order = orders[number] else { throw .unknownOrder(number) }
        return order
    }

    /// The order an operation means by `number`: with duplicates (rule 7), the one it had seen created.
    func resolveOrder(_ number: OrderNumber, _ context: ApplyContext) -> OrderNumber {
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

    /// Rule 7's name for the later of two orders (or receipts) that asked for `requested`: a suffix naming its
    /// author, numbered on past any name already taken.
    static func renamed(_ requested: String, author: String, isTaken: (String) -> Bool) -> String {
        var name = "\(requested)~\(author)"
        var suffix = 2
        while isTaken(name) {
            name = "\(requested)~\(author)-\(suffix)"
            suffix += 1
        }
        return name
    }

    // MARK: Creating and editing

    mutating func create(
        _ create: CreateOrder, context: ApplyContext, policy: some ApplyPolicy, catalog: Catalog,
        log: inout ConflictLog
    ) throws(DomainError) {
        try Catalog.validateCode(create.number.rawValue, what: "order number")
        var number = create.number
        if let existing = orders[create.number] {
            try policy.tolerate(.duplicateOrder(create.number))
            // Rule 7: both orders are kept; the later in canonical order takes a suffix naming its author.
            number = OrderNumber(
                Self.renamed(create.number.rawValue, author: context.author) { orders[OrderNumber($0)] != nil })
            log.flag(
                .duplicateNumber, subject: create.number.rawValue, context: context,
                // An order created by no operation is named "", as conflicts have always stored it.
                operations: [existing.createdBy ?? "", context.operationText],
                outcome: "both orders kept; the later one is now \(number)",
                explanation: "two devices chose order number \(create.number) offline")
        }
        if let due = create.due { try validateDate(due) }
        try Self.validateTolerance(create.tolerancePercent)
        guard !create.outputs.isEmpty else { throw .emptyOrder(create.number) }
        if catalog.locations[create.location] == nil {
            try policy.tolerate(.unknownLocation(create.location))
            log.flag(
                .catalogMismatch, subject: number.rawValue, context: context, operations: [context.operationText],
                outcome: "order kept at location \(create.location)",
                explanation: "location \(create.location) is not in the catalog here (a concurrent catalog change)")
        }
        for (role, code) in [("WIP", create.wip), ("FG", create.fg)] {
            guard let code, catalog.locations[code] == nil else { continue }
            try policy.tolerate(.unknownLocation(code))
            log.flag(
                .catalogMismatch, subject: number.rawValue, context: context, operations: [context.operationText],
                outcome: "order kept with \(role) warehouse \(code)",
                explanation: "location \(code) is not in the catalog here (a concurrent catalog change)")
        }
        var seen = Set<SKU>()
        for output in create.outputs {
            // A merged order is kept whatever the merged catalog says now: its author checked it against the catalog
            // it saw, and receipts against it are physical facts. Differences are flagged; Enter copes.
            if let item = catalog.items[output.sku] {
                if item.kind == .material { try policy.tolerate(.notProducible(sku: output.sku, kind: item.kind)) }
            } else {
                try policy.tolerate(.unknownItem(output.sku))
            }
            if catalog.boms[output.sku] == nil {
                try policy.tolerate(.noBOM(output.sku))
                log.flag(
                    .catalogMismatch, subject: number.rawValue, context: context, operations: [context.operationText],
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
        order.createdBy = context.operation
        // A warehouse that is the order's location is no separate warehouse.
        order.wip = create.wip == create.location ? nil : create.wip
        order.fg = create.fg == create.location ? nil : create.fg
        order.backflush = create.backflush == .bom ? nil : create.backflush
        order.creationIndex = ordersCreated
        ordersCreated += 1
        if number != create.number {
            order.requestedNumber = create.number
            orderAliases[create.number, default: []].append(number)
        }
        orders[number] = order
        for line in order.lines {
            if let cost = line.unitCost {
                log.fieldWrites[.orderCost(order: number, sku: line.sku)] = FieldWrite(
                    operation: context.operationText, value: cost.description)
            }
        }
    }

    static func validateTolerance(_ tolerance: Amount) throws(DomainError) {
        guard !tolerance.isNegative, tolerance <= Amount(1000) else { throw .invalidTolerance(tolerance) }
    }

    /// Checks an edit is allowed; a merged edit of a closed order is still recorded (rule 5 needs it).
    func checkEditable(_ order: Order, policy: some ApplyPolicy) throws(DomainError) {
        do {
            _ = try OrderLifecycle(status: order.status).next(.edit, order: order.number)
        } catch {
            try policy.tolerate(error)
        }
    }

    mutating func setCost(
        _ setCost: SetCost, context: ApplyContext, policy: some ApplyPolicy, log: inout ConflictLog
    ) throws(DomainError) {
        var order = try order(resolveOrder(setCost.order, context))
        try checkEditable(order, policy: policy)
        let index = try order.lineIndex(setCost.sku)
        guard !setCost.unitCost.isNegative else {
            throw .negativeCost(context: "order \(order.number), output \(setCost.sku)", cost: setCost.unitCost)
        }
        order.lines[index].unitCost = setCost.unitCost
        orders[order.number] = order
        log.write(
            field: .orderCost(order: order.number, sku: setCost.sku), value: setCost.unitCost.description,
            subject: order.number.rawValue,
            context: context)
    }

    mutating func edit(
        _ edit: EditOrder, context: ApplyContext, policy: some ApplyPolicy, log: inout ConflictLog
    ) throws(DomainError) {
        var order = try order(resolveOrder(edit.order, context))
        try checkEditable(order, policy: policy)
        if let due = edit.due, !due.isEmpty { try validateDate(due) }
        if let tolerance = edit.tolerancePercent { try Self.validateTolerance(tolerance) }
        if let due = edit.due {
            order.due = due.isEmpty ? nil : due
            log.write(
                field: .orderDue(order: order.number), value: due, subject: order.number.rawValue, context: context)
        }
        if let notes = edit.notes {
            order.notes = notes
            log.write(
                field: .orderNotes(order: order.number), value: notes, subject: order.number.rawValue, context: context)
        }
        if let tolerance = edit.tolerancePercent {
            order.tolerancePercent = tolerance
            log.write(
                field: .orderTolerance(order: order.number), value: tolerance.description,
                subject: order.number.rawValue,
                context: context)
        }
        orders[order.number] = order
    }
}
