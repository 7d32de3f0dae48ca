/// Stock per SKU and location: the valuations costing keeps and the positions the ledger entries build.
///
/// Stock commands (adjust, transfer) are reduced here; orders change valuations through the receipts the order
/// book computes and hands over with ``commit(_:)``. Every entry any command writes is posted to the positions
/// with ``post(_:context:log:)``, which also flags stock taken below zero (rule 6).
struct Inventory: Sendable {
    var valuations: [StockKey: Valuation] = [:]
    /// Positions maintained from the entries written.
    var positions: [StockKey: Position] = [:]

    func position(sku: SKU, location: String) -> Position {
        positions[StockKey(sku: sku, location: location)] ?? Position(sku: sku, location: location)
    }

    func valuation(sku: SKU, location: String) -> Valuation {
        valuations[StockKey(sku: sku, location: location)] ?? Valuation()
    }

    /// Takes the valuations a command computed on copies, once nothing it does can throw any more.
    mutating func commit(_ changed: [StockKey: Valuation]) {
        valuations.merge(changed) { $1 }
    }

    /// Applies each entry to its position; rule 6: stock taken below zero is kept and flagged.
    mutating func post(_ entries: [LedgerEntry], context: ApplyContext, log: inout ConflictLog) {
        for entry in entries {
            // One hash lookup per entry: the position is changed in place.
            let (before, after) = Self.apply(
                entry,
                to: &positions[
                    StockKey(sku: entry.sku, location: entry.location),
                    default: Position(
                        sku: entry.sku, location: entry.location)])
            if entry.quantity.isNegative, after.isNegative, !before.isNegative {
                log.flag(
                    .negativeStock, subject: "\(entry.sku)@\(entry.location)", context: context,
                    operations: [context.operationText], outcome: "kept; on hand is now \(after)",
                    explanation: "\(entry.event.rawValue) of \(entry.quantity.magnitude) took \(entry.sku) at "
                        + "\(entry.location) below zero (was \(before)); count the stock or adjust it")
            }
        }
    }

    /// Applies an entry's delta to its position; returns on hand before and after.
    private static func apply(_ entry: LedgerEntry, to position: inout Position) -> (before: Amount, after: Amount) {
        let before = position.onHand
        position.apply(entry.delta)
        return (before, position.onHand)
    }

    mutating func adjust(
        _ adjust: AdjustStock, context: ApplyContext, catalog: Catalog
    ) throws(DomainError) -> [LedgerEntry] {
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
                unitCost: unitCost, value: value, date: context.date, operation: context.operationText)
        ]
    }

    mutating func transfer(
        _ transfer: TransferStock, context: ApplyContext, catalog: Catalog
    ) throws(DomainError) -> [LedgerEntry] {
        _ = try catalog.item(transfer.sku)
        try catalog.requireLocation(transfer.from)
        try catalog.requireLocation(transfer.to)
        guard transfer.from != transfer.to else { throw .sameLocation(transfer.from) }
        guard transfer.quantity.isPositive else {
            throw .nonPositiveQuantity(context: "transfer \(transfer.sku)", quantity: transfer.quantity)
        }
        return try move(transfer, context: context)
    }

    /// Moves stock at the source's rate, with no check against the catalog: for moves the fold itself derives
    /// (an order's return of unconsumed material on close), whose item and locations hold stock already.
    mutating func move(_ transfer: TransferStock, context: ApplyContext) throws(DomainError) -> [LedgerEntry] {
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
                unitCost: rate, value: outValue, date: context.date, operation: context.operationText),
            LedgerEntry(
                sku: transfer.sku, location: transfer.to, event: .transfer, quantity: transfer.quantity,
                unitCost: rate, value: inValue, date: context.date, operation: context.operationText),
        ]
    }
}
