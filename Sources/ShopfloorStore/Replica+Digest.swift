import Crypto
import Foundation
import GRDB
import GRDBSQLite
import ShopfloorDomain
import ShopfloorReplication

extension Replica {
    /// A stable SHA-256 over every projection row: the same op set gives the same digest on any machine.
    ///
    /// Defined over canonical row content (SyncProtocol/PROTOCOL.md, "State digest"), not over how rows are stored:
    /// amounts hash as canonical decimal text whether stored as integers or text, and a field that is null is left
    /// out, so a column added later with no value leaves the digest of existing data as it was. Local-only data
    /// (arrival order, replica name, sync bookkeeping) is not part of it.
    public func digest() throws -> String {
        try database.read { db in try Self.digest(db) }
    }

    /// The digest and the operations it is of, read in one transaction, after catching up with what other processes
    /// committed to the file.
    public func digestWithVector() throws -> (vector: VersionVector, digest: String) {
        try state.withLock { state in
            try database.read { db in
                try Self.catchUp(&state, db)
                return (state.vector, try Self.digest(db))
            }
        }
    }

    /// How one kind of row is hashed: its tag, its fields in order, and the key it is sorted by.
    struct DigestKind {
        enum Field {
            case text(String, column: String)
            case integer(String, column: String)
            case amount(String, column: String)
        }

        var tag: String
        var table: String
        var fields: [Field]
        var order: String
    }

    static let digestKinds: [DigestKind] = [
        DigestKind(
            tag: "item", table: "items",
            fields: [
                .text("sku", column: "sku"), .text("kind", column: "kind"), .text("unit", column: "unit"),
                .text("name", column: "name"),
            ], order: "sku"),
        DigestKind(
            tag: "location", table: "locations",
            fields: [.text("code", column: "code"), .text("name", column: "name")],
            order: "code"),
        DigestKind(
            tag: "bom", table: "bom_lines",
            fields: [
                .text("parent", column: "parent"), .text("child", column: "child"),
                .amount("quantity", column: "quantity"),
            ], order: "parent, child"),
        DigestKind(
            tag: "order", table: "orders",
            fields: [
                .text("number", column: "number"), .text("kind", column: "kind"),
                .text("location", column: "location"), .text("status", column: "status"), .text("due", column: "due"),
                .text("notes", column: "notes"), .amount("tolerance", column: "tolerance"),
                .text("created_by", column: "created_by"), .text("requested_number", column: "requested_number"),
                .text("closed_by", column: "closed_by"), .integer("creation_index", column: "creation_index"),
                .text("wip", column: "wip"), .text("fg", column: "fg"), .text("backflush", column: "backflush"),
            ],
            order: "number"),
        DigestKind(
            tag: "order_line", table: "order_lines",
            fields: [
                .text("order", column: "order_number"), .integer("idx", column: "idx"),
                .text("sku", column: "sku"), .amount("quantity", column: "quantity"),
                .amount("unit_cost", column: "unit_cost"), .amount("produced", column: "produced"),
                .amount("on_order", column: "on_order"), .amount("lost", column: "lost"),
            ], order: "order_number, idx"),
        DigestKind(
            tag: "line_input", table: "line_inputs",
            fields: [
                .text("order", column: "order_number"), .integer("line", column: "line_idx"),
                .integer("idx", column: "idx"), .text("sku", column: "sku"), .amount("quantity", column: "quantity"),
                .amount("consumed", column: "consumed"),
            ], order: "order_number, line_idx, idx"),
        DigestKind(
            tag: "order_input", table: "order_inputs",
            fields: [
                .text("order", column: "order_number"), .text("sku", column: "sku"),
                .amount("required", column: "required"), .amount("demand", column: "demand"),
                .amount("allocated", column: "allocated"), .amount("transferred", column: "transferred"),
                .amount("scrapped", column: "scrapped"),
            ], order: "order_number, sku"),
        DigestKind(
            tag: "receipt", table: "receipts",
            fields: [
                .text("id", column: "id"), .text("order", column: "order_number"), .text("date", column: "date"),
                .integer("voided", column: "voided"), .text("voided_by", column: "voided_by"),
                .integer("creation_index", column: "creation_index"), .text("operation", column: "operation"),
                .text("requested_id", column: "requested_id"),
            ], order: "id"),
        DigestKind(
            tag: "receipt_line", table: "receipt_lines",
            fields: [
                .text("receipt", column: "receipt_id"), .integer("idx", column: "idx"),
                .text("sku", column: "sku"), .amount("quantity", column: "quantity"),
            ], order: "receipt_id, idx"),
        DigestKind(
            tag: "ledger", table: "ledger",
            fields: [
                .integer("lamport", column: "lamport"), .text("replica", column: "replica"),
                .integer("counter", column: "counter"), .integer("idx", column: "idx"), .text("sku", column: "sku"),
                .text("location", column: "location"), .text("event", column: "event"),
                .amount("quantity", column: "quantity"), .amount("unit_cost", column: "unit_cost"),
                .amount("value", column: "value"), .amount("relieved", column: "relieved"),
                .text("ref", column: "ref"), .text("date", column: "date"), .text("line", column: "line"),
            ],
            order: "lamport, replica, counter, idx"),
        DigestKind(
            tag: "valuation", table: "valuations",
            fields: [
                .text("sku", column: "sku"), .text("location", column: "location"),
                .amount("quantity", column: "quantity"), .amount("value", column: "value"),
                .amount("last_rate", column: "last_rate"),
            ], order: "sku, location"),
        DigestKind(
            tag: "position", table: "positions",
            fields: [
                .text("sku", column: "sku"), .text("location", column: "location"),
                .amount("on_hand", column: "on_hand"), .amount("on_order", column: "on_order"),
                .amount("demand", column: "demand"), .amount("allocated", column: "allocated"),
                .amount("value", column: "value"),
            ], order: "sku, location"),
        DigestKind(
            tag: "conflict", table: "conflicts",
            fields: [
                .text("id", column: "id"), .text("kind", column: "kind"), .text("subject", column: "subject"),
                .text("operations", column: "operations"), .text("outcome", column: "outcome"),
                .text("explanation", column: "explanation"),
            ], order: "lamport, replica, counter, idx"),
        DigestKind(
            tag: "acknowledgement", table: "acknowledgements",
            fields: [
                .text("conflict", column: "conflict"), .text("operation", column: "operation"),
                .text("note", column: "note"), .text("date", column: "date"),
            ], order: "conflict"),
        DigestKind(
            tag: "field", table: "field_writes",
            fields: [
                .text("key", column: "key"), .text("operation", column: "operation"),
                .text("value", column: "value"), .text("rivals", column: "rivals"),
            ], order: "key"),
        DigestKind(
            tag: "order_transfer", table: "order_transfers",
            fields: [
                .text("order", column: "order_number"), .integer("idx", column: "idx"),
                .text("operation", column: "operation"),
            ], order: "order_number, idx"),
    ]

