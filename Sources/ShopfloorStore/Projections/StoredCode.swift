import GRDB
import ShopfloorDomain

/// The domain's typed codes (``SKU``, ``OrderNumber``) bind and read as the TEXT they wrap, so a column keeps the
/// bytes it had as a `String`, and reading one by index goes through SQLite's text column directly, as a `String`
/// does (`StatementColumnConvertible`).
extension DatabaseValueConvertible where Self: CodeKey {
    public var databaseValue: DatabaseValue { rawValue.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> Self? {
        String.fromDatabaseValue(dbValue).map(Self.init)
    }
}

extension StatementColumnConvertible where Self: CodeKey {
    @inline(__always)
    public init?(sqliteStatement: SQLiteStatement, index: CInt) {
        self.init(String(sqliteStatement: sqliteStatement, index: index))
    }
}

extension SKU: DatabaseValueConvertible, StatementColumnConvertible {}
extension OrderNumber: DatabaseValueConvertible, StatementColumnConvertible {}
