/// An order's number (`WO-1`, `PO-r1-7`, or `PO-1~r2` once rule 7 renamed it): what the order book, receipts,
/// ledger references and order field keys name an order by. See ``CodeKey`` for what it keeps of the string.
@frozen
public struct OrderNumber: CodeKey {
    public let rawValue: String

    @inlinable public init(_ rawValue: String) { self.rawValue = rawValue }
}
