import ShopfloorDomain

/// The rows recent folds read and wrote, kept so the next fold over the same orders and stock does not read them
/// again: a floor device records receipt after receipt on a few open orders, and HQ folds pushes that touch the
/// same ones.
///
/// It is exact, not a guess. Every row in it is what the file holds, because only the fold writes these rows, and
/// every fold writes through ``absorb(_:stock:)`` after it wrote them. Whatever else changes projection rows (a
/// rewind, a rebuild, another process's commit, which `PRAGMA data_version` reveals) starts again from an empty
/// cache, and so does a failed transaction. It holds a bounded number of rows, so memory stays bounded whatever the
/// history; past the bound it is emptied and refilled from the next batch.
struct WorkingSetCache: Sendable {
    /// An order as its rows hold it (``ProjectionWriter/persisted(_:)``), with the field writes under its prefix.
    struct CachedOrder: Sendable {
        var order: Order
        var fields: [FieldKey: FieldWrite]
    }

    /// A stock key's rows; nil where the file has no row.
    struct CachedStock: Sendable {
        var valuation: Valuation?
        var position: Position?
    }

    static let ordersMax = 256
    static let stockMax = 8_192
    static let undoKeysMax = 32_768

    private(set) var orders: [OrderNumber: CachedOrder] = [:]
    private(set) var stock: [StockKey: CachedStock] = [:]
    /// The next creation indexes of orders and receipts, once a fold has seen them.
    private(set) var ordersCreated: Int?
    private(set) var receiptsCreated: Int?
    /// Rows of the undo log known to hold a before-image already (kind and key, ``UndoLog``): the first image of a
    /// row is the one kept, so these need no lookup.
    var undoKept: Set<String> = []

    /// After a fold committed its rows: `shop` is the fold's result over a working set that read `stock`.
    mutating func absorb(_ shop: Shop, stock keys: Set<StockKey>) {
        // The counters first: they are exact whatever happens to the rows below (a batch too large to cache must
        // still move them, or the next batch would number its orders and receipts again from the old ones).
        if let known = ordersCreated {
            ordersCreated = shop.orders.values.reduce(known) { max($0, ($1.creationIndex ?? -1) + 1) }
        }
        if let known = receiptsCreated {
            receiptsCreated = shop.orders.values.reduce(known) { counter, order in
                order.receipts.reduce(counter) { max($0, ($1.creationIndex ?? -1) + 1) }
            }
        }
        if orders.count + shop.orders.count > Self.ordersMax || stock.count + keys.count > Self.stockMax {
            orders = [:]
            stock = [:]
            guard shop.orders.count <= Self.ordersMax, keys.count <= Self.stockMax else { return }
        }
        var fields: [OrderNumber: [FieldKey: FieldWrite]] = [:]
        for (key, write) in shop.fieldWrites {
            if let number = key.order { fields[number, default: [:]][key] = write }
        }
        for (number, order) in shop.orders {
            orders[number] = CachedOrder(order: ProjectionWriter.persisted(order), fields: fields[number] ?? [:])
        }
        for key in keys {
            stock[key] = CachedStock(valuation: shop.valuations[key], position: shop.positions[key])
        }
    }

    /// The creation counters as read from the file, when the cache did not know them yet.
    mutating func learnCounters(orders: Int, receipts: Int) {
        ordersCreated = orders
        receiptsCreated = receipts
    }
}

extension FieldKey {
    /// The order whose field this is, if any.
    var order: OrderNumber? {
        switch self {
        case .item, .bom, .plantBackflush: nil
        case .orderCost(let order, _), .orderDue(let order), .orderNotes(let order), .orderTolerance(let order): order
        }
    }
}
