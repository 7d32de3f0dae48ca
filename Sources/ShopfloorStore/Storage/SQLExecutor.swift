import ShopfloorDomain

/// A value crossing the storage boundary (SyncProtocol/POSTGRES.md): what a statement binds and a row holds.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])
    /// An exact decimal: INTEGER millionths on SQLite (decimal TEXT beyond 64 bits), `numeric` on PostgreSQL.
    case amount(Amount)
}

/// Values the store binds, written without a case name at the call site.
public protocol SQLValueConvertible {
    var sqlValue: SQLValue { get }
}

extension SQLValue: SQLValueConvertible {
    public var sqlValue: SQLValue { self }
}

extension Int64: SQLValueConvertible {
    public var sqlValue: SQLValue { .integer(self) }
}

extension Int: SQLValueConvertible {
    public var sqlValue: SQLValue { .integer(Int64(self)) }
}

extension UInt64: SQLValueConvertible {
    /// Counters and sequence numbers stay below 2^63 (admission refuses larger): stored as SQL's signed integer.
    public var sqlValue: SQLValue { .integer(Int64(self)) }
}

extension Bool: SQLValueConvertible {
    /// 0 or 1, as SQLite stores a boolean; PostgreSQL's tables hold these columns as integers too.
    public var sqlValue: SQLValue { .integer(self ? 1 : 0) }
}

extension String: SQLValueConvertible {
    public var sqlValue: SQLValue { .text(self) }
}

extension Amount: SQLValueConvertible {
    public var sqlValue: SQLValue { .amount(self) }
}

extension SKU: SQLValueConvertible {
    public var sqlValue: SQLValue { .text(rawValue) }
}

extension OrderNumber: SQLValueConvertible {
    public var sqlValue: SQLValue { .text(rawValue) }
}

extension Optional: SQLValueConvertible where Wrapped: SQLValueConvertible {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// A statement prepared once and run many times in one transaction (a fold's ledger rows): on SQLite it keeps the
/// compiled statement, bound through the C API.
public protocol SQLStatement {
    /// Runs the statement with `values` for its placeholders, in order; returns the rows it changed.
    @discardableResult
    func execute(_ values: [SQLValue]) throws -> Int
    /// Runs the query and hands each row to `body`, which returns false to stop early.
    func query(_ values: [SQLValue], _ body: (SQLRow) throws -> Bool) throws
}

/// One transaction's access to the store: what every reader and writer of projections, the log and the bookkeeping
/// runs through, so the same code (and the same SQL, in the subset SQLite and PostgreSQL share) folds on a
/// device's SQLite file and on HQ's PostgreSQL. Placeholders are `?` (or `?N`, SQLite's numbering); an executor
/// for another dialect rewrites them.
public protocol SQLExecutor {
    /// Where the SQL of the two backends differs (a handful of functions), the store asks the dialect.
    var dialect: SQLDialect { get }
    /// The statement for `sql`, compiled once per connection where the backend can.
    func prepare(_ sql: String) throws -> any SQLStatement
    /// Runs `body` in a savepoint: what it wrote is kept when it returns true and undone when it returns false or
    /// throws (a failed statement leaves the enclosing transaction usable on both backends).
    func savepoint(_ body: () throws -> Bool) throws
}

extension SQLExecutor {
    /// Runs one statement; returns the rows it changed.
    @discardableResult
    public func execute(_ sql: String, _ values: any SQLValueConvertible...) throws -> Int {
        try prepare(sql).execute(values.map(\.sqlValue))
    }

    /// Runs one statement with its values as an array.
    @discardableResult
    public func execute(_ sql: String, values: [SQLValue]) throws -> Int {
        try prepare(sql).execute(values)
    }

    /// Every row of a query.
    public func rows(_ sql: String, _ values: any SQLValueConvertible...) throws -> [SQLRow] {
        try rows(sql, values: values.map(\.sqlValue))
    }

    public func rows(_ sql: String, values: [SQLValue]) throws -> [SQLRow] {
        var rows: [SQLRow] = []
        try prepare(sql).query(values) { row in
            rows.append(row)
            return true
        }
        return rows
    }

    /// The first row of a query, if any.
    public func row(_ sql: String, _ values: any SQLValueConvertible...) throws -> SQLRow? {
        var first: SQLRow?
        try prepare(sql).query(values.map(\.sqlValue)) { row in
            first = row
            return false
        }
        return first
    }

