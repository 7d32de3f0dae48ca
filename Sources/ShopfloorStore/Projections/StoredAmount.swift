import GRDB
import ShopfloorDomain

/// How amounts are stored: INTEGER millionths when they fit in 64 bits, so the hot path reads and writes them
/// without text; decimal TEXT beyond (|amount| ≥ 9,223,372,036,854.775807, which `Amount` allows up to 10^18).
/// Both forms decode to the same ``Amount``; the digest hashes the canonical decimal text either way. Amounts are
/// written through the storage boundary (`SQLValue.amount`, bound by `SQLitePrepared`); this reads them from
/// GRDB rows in the queries not yet moved behind it.
enum StoredAmount {
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
}

/// A stored amount that is neither INTEGER millionths nor decimal text: the file was changed by something else.
struct StoredAmountError: Error, CustomStringConvertible {
    var value: String
    var description: String { "a stored amount is neither an integer nor a decimal: \(value)" }
}