    /// Every projection row in its canonical digest form, per kind (to say precisely where two states differ).
    public func projectionRows() throws -> [(String, [String])] {
        try database.read { db in
            var tables: [(String, [String])] = []
            try Self.forEachCanonicalRow(db) { kind, line in
                if tables.last?.0 != kind.tag { tables.append((kind.tag, [])) }
                tables[tables.count - 1].1.append(String(decoding: line, as: UTF8.self))
            }
            return tables
        }
    }

    static func digest(_ db: Database) throws -> String {
        var hasher = SHA256()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 16)
        try forEachCanonicalRow(db) { _, line in
            buffer += line
            if buffer.count >= 1 << 16 {
                hasher.update(data: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        hasher.update(data: buffer)
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Calls `body` with each projection row as its canonical line (ending in a newline), kind by kind.
    static func forEachCanonicalRow(_ db: Database, _ body: (DigestKind, [UInt8]) throws -> Void) throws {
        var line: [UInt8] = []
        line.reserveCapacity(512)
        for kind in digestKinds {
            let columns = kind.fields.map { field in
                switch field {
                case .text(_, let column), .integer(_, let column), .amount(_, let column): column
                }
            }
            let names = kind.fields.map { field in
                switch field {
                case .text(let name, _), .integer(let name, _), .amount(let name, _): Array(name.utf8)
                }
            }
            // Read through SQLite's C API: the digest reads every projection row.
            let statement = try db.makeStatement(
                sql: "SELECT \(columns.joined(separator: ", ")) FROM \(kind.table) ORDER BY \(kind.order)")
            let handle = statement.sqliteStatement
            defer { sqlite3_reset(handle) }
            while true {
                let code = sqlite3_step(handle)
                if code == SQLITE_DONE { break }
                guard code == SQLITE_ROW else {
                    throw DatabaseError(
                        resultCode: ResultCode(rawValue: code),
                        message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
                }
                line.removeAll(keepingCapacity: true)
                line += kind.tag.utf8
                for (index, field) in kind.fields.enumerated() {
                    let column = Int32(index)
                    let type = sqlite3_column_type(handle, column)
                    guard type != SQLITE_NULL else { continue }
                    line.append(0x1F)
                    line += names[index]
                    line.append(UInt8(ascii: "="))
                    switch (field, type) {
                    case (.text, SQLITE_TEXT):
                        // Escaped, so no text can end a field or a row early: \ → \\, LF → \n, 0x1F → \s.
                        let count = Int(sqlite3_column_bytes(handle, column))
                        if let bytes = sqlite3_column_text(handle, column) {
                            for byte in UnsafeBufferPointer(start: bytes, count: count) {
                                switch byte {
                                case UInt8(ascii: "\\"): line += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                                case UInt8(ascii: "\n"): line += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                                case 0x1F: line += [UInt8(ascii: "\\"), UInt8(ascii: "s")]
                                default: line.append(byte)
                                }
                            }
                        }
                    case (.integer, SQLITE_INTEGER):
                        line += String(sqlite3_column_int64(handle, column)).utf8
                    case (.amount, SQLITE_INTEGER):
                        let units = sqlite3_column_int64(handle, column)
                        line += (try Amount.fromUnits(Int128(units))).description.utf8
                    case (.amount, SQLITE_TEXT):
                        let text = String(cString: sqlite3_column_text(handle, column))
                        line += try Amount(parsing: text).description.utf8
                    default:
                        throw DigestError(table: kind.table, column: columns[index], type: type)
                    }
                }
                line.append(UInt8(ascii: "\n"))
                try body(kind, line)
            }
        }
    }
}

/// A projection value of the wrong storage type: the file was changed by something other than this code.
struct DigestError: Error, CustomStringConvertible {
    var table: String
    var column: String
    var type: Int32
    var description: String { "\(table).\(column) holds a value of unexpected SQLite type \(type)" }
}