    /// The first column of the first row, when there is a row and the value is not NULL.
    public func scalar(_ sql: String, _ values: any SQLValueConvertible...) throws -> SQLValue? {
        var first: SQLValue?
        try prepare(sql).query(values.map(\.sqlValue)) { row in
            first = row[0]
            return false
        }
        return first == .null ? nil : first
    }
}

/// The few places the store's SQL differs between SQLite and PostgreSQL.
public enum SQLDialect: Sendable {
    case sqlite
    case postgres

    /// A table function over a JSON array bound at `parameter`: one row per element, its column `value` the element
    /// as JSON (`value ->> 0` reads an element of a nested array as text).
    public func jsonElements(_ parameter: String) -> String {
        switch self {
        case .sqlite: "json_each(\(parameter))"
        case .postgres: "json_array_elements(\(parameter)::json)"
        }
    }

    /// A text expression compared with the store's columns: PostgreSQL's tables hold text in the "C" collation
    /// (SQLite's byte order), and text made by a function (from JSON) must be given it too.
    public func collated(_ expression: String) -> String {
        switch self {
        case .sqlite: expression
        case .postgres: "(\(expression)) COLLATE \"C\""
        }
    }

    /// A table function over a JSON array of strings bound at `parameter`: one row per element, its column `value`
    /// the string.
    public func jsonTextElements(_ parameter: String) -> String {
        switch self {
        case .sqlite: "json_each(\(parameter))"
        case .postgres: "json_array_elements_text(\(parameter)::json)"
        }
    }
}

/// One row of a query's answer, by column index (fastest) or by name.
public struct SQLRow: Sendable {
    public var values: [SQLValue]
    /// The query's column names, shared by its rows.
    public let columns: [String]

    public init(values: [SQLValue], columns: [String]) {
        self.values = values
        self.columns = columns
    }

    public subscript(index: Int) -> SQLValue { values[index] }

    /// The value of the column called `name` (as the query spells it); NULL when there is none.
    public subscript(name: String) -> SQLValue {
        guard let index = columns.firstIndex(of: name) else { return .null }
        return values[index]
    }
}

/// A stored value that is not what its column should hold: the database was changed by something other than
/// Shopfloor.
public struct SQLValueError: Error, CustomStringConvertible {
    public var expected: String
    public var found: SQLValue
    public var description: String { "a stored value is not \(expected): \(found)" }
}

extension SQLValue {
    public var isNull: Bool { self == .null }

    public func int64() throws -> Int64 {
        switch self {
        case .integer(let value): return value
        case .amount(let amount) where amount.units % 1_000_000 == 0:
            // PostgreSQL hands back aggregates of integer columns (SUM over bigint) as numeric.
            if let value = Int64(exactly: amount.units / 1_000_000) { return value }
        case .text(let text): if let value = Int64(text) { return value }
        default: break
        }
        throw SQLValueError(expected: "an integer", found: self)
    }

    public func optionalInt64() throws -> Int64? { isNull ? nil : try int64() }

    public func int() throws -> Int { Int(try int64()) }

    public func optionalInt() throws -> Int? { isNull ? nil : try int() }

    public func uint64() throws -> UInt64 {
        let value = try int64()
        guard value >= 0 else { throw SQLValueError(expected: "a count", found: self) }
        return UInt64(value)
    }

    public func string() throws -> String {
        guard case .text(let text) = self else { throw SQLValueError(expected: "text", found: self) }
        return text
    }

    public func optionalString() throws -> String? { isNull ? nil : try string() }

    public func bool() throws -> Bool { try int64() != 0 }

    /// An amount as either backend stores it: millionths, decimal text, or `numeric`.
    public func amount() throws -> Amount {
        switch self {
        case .amount(let amount): return amount
        case .integer(let units): return try Amount.fromUnits(Int128(units))
        case .text(let text): return try Amount(parsing: text)
        default: throw SQLValueError(expected: "an amount", found: self)
        }
    }

    public func optionalAmount() throws -> Amount? { isNull ? nil : try amount() }

    public func code<Code: CodeKey>(_ type: Code.Type = Code.self) throws -> Code { Code(try string()) }

    public func optionalCode<Code: CodeKey>(_ type: Code.Type = Code.self) throws -> Code? {
        isNull ? nil : Code(try string())
    }
}

extension SQLValue: ExpressibleByStringInterpolation, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) {
        self = .text(value)
    }

    public init(stringInterpolation: DefaultStringInterpolation) {
        self = .text(String(stringInterpolation: stringInterpolation))
    }

    public init(integerLiteral value: Int64) {
        self = .integer(value)
    }
}
