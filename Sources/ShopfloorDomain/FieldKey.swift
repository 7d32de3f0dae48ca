/// An editable field whose concurrent writes rule 5 tracks (DESIGN.md §3). Its ``rawValue`` is the stored key and
/// the name conflicts show, e.g. `order:PO-7:cost:CHAIR`.
public enum FieldKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// An item's definition (the first in canonical order stays).
    case item(sku: SKU)
    case bom(parent: SKU)
    case orderCost(order: OrderNumber, sku: SKU)
    case orderDue(order: OrderNumber)
    case orderNotes(order: OrderNumber)
    case orderTolerance(order: OrderNumber)
    /// The plant's default backflush basis, which new orders take unless they name one (schema 2).
    case plantBackflush

    public var rawValue: String {
        switch self {
        case .item(let sku): "item:\(sku)"
        case .bom(let parent): "bom:\(parent)"
        case .orderCost(let order, let sku): "order:\(order):cost:\(sku)"
        case .orderDue(let order): "order:\(order):due"
        case .orderNotes(let order): "order:\(order):notes"
        case .orderTolerance(let order): "order:\(order):tolerance"
        case .plantBackflush: "plant:backflush"
        }
    }

    public var description: String { rawValue }

    /// Reads a stored key. Codes never contain ':' (``Catalog/validateCode(_:what:)``), so the parts are unambiguous.
    public init?(rawValue: String) {
        let parts = rawValue.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard !parts.contains("") else { return nil }
        switch (parts.first, parts.count) {
        case ("item", 2): self = .item(sku: SKU(parts[1]))
        case ("bom", 2): self = .bom(parent: SKU(parts[1]))
        case ("order", 4) where parts[2] == "cost": self = .orderCost(order: OrderNumber(parts[1]), sku: SKU(parts[3]))
        case ("order", 3) where parts[2] == "due": self = .orderDue(order: OrderNumber(parts[1]))
        case ("order", 3) where parts[2] == "notes": self = .orderNotes(order: OrderNumber(parts[1]))
        case ("order", 3) where parts[2] == "tolerance": self = .orderTolerance(order: OrderNumber(parts[1]))
        case ("plant", 2) where parts[1] == "backflush": self = .plantBackflush
        default: return nil
        }
    }

    public static func < (lhs: FieldKey, rhs: FieldKey) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Every field of an order's stored key starts with this prefix.
    public static func orderPrefix(_ number: OrderNumber) -> String { "order:\(number):" }
}
