extension Catalog {
    /// Restores a catalog from persisted rows (already validated when they were first applied).
    public init(items: [Item], locations: [Location], boms: [SKU: [BOMLine]]) {
        self.init()
        for item in items { self.items[item.sku] = item }
        for location in locations { self.locations[location.code] = location }
        self.boms = boms.mapValues { $0.sorted { $0.sku < $1.sku } }
    }
}

extension Shop {
    /// Restores a shop from persisted projections: the whole of them, or the working set a batch of commands will
    /// read. A working set names the creation counters, which its own orders and receipts cannot tell.
    public init(
        catalog: Catalog, orders: [Order], valuations: [StockKey: Valuation], positions: [StockKey: Position],
        conflicts: [Conflict] = [], acknowledgements: [Acknowledgement] = [], fieldWrites: [FieldKey: FieldWrite] = [:],
        ordersCreated: Int? = nil, receiptsCreated: Int? = nil
    ) {
        self.init()
        self.catalog = catalog
        book = OrderBook(restoring: orders, ordersCreated: ordersCreated, receiptsCreated: receiptsCreated)
        inventory = Inventory(valuations: valuations, positions: positions)
        log.conflicts = conflicts
        for ack in acknowledgements { log.acknowledgements[ack.conflict] = ack }
        log.fieldWrites = fieldWrites
    }
}

extension OrderBook {
    /// Rebuilds the indexes of `orders` and, unless they are given, the creation counters.
    init(restoring orders: [Order], ordersCreated: Int?, receiptsCreated: Int?) {
        for order in orders.sorted(by: { $0.number < $1.number }) {
            self.orders[order.number] = order
            if let requested = order.requestedNumber { orderAliases[requested, default: []].append(order.number) }
            for receipt in order.receipts {
                receiptOrders[receipt.id] = order.number
                if let requested = receipt.requestedID { receiptAliases[requested, default: []].append(receipt.id) }
            }
        }
        // Aliases in the order the orders were created, as the fold appended them.
        orderAliases = orderAliases.mapValues { numbers in
            numbers.sorted { (self.orders[$0]?.creationIndex ?? 0) < (self.orders[$1]?.creationIndex ?? 0) }
        }
        self.ordersCreated = ordersCreated ?? (orders.compactMap(\.creationIndex).max() ?? -1) + 1
        var receiptIndex: [String: Int] = [:]
        for order in orders { for receipt in order.receipts { receiptIndex[receipt.id] = receipt.creationIndex ?? 0 } }
        receiptAliases = receiptAliases.mapValues { ids in ids.sorted { receiptIndex[$0] ?? 0 < receiptIndex[$1] ?? 0 }
        }
        self.receiptsCreated = receiptsCreated ?? (receiptIndex.values.max() ?? -1) + 1
    }
}
