import GRDB
import GRDBSQLite
import ShopfloorDomain

/// The storage boundary over a GRDB connection inside its transaction: statements are GRDB's cached ones, bound
/// and stepped through SQLite's C API (GRDB's argument arrays cost more than a fold's insert).
extension Database: SQLExecutor {
    public var dialect: SQLDialect { .sqlite }

    public func prepare(_ sql: String) throws -> any SQLStatement {
        SQLitePrepared(db: self, statement: try cachedStatement(sql: sql))
    }

    public func savepoint(_ body: () throws -> Bool) throws {
        try inSavepoint { try body() ? .commit : .rollback }
    }
}

/// A cached GRDB statement run through the C API. As with GRDB's cached statements, a query's body must not run
/// the same SQL again while it iterates (the one compiled statement would be reset under it).
public struct SQLitePrepared: SQLStatement {
    let db: Database
    let statement: Statement
    private var handle: OpaquePointer { statement.sqliteStatement }
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    public func execute(_ values: [SQLValue]) throws -> Int {
        bind(values)
        defer { finish() }
        var code = sqlite3_step(handle)
        while code == SQLITE_ROW { code = sqlite3_step(handle) }
        guard code == SQLITE_DONE else { throw failure(code) }
        return db.changesCount
    }

    public func query(_ values: [SQLValue], _ body: (SQLRow) throws -> Bool) throws {
        bind(values)
        defer { finish() }
        let columns = statement.columnNames
        let count = Int32(columns.count)
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else { throw failure(code) }
            var row: [SQLValue] = []
            row.reserveCapacity(columns.count)
            for index in 0..<count { row.append(column(index)) }
            guard try body(SQLRow(values: row, columns: columns)) else { return }
        }
    }

    private func column(_ index: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(handle, index))
            guard let text = sqlite3_column_text(handle, index) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, index))
            guard count > 0, let bytes = sqlite3_column_blob(handle, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        case SQLITE_FLOAT:
            // No column of Shopfloor's holds a float; one put there by another tool reads as its text.
            return .text(String(sqlite3_column_double(handle, index)))
        default: return .null
        }
    }

    private func bind(_ values: [SQLValue]) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .null: sqlite3_bind_null(handle, index)
            case .integer(let integer): sqlite3_bind_int64(handle, index, integer)
            case .text(let text): bind(text, index)
            case .blob(let bytes):
                bytes.withUnsafeBytes { raw in
                    // A zero-length blob is a blob, not NULL: SQLite needs a non-null pointer for it.
                    let start = raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)
                    _ = sqlite3_bind_blob(handle, index, start, Int32(raw.count), Self.transient)
                }
            case .amount(let amount):
                // As StoredAmount stores it: INTEGER millionths when they fit in 64 bits, decimal text beyond.
                if let units = Int64(exactly: amount.units) {
                    sqlite3_bind_int64(handle, index, units)
                } else {
                    bind(amount.description, index)
                }
            }
        }
    }

    private func bind(_ text: String, _ index: Int32) {
        var text = text
        text.withUTF8 { bytes in
            _ = sqlite3_bind_text(handle, index, bytes.baseAddress, Int32(bytes.count), Self.transient)
        }
    }

    private func finish() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    private func failure(_ code: Int32) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
            sql: statement.sql)
    }
}
