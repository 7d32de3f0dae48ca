extension Catalog {
    /// Restores a catalog from persisted rows (already validated when they were first applied).
    public init(items: [Item], locations: [Location], boms: [String: [BOMLine]]) {
        self.init()
        for item in items { self.items[item.sku] = item }
        for location in locations { self.locations[location.code] = location }
        self.boms = boms.mapValues { $0.sorted { $0.sku < $1.sku } }
    }
}

extension Shop {
    /// Restores a shop from persisted projections.
    public init(
        catalog: Catalog, orders: [Order], valuations: [StockKey: Valuation], positions: [StockKey: Position]
    ) {
        self.init()
        self.catalog = catalog
        for order in orders {
            self.orders[order.number] = order
            for receipt in order.receipts { receiptOrders[receipt.id] = order.number }
        }
        self.valuations = valuations
        self.positions = positions
    }
}
