/// A stock-keeping unit's code (`STEEL`, `CHAIR`): what items, BOM lines, order lines, stock and ledger entries are
/// keyed by. See ``CodeKey`` for what it keeps of the string.
@frozen
public struct SKU: CodeKey {
    public let rawValue: String

    @inlinable public init(_ rawValue: String) { self.rawValue = rawValue }
}
