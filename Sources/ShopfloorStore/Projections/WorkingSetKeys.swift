import ShopfloorDomain

/// The projection rows a batch of commands will read, derived from the commands alone (before any row is read).
///
/// The store widens this once the named orders are loaded (their lines, inputs and location give stock keys); see
/// ``ProjectionReader/workingSet(for:)``.
struct WorkingSetKeys {
    /// Order numbers as commands name them: each loads the order and every renamed duplicate that asked for it.
    var orders: Set<OrderNumber> = []
    /// Receipt ids as commands name them, with their renamed duplicates and orders.
    var receipts: Set<String> = []
    /// Receipt ids whose ledger entries a void will reverse.
    var voided: Set<String> = []
    var items: Set<SKU> = []
    /// SKUs whose whole BOM subtree (items and BOM lines) an explosion or a cycle check walks.
    var subtrees: Set<SKU> = []
    var locations: Set<String> = []
    var stock: Set<StockKey> = []
    var fields: Set<FieldKey> = []
    var conflicts: Set<String> = []
    /// Orders the batch creates: their locations (the order's, WIP, FG) and output SKUs.
    var created: [(locations: [String], skus: [SKU])] = []
    /// SKUs a command moves at an order's warehouses whatever its inputs (Make Transfer, a receipt's stated
    /// consumption and scrap): read at the locations of every order loaded.
    var orderSKUs: Set<SKU> = []

    init(_ commands: some Sequence<Command>) {
        for command in commands { add(command) }
    }

    mutating func add(_ command: Command) {
        switch command {
        case .addItem(let item):
            items.insert(item.sku)
            fields.insert(.item(sku: item.sku))
        case .addLocation(let location): locations.insert(location.code)
        case .setBOM(let bom):
            items.insert(bom.parent)
            subtrees.insert(bom.parent)
            for line in bom.lines { subtrees.insert(line.sku) }
            fields.insert(.bom(parent: bom.parent))
        case .adjustStock(let adjust):
            items.insert(adjust.sku)
            locations.insert(adjust.location)
            stock.insert(StockKey(sku: adjust.sku, location: adjust.location))
        case .transferStock(let transfer):
            items.insert(transfer.sku)
            locations.formUnion([transfer.from, transfer.to])
            stock.insert(StockKey(sku: transfer.sku, location: transfer.from))
            stock.insert(StockKey(sku: transfer.sku, location: transfer.to))
        case .createOrder(let create):
            orders.insert(create.number)
            let places = [create.location] + [create.wip, create.fg].compactMap { $0 }
            locations.formUnion(places)
            for output in create.outputs { subtrees.insert(output.sku) }
            created.append((places, create.outputs.map(\.sku)))
        case .setCost(let value): orders.insert(value.order)
        case .editOrder(let value): orders.insert(value.order)
        case .transition(let value): orders.insert(value.order)
        case .addReceipt(let value):
            orders.insert(value.order)
            receipts.insert(value.receipt)
            for line in (value.consumed ?? []) + (value.scrap ?? []) {
                items.insert(line.sku)
                orderSKUs.insert(line.sku)
            }
        case .voidReceipt(let value):
            receipts.insert(value.receipt)
            voided.insert(value.receipt)
        case .acknowledgeConflict(let value): conflicts.insert(value.conflict)
        case .setPlantDefault: fields.insert(.plantBackflush)
        case .transferToOrder(let value):
            orders.insert(value.order)
            locations.insert(value.from)
            for line in value.lines {
                items.insert(line.sku)
                orderSKUs.insert(line.sku)
                stock.insert(StockKey(sku: line.sku, location: value.from))
            }
        }
    }
}
