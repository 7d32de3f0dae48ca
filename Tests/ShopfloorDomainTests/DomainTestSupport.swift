import Testing

@testable import ShopfloorDomain

/// Parses an amount written in a test; a typo is a test bug, so it traps.
func amt(_ text: String) -> Amount { try! Amount(parsing: text) }

/// The business date and operation most tests apply commands with.
let testDay = ApplyContext(operation: "op-test", date: "2026-11-22")

/// Everything observable in a ``Shop``, for "a refused command changes nothing".
struct ShopSnapshot: Equatable {
    var catalog: Catalog
    var orders: [OrderNumber: Order]
    var receiptOrders: [String: OrderNumber]
    var valuations: [StockKey: Valuation]
    var positions: [StockKey: Position]
    var conflicts: [Conflict]
    var acknowledgements: [String: Acknowledgement]
    var fieldWrites: [FieldKey: FieldWrite]
    var orderAliases: [OrderNumber: [OrderNumber]]
    var receiptAliases: [String: [String]]

    init(_ shop: Shop) {
        catalog = shop.catalog
        orders = shop.orders
        receiptOrders = shop.receiptOrders
        valuations = shop.valuations
        positions = shop.positions
        conflicts = shop.conflicts
        acknowledgements = shop.acknowledgements
        fieldWrites = shop.fieldWrites
        orderAliases = shop.orderAliases
        receiptAliases = shop.receiptAliases
    }
}

/// Short builders for the commands tests write most.
extension Command {
    static func item(_ sku: SKU, _ kind: ItemKind) -> Command { .addItem(Item(sku: sku, kind: kind)) }
    static func location(_ code: String) -> Command { .addLocation(Location(code: code)) }
    static func bom(_ parent: SKU, _ lines: [(String, String)]) -> Command {
        .setBOM(SetBOM(parent: parent, lines: lines.map { BOMLine(sku: SKU($0.0), quantity: amt($0.1)) }))
    }
    static func adjust(_ sku: SKU, _ location: String, _ quantity: String, cost: String? = nil) -> Command {
        .adjustStock(AdjustStock(sku: sku, location: location, quantity: amt(quantity), unitCost: cost.map(amt)))
    }
    static func transfer(_ sku: SKU, _ quantity: String, from: String, to: String) -> Command {
        .transferStock(TransferStock(sku: sku, quantity: amt(quantity), from: from, to: to))
    }
    static func create(
        _ number: OrderNumber, _ kind: OrderKind, at location: String, tolerance: String = "0",
        _ outputs: [(String, String, String?)]
    ) -> Command {
        .createOrder(
            CreateOrder(
                number: number, kind: kind, location: location, tolerancePercent: amt(tolerance),
                outputs: outputs.map { OutputSpec(sku: SKU($0.0), quantity: amt($0.1), unitCost: $0.2.map(amt)) }))
    }
    static func enter(_ order: OrderNumber) -> Command { .transition(OrderTransition(order: order, action: .enter)) }
    static func start(_ order: OrderNumber) -> Command { .transition(OrderTransition(order: order, action: .start)) }
    static func complete(_ order: OrderNumber) -> Command {
        .transition(OrderTransition(order: order, action: .complete))
    }
    static func cancel(_ order: OrderNumber) -> Command { .transition(OrderTransition(order: order, action: .cancel)) }
    static func receive(
        _ order: OrderNumber, _ receipt: String, _ lines: [(String, String)], date: String? = nil
    ) -> Command {
        .addReceipt(
            AddReceipt(
                order: order, receipt: receipt, lines: lines.map { BOMLine(sku: SKU($0.0), quantity: amt($0.1)) },
                date: date
            ))
    }
    static func void(_ receipt: String) -> Command { .voidReceipt(VoidReceipt(receipt: receipt)) }
    static func setCost(_ order: OrderNumber, _ sku: SKU, _ cost: String) -> Command {
        .setCost(SetCost(order: order, sku: sku, unitCost: amt(cost)))
    }
}

/// A shop plus every entry it accepted, with assertions for refusals.
struct ShopDriver {
    var shop = Shop()
    var entries: [LedgerEntry] = []
    var context = testDay

    init() {}

    /// Applies a command that must be accepted.
    @discardableResult
    mutating func run(_ command: Command) throws(DomainError) -> [LedgerEntry] {
        let written = try shop.apply(command, context: context)
        entries += written
        return written
    }

    /// Applies every command; all must be accepted.
    mutating func run(_ commands: [Command]) throws(DomainError) {
        for command in commands { try run(command) }
    }

    /// Applies a command that must be refused with exactly `expected`, leaving the shop as it was.
    mutating func refuse(_ command: Command, _ expected: DomainError, sourceLocation: SourceLocation = #_sourceLocation)
    {
        let before = ShopSnapshot(shop)
        do {
            let written = try shop.apply(command, context: context)
            entries += written
            Issue.record("accepted \(command); expected \(expected)", sourceLocation: sourceLocation)
        } catch {
            #expect(error == expected, sourceLocation: sourceLocation)
            #expect(ShopSnapshot(shop) == before, "refused \(command) changed the shop", sourceLocation: sourceLocation)
        }
    }

    func position(_ sku: SKU, _ location: String) -> Position { shop.position(sku: sku, location: location) }
    func valuation(_ sku: SKU, _ location: String) -> Valuation { shop.valuation(sku: sku, location: location) }
    func status(_ order: OrderNumber) -> OrderStatus? { shop.orders[order]?.status }
}

/// The numbers of a position, as one comparable value: onHand, onOrder, demand, allocated, available, projected, value.
struct PositionFigures: Equatable, CustomStringConvertible {
    var onHand: Amount
    var onOrder: Amount
    var demand: Amount
    var allocated: Amount
    var available: Amount
    var projected: Amount
    var value: Amount

    init(
        onHand: String = "0", onOrder: String = "0", demand: String = "0", allocated: String = "0", available: String,
        projected: String, value: String = "0"
    ) {
        self.onHand = amt(onHand)
        self.onOrder = amt(onOrder)
        self.demand = amt(demand)
        self.allocated = amt(allocated)
        self.available = amt(available)
        self.projected = amt(projected)
        self.value = amt(value)
    }

    init(_ position: Position) {
        onHand = position.onHand
        onOrder = position.onOrder
        demand = position.demand
        allocated = position.allocated
        available = position.available
        projected = position.projected
        value = position.value
    }

    var description: String {
        "onHand \(onHand) onOrder \(onOrder) demand \(demand) allocated \(allocated) available \(available) "
            + "projected \(projected) value \(value)"
    }
}

/// An entry's identifying fields, as one comparable value.
struct EntryFigures: Equatable, CustomStringConvertible {
    var event: LedgerEvent
    var sku: SKU
    var location: String
    var quantity: Amount
    var value: Amount?
    var ref: OrderNumber?

    init(
        _ event: LedgerEvent, _ sku: SKU, _ location: String, _ quantity: String, value: String? = nil,
        ref: OrderNumber?
    ) {
        self.event = event
        self.sku = sku
        self.location = location
        self.quantity = amt(quantity)
        self.value = value.map(amt)
        self.ref = ref
    }

    init(_ entry: LedgerEntry) {
        event = entry.event
        sku = entry.sku
        location = entry.location
        quantity = entry.quantity
        value = entry.value
        ref = entry.ref
    }

    var description: String {
        "\(event.rawValue) \(sku)@\(location) \(quantity) value \(value.map(\.description) ?? "-") ref \(ref ?? "-")"
    }
}
