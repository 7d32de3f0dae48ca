/// Moving weighted-average valuation of one SKU at one location.
///
/// Keeps the total value, not the rate: consuming `q` takes `q × rate` (rate = value ÷ quantity, rounded by
/// ``Amount``'s rule) and leaves the rest, so the sum of entry values always equals the stock value.
/// - When the quantity reaches exactly zero the value becomes zero; the rounding residue goes to that entry.
/// - Stock coming into zero or negative quantity takes the incoming rate.
/// - Stock going out at or below zero uses the last known rate.
public struct Valuation: Sendable, Hashable, Codable {
    public private(set) var quantity: Amount = .zero
    public private(set) var value: Amount = .zero
    /// The last known rate; zero until stock first comes in with a cost.
    public private(set) var lastRate: Amount = .zero

    public init() {}

    public init(quantity: Amount, value: Amount, lastRate: Amount) {
        self.quantity = quantity
        self.value = value
        self.lastRate = lastRate
    }

    /// The current moving-average rate (the last known rate when there is no positive stock).
    public func rate() throws(AmountError) -> Amount {
        quantity.isPositive ? try value.divided(by: quantity) : lastRate
    }

    /// Brings in `incoming` units worth `incomingValue`; returns the entry's value (the change in stock value).
    public mutating func receive(quantity incoming: Amount, value incomingValue: Amount) throws(AmountError) -> Amount {
        precondition(incoming.isPositive, "incoming quantity must be positive")
        let incomingRate = try incomingValue.divided(by: incoming)
        let newQuantity = try quantity.adding(incoming)
        let newValue: Amount
        if newQuantity.isZero {
            newValue = .zero
        } else if quantity.isNegative {
            // Coming out of negative stock: the whole remaining stock takes the incoming rate.
            newValue = try newQuantity.multiplied(by: incomingRate)
        } else {
            // From zero (value zero) or positive stock: the incoming value is kept exactly.
            newValue = try value.adding(incomingValue)
        }
        let delta = newValue - value
        quantity = newQuantity
        value = newValue
        lastRate = quantity.isPositive ? try value.divided(by: quantity) : incomingRate
        return delta
    }

    /// Takes out `outgoing` units at the moving average; returns the entry's value (zero or negative).
    public mutating func issue(quantity outgoing: Amount) throws(AmountError) -> Amount {
        precondition(outgoing.isPositive, "outgoing quantity must be positive")
        let newQuantity = try quantity.adding(-outgoing)
        let newValue: Amount
        if newQuantity.isZero {
            newValue = .zero
        } else if quantity.isPositive && newQuantity.isPositive {
            newValue = try value.adding(-(try outgoing.multiplied(by: try rate())))
        } else if quantity.isPositive {
            // Going through zero: everything on hand, then the shortfall at the last known rate.
            newValue = try newQuantity.multiplied(by: try rate())
        } else {
            newValue = try value.adding(-(try outgoing.multiplied(by: lastRate)))
        }
        let delta = newValue - value
        if quantity.isPositive { lastRate = try rate() }
        quantity = newQuantity
        value = newValue
        return delta
    }
}
