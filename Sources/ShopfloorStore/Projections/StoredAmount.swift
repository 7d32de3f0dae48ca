import GRDB
import ShopfloorDomain

/// How amounts are stored: INTEGER millionths when they fit in 64 bits, so the hot path reads and writes them
/// without text; decimal TEXT beyond (|amount| ≥ 9,223,372,036,854.775807, which `Amount` allows up to 10^18).
/// Both forms decode to the same ``Amount``; the digest hashes the canonical decimal text either way.
enum StoredAmount {
    static func value(_ amount: Amount) -> DatabaseValue {
        if let units = Int64(exactly: amount.units) { return units.databaseValue }
        return amount.description.databaseValue
    }

    static func value(_ amount: Amount?) -> DatabaseValue {
        amount.map(value) ?? .null
    }

    static func amount(_ value: DatabaseValue) throws -> Amount {
        switch value.storage {
        case .int64(let units): return try Amount.fromUnits(Int128(units))
        case .string(let text): return try Amount(parsing: text)
        default: throw StoredAmountError(value: value.description)
        }
    }

    static func optionalAmount(_ value: DatabaseValue) throws -> Amount? {
        value.isNull ? nil : try amount(value)
    }

    /// The canonical decimal text of a stored amount (for the digest).
    static func text(_ value: DatabaseValue) throws -> String {
        try amount(value).description
    }
}

/// A stored amount that is neither INTEGER millionths nor decimal text: the file was changed by something else.
struct StoredAmountError: Error, CustomStringConvertible {
    var value: String
    var description: String { "a stored amount is neither an integer nor a decimal: \(value)" }
}
