import Foundation
import GRDBSQLite
import ShopfloorReplication

/// The ceiling every write figure is compared with: the same operation rows inserted through SQLite's C API (the
/// library GRDB links), one prepared INSERT, into a table shaped like the replica's `ops` table with its indexes.
enum RawSQLite {
    /// The replica's `ops` table and indexes (Schema.swift, migration v1).
    static let opsTable = """
        CREATE TABLE ops (
            replica TEXT NOT NULL, counter INTEGER NOT NULL, lamport INTEGER NOT NULL, context TEXT NOT NULL,
            timestamp TEXT NOT NULL, date TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL,
            schema INTEGER NOT NULL, arrival INTEGER NOT NULL,
            PRIMARY KEY (replica, counter)
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX ops_canonical ON ops (lamport, replica, counter);
        CREATE UNIQUE INDEX ops_arrival ON ops (arrival);
        """

    /// One operation's column values as UTF-8, encoded before the clock starts (the replica stores the context as
    /// JSON with sorted keys, like this).
    struct Row: Sendable {
        var replica: [UInt8]
        var context: [UInt8]
        var timestamp: [UInt8]
        var date: [UInt8]
        var kind: [UInt8]
        var payload: [UInt8]
        var schema: Int64

        init(_ op: ShopOperation) {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            replica = Array(op.id.replica.utf8)
            context = (try? encoder.encode(op.context)).map(Array.init) ?? []
            timestamp = Array(op.timestamp.utf8)
            date = Array(op.date.utf8)
            kind = Array(op.kind.utf8)
            payload = Array(op.payload.utf8)
            schema = Int64(op.schema)
        }

        var bytes: Int {
            replica.count + context.count + timestamp.count + date.count + kind.count + payload.count + 4 * 8
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    final class Connection {
        let handle: OpaquePointer

        init(path: String, synchronous: String) throws {
            var handle: OpaquePointer?
            guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK,
                let handle
            else { throw Failure(description: "cannot open \(path)") }
            self.handle = handle
            try execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = \(synchronous);")
        }

        deinit { sqlite3_close_v2(handle) }

        func execute(_ sql: String) throws {
            guard sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK else {
                throw Failure(description: String(cString: sqlite3_errmsg(handle)))
            }
        }

        func prepare(_ sql: String) throws -> OpaquePointer {
            var statement: OpaquePointer?
            guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK,
                let statement
            else { throw Failure(description: String(cString: sqlite3_errmsg(handle))) }
            return statement
        }
    }

    static let insertSQL = """
        INSERT INTO ops (replica, counter, lamport, context, timestamp, date, kind, payload, schema, arrival)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    /// Binds `row` as operation number `index` (counter, lamport and arrival made unique) and steps.
    static func insert(_ row: Row, index: Int64, _ statement: OpaquePointer) throws {
        // SQLITE_STATIC (no copy): every buffer stays valid until the step below returns.
        func bind(_ column: Int32, _ bytes: [UInt8], then body: () throws -> Void) rethrows {
            try bytes.withUnsafeBytes { buffer in
                _ = sqlite3_bind_text(
                    statement, column, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(buffer.count), nil
                )
                try body()
            }
        }
        try bind(1, row.replica) {
            try bind(4, row.context) {
                try bind(5, row.timestamp) {
                    try bind(6, row.date) {
                        try bind(7, row.kind) {
                            try bind(8, row.payload) {
                                sqlite3_bind_int64(statement, 2, index)
                                sqlite3_bind_int64(statement, 3, index)
                                sqlite3_bind_int64(statement, 9, row.schema)
                                sqlite3_bind_int64(statement, 10, index)
                                defer { sqlite3_reset(statement) }
                                guard sqlite3_step(statement) == SQLITE_DONE else {
                                    throw Failure(description: "insert failed")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Inserts `count` rows (cycling through `rows`) in one transaction, synchronous=NORMAL; returns seconds.
    static func burst(_ rows: [Row], count: Int, path: String) throws -> Double {
        let connection = try Connection(path: path, synchronous: "NORMAL")
        try connection.execute(opsTable)
        let statement = try connection.prepare(insertSQL)
        defer { sqlite3_finalize(statement) }
        let clock = Stopwatch()
        try connection.execute("BEGIN")
        for index in 0..<count {
            try insert(rows[index % rows.count], index: Int64(index + 1), statement)
        }
        try connection.execute("COMMIT")
        return clock.seconds
    }

    /// `count` single-row transactions with synchronous=FULL (each commit durable); returns each commit's seconds.
    static func durableCommits(_ rows: [Row], count: Int, path: String) throws -> [Double] {
        let connection = try Connection(path: path, synchronous: "FULL")
        try connection.execute(opsTable)
        let statement = try connection.prepare(insertSQL)
        defer { sqlite3_finalize(statement) }
        var latencies: [Double] = []
        for index in 0..<count {
            let clock = Stopwatch()
            try connection.execute("BEGIN")
            try insert(rows[index % rows.count], index: Int64(index + 1), statement)
            try connection.execute("COMMIT")
            latencies.append(clock.seconds)
        }
        return latencies
    }

    /// An INSERT of `row` as SQL text, for the sqlite3 shell.
    static func literalInsert(_ row: Row, index: Int) -> String {
        func quoted(_ bytes: [UInt8]) -> String {
            "'" + String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "'", with: "''") + "'"
        }
        return "INSERT INTO ops VALUES (\(quoted(row.replica)), \(index), \(index), \(quoted(row.context)), "
            + "\(quoted(row.timestamp)), \(quoted(row.date)), \(quoted(row.kind)), \(quoted(row.payload)), \(row.schema), \(index));"
    }
}
