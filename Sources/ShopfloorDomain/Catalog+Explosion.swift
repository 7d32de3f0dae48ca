/// How deep an explosion goes.
public enum ExplosionLevels: String, Sendable, Codable, CaseIterable {
    /// Direct children, components included (work orders, ERPNext's "explode = No").
    case one
    /// Components flattened into raw materials, multiplied through the levels (production orders).
    case full
}

extension Catalog {
    /// The inputs for `quantity` of `sku`, aggregated per SKU and sorted by SKU.
    public func explode(_ sku: SKU, quantity: Amount, levels: ExplosionLevels) throws(DomainError) -> [BOMLine] {
        _ = try item(sku)
        guard let lines = boms[sku] else { throw .noBOM(sku) }
        var totals: [SKU: Amount] = [:]
        func visit(_ lines: [BOMLine], multiplier: Amount, depth: Int) throws(DomainError) {
            // Cycles are refused when a BOM is set, so depth is bounded by the number of items.
            precondition(depth <= items.count, "BOM cycle slipped past validation")
            for line in lines {
                let needed: Amount
                do { needed = try line.quantity.multiplied(by: multiplier) } catch {
                    throw .arithmetic(error)
                }
                if levels == .full, let children = boms[line.sku] {
                    try visit(children, multiplier: needed, depth: depth + 1)
                } else {
                    totals[line.sku, default: .zero] += needed
                }
            }
        }
        try visit(lines, multiplier: quantity, depth: 0)
        return totals.map { BOMLine(sku: $0.key, quantity: $0.value) }.sorted { $0.sku < $1.sku }
    }
}
