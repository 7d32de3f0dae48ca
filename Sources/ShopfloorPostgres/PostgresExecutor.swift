import Foundation
import Logging
import NIOCore
import PostgresNIO
import ShopfloorDomain
import ShopfloorStore

extension PostgresStore {
    /// Runs the store's synchronous code (`body`) in one transaction on one connection of this node's pool, through
    /// a ``PostgresExecutor``. Retries and the unknown outcome of a COMMIT are as ``transaction(_:idempotent:_:)``
    /// says: `body` may run again, from the start, in a new transaction.
    ///
    /// `body` runs on a thread of its own, never on Swift's cooperative pool, and each statement blocks that thread
    /// until PostgreSQL answers. The threads are bounded by the pool: one is started per transaction, after its
    /// connection was leased.
    @discardableResult
    public func withExecutor<T: Sendable>(
        _ what: String, idempotent: Bool = false, _ body: @escaping @Sendable (any SQLExecutor) throws -> T
    ) async throws -> T {
        let logger = logger
        return try await transaction(what, idempotent: idempotent) { connection in
            do {
                return try await PostgresExecutor.run(on: connection, logger: logger, body)
            } catch let error as PostgresStatementError where PostgresFailure.isTransient(error.underlying) {
                // The connection, not the statement, failed (or a serialization failure): the retry loop decides.
                throw error.underlying
            }
        }
    }
}

/// The storage boundary over one PostgresNIO connection inside its transaction, driven synchronously from a
/// dedicated thread: each statement is sent to the connection's event loop and the thread waits for the answer.
/// Placeholders are rewritten by ``PostgresPlaceholders``; values are bound with their types (`int8`, `text`,
/// `bytea`, `numeric`; NULL untyped, so that it fits any column).
///
/// A failed statement aborts a PostgreSQL transaction, where SQLite's goes on: after one, only the rollback of an
/// enclosing ``savepoint(_:)`` makes the transaction usable again, and a body that catches the error and returns is
/// refused (``PostgresStatementError/abortedTransaction(first:)``) rather than committed.
public final class PostgresExecutor: SQLExecutor {
    let connection: PostgresConnection
    let logger: Logger
    /// Savepoints begun so far: each gets a name of its own.
    private var savepointsBegun = 0
    /// The first statement error since the transaction, or the savepoint rolled back last, was usable.
    private var failure: PostgresStatementError?
    /// Set when the transaction is over: an executor kept past its body must not run statements on a connection
    /// that went back to the pool.
    private var finished = false

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Runs `body` with an executor on `connection` (inside its open transaction) on a new thread.
    static func run<T: Sendable>(
        on connection: PostgresConnection, logger: Logger, _ body: @escaping @Sendable (any SQLExecutor) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let thread = Thread {
                // Named from inside: Linux takes a thread's name from the thread itself, in at most 15 bytes.
                Thread.current.name = Self.threadName
                let executor = PostgresExecutor(connection: connection, logger: logger)
                let result = Result { () throws -> T in
                    defer { executor.finished = true }
                    let value = try body(executor)
                    if let failure = executor.failure {
                        throw PostgresStatementError.abortedTransaction(first: failure)
                    }
                    return value
                }
                continuation.resume(with: result)
            }
            // The fold's recursion (BOM explosion) gets the stack a main thread has, not a secondary thread's default.
            thread.stackSize = Self.threadStackBytes
            thread.start()
        }
    }

    static let threadStackBytes = 8 << 20
    /// What a debugger or `top -H` shows for the executor's threads.
    public static let threadName = "sf-pg-executor"

    public var dialect: SQLDialect { .postgres }

    public func prepare(_ sql: String) throws -> any SQLStatement {
        PostgresPrepared(executor: self, sql: sql, rewrite: try PostgresPlaceholders.cached(sql))
    }

    public func savepoint(_ body: () throws -> Bool) throws {
        savepointsBegun += 1
        let name = "shopfloor_savepoint_\(savepointsBegun)"
        try run("SAVEPOINT \(name)")
        let keep: Bool
        do {
            keep = try body()
        } catch {
            try rollBack(to: name)
            throw error
        }
        if keep, let failure {
            // The body caught a failed statement and asked to keep the rest: PostgreSQL has nothing left to keep.
            try rollBack(to: name)
            throw PostgresStatementError.abortedTransaction(first: failure)
        }
        if keep {
            try run("RELEASE SAVEPOINT \(name)")
        } else {
            try rollBack(to: name)
        }
    }

    private func rollBack(to name: String) throws {
        try run("ROLLBACK TO SAVEPOINT \(name)")
        // Everything since the savepoint is undone, a failed statement included: the transaction is usable again.
        failure = nil
        try run("RELEASE SAVEPOINT \(name)")
    }

    private func run(_ sql: String) throws {
        _ = try send(PostgresQuery(unsafeSQL: sql), sql: sql)
    }

    /// Sends one statement and blocks this (dedicated) thread until its answer is in.
    func send(_ query: PostgresQuery, sql: String) throws -> PostgresQueryResult {
        precondition(!finished, "a PostgresExecutor was used after its transaction ended")
        do {
            return try connection.query(query, logger: logger).wait()
        } catch {
            let failed = PostgresStatementError.statement(sql: sql, reason: PostgresFailure.describe(error), error)
            if failure == nil { failure = failed }
            throw failed
        }
    }
}

/// One statement of a ``PostgresExecutor``, its placeholders rewritten once. PostgreSQL parses it again on each run
/// (PostgresNIO sends an unnamed statement per query), which costs no round trip.
struct PostgresPrepared: SQLStatement {
    let executor: PostgresExecutor
    let sql: String
    let rewrite: PostgresPlaceholders.Rewrite

    func execute(_ values: [SQLValue]) throws -> Int {
        let result = try executor.send(try query(values), sql: sql)
        return Self.changes(result.metadata)
    }

    func query(_ values: [SQLValue], _ body: (SQLRow) throws -> Bool) throws {
        let result = try executor.send(try query(values), sql: sql)
        guard let first = result.rows.first else { return }
        let columns = first.map(\.columnName)
        for row in result.rows {
            var decoded: [SQLValue] = []
            decoded.reserveCapacity(columns.count)
            for cell in row { decoded.append(PostgresValues.value(of: cell)) }
            guard try body(SQLRow(values: decoded, columns: columns)) else { return }
        }
    }

    private func query(_ values: [SQLValue]) throws -> PostgresQuery {
        guard values.count == rewrite.parameterCount else {
            throw PostgresStatementError.parameterCount(sql: sql, expected: rewrite.parameterCount, found: values.count)
        }
        var binds = PostgresBindings(capacity: values.count)
        for value in values {
            if value == .null {
                binds.appendNull()
            } else {
                binds.append(PostgresParameter(value))
            }
        }
        return PostgresQuery(unsafeSQL: rewrite.sql, binds: binds)
    }

    /// The rows an INSERT, UPDATE, DELETE or MERGE changed, from its command tag; 0 for any other statement.
    static func changes(_ metadata: PostgresQueryMetadata) -> Int {
        switch metadata.command {
        case "INSERT", "UPDATE", "DELETE": return metadata.rows ?? 0
        default:
            // PostgresNIO leaves MERGE's tag ("MERGE n") whole.
            let parts = metadata.command.split(separator: " ")
            guard parts.count == 2, parts[0] == "MERGE" else { return 0 }
            return Int(parts[1]) ?? 0
        }
    }
}

/// One bound value, with the type PostgreSQL is told (so that it need not infer one from context).
struct PostgresParameter: PostgresDynamicTypeEncodable {
    let value: SQLValue

    init(_ value: SQLValue) {
        self.value = value
    }

    var psqlType: PostgresDataType {
        switch value {
        case .null: .null
        case .integer: .int8
        case .text: .text
        case .blob: .bytea
        case .amount: .numeric
        }
    }

    var psqlFormat: PostgresFormat {
        switch value {
        // PostgreSQL parses a numeric's decimal text exactly; its binary form would need base-10000 digits.
        case .amount, .text: .text
        case .null, .integer, .blob: .binary
        }
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(
        into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        switch value {
        case .null: break
        case .integer(let integer): byteBuffer.writeInteger(integer)
        case .text(let text): byteBuffer.writeString(text)
        case .blob(let bytes): byteBuffer.writeBytes(bytes)
        case .amount(let amount): byteBuffer.writeString(amount.description)
        }
    }
}

/// Columns read back as the store's values, by their PostgreSQL type (PostgresNIO asks for every result in binary).
enum PostgresValues {
    static func value(of cell: PostgresCell) -> SQLValue {
        guard var bytes = cell.bytes else { return .null }
        switch cell.dataType {
        case .int2: return bytes.readInteger(as: Int16.self).map { .integer(Int64($0)) } ?? text(of: cell)
        case .int4: return bytes.readInteger(as: Int32.self).map { .integer(Int64($0)) } ?? text(of: cell)
        case .oid: return bytes.readInteger(as: UInt32.self).map { .integer(Int64($0)) } ?? text(of: cell)
        case .int8: return bytes.readInteger(as: Int64.self).map { .integer($0) } ?? text(of: cell)
        case .bool: return bytes.readInteger(as: UInt8.self).map { .integer($0 == 0 ? 0 : 1) } ?? text(of: cell)
        case .bytea: return .blob(Array(bytes.readableBytesView))
        case .numeric:
            guard let decimal = numericText(&bytes) else { return text(of: cell) }
            // Beyond an amount's six decimals or eighteen digits (an AVG, another tool's column): its exact text.
            return (try? Amount(parsing: decimal)).map { .amount($0) } ?? .text(decimal)
        case .text, .varchar, .bpchar, .name, .unknown: return .text(String(buffer: bytes))
        default: return text(of: cell)
        }
    }

    /// A column of a type Shopfloor's tables do not hold, as text: what `::text` would mostly give.
    private static func text(of cell: PostgresCell) -> SQLValue {
        switch cell.dataType {
        case .float4, .float8:
            if let number = try? cell.decode(Double.self) { return .text(String(number)) }
        case .timestamp, .timestamptz:
            if let date = try? cell.decode(Date.self) { return .text(date.formatted(.iso8601)) }
        case .uuid, .json, .jsonb:
            if let string = try? cell.decode(String.self) { return .text(string) }
        default: break
        }
        let hex = (cell.bytes.map { Array($0.readableBytesView) } ?? []).map { byte in
            (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }
        return .text("\\x\(hex.joined()) (\(cell.dataType))")
    }

    /// The decimal text of a binary `numeric`: a sign, a weight and base-10000 digits (PostgreSQL's numeric.c), with
    /// as many fractional digits as its display scale; nil when the bytes are not one.
    static func numericText(_ buffer: inout ByteBuffer) -> String? {
        guard let (count, weight16, sign, scale) = buffer.readMultipleIntegers(as: (Int16, Int16, UInt16, Int16).self),
            count >= 0, scale >= 0
        else { return nil }
        switch sign {
        case 0x0000, 0x4000: break
        case 0xC000: return "NaN"
        case 0xD000: return "Infinity"
        case 0xF000: return "-Infinity"
        default: return nil
        }
        var digits: [Int16] = []
        digits.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let digit = buffer.readInteger(as: Int16.self), (0..<10_000).contains(digit) else { return nil }
            digits.append(digit)
        }
        let weight = Int(weight16)
        /// The base-10000 digit worth 10000^power.
        func digit(_ power: Int) -> Int16 {
            let index = weight - power
            return index >= 0 && index < digits.count ? digits[index] : 0
        }
        func padded(_ value: Int16) -> String {
            let text = String(value)
            return String(repeating: "0", count: 4 - text.count) + text
        }
        var text = sign == 0x4000 ? "-" : ""
        text += String(digit(max(weight, 0)))
        if weight > 0 {
            for power in stride(from: weight - 1, through: 0, by: -1) { text += padded(digit(power)) }
        }
        if scale > 0 {
            let groups = (Int(scale) + 3) / 4
            var fraction = ""
            for power in stride(from: -1, through: -groups, by: -1) { fraction += padded(digit(power)) }
            text += "." + fraction.prefix(Int(scale))
        }
        return text
    }
}

/// A statement PostgreSQL refused, or one the executor would not send, with the SQL it was.
public enum PostgresStatementError: Error, Sendable, CustomStringConvertible {
    /// PostgreSQL (or the connection) failed the statement: `reason` has the server's message and SQLSTATE.
    case statement(sql: String, reason: String, any Error)
    /// The statement has `expected` placeholders and was given `found` values.
    case parameterCount(sql: String, expected: Int, found: Int)
    /// A statement failed and the code went on as if it had not: PostgreSQL aborted the transaction (or the
    /// savepoint) at that statement, so nothing after it can be kept.
    indirect case abortedTransaction(first: PostgresStatementError)

    /// The SQLSTATE PostgreSQL answered with, when it did (23505: a unique constraint).
    public var sqlState: String? {
        switch self {
        case .statement(_, _, let error): PostgresFailure.state(error)
        case .parameterCount: nil
        case .abortedTransaction(let first): first.sqlState
        }
    }

    /// The error PostgresNIO threw.
    var underlying: any Error {
        switch self {
        case .statement(_, _, let error): error
        case .parameterCount: self
        case .abortedTransaction(let first): first.underlying
        }
    }

    public var description: String {
        switch self {
        case .statement(let sql, let reason, _):
            "PostgreSQL failed a statement: \(reason); SQL: \(sql)"
        case .parameterCount(let sql, let expected, let found):
            "a statement with \(expected) placeholders was given \(found) values; SQL: \(sql)"
        case .abortedTransaction(let first):
            "a failed statement was caught and the transaction went on, but PostgreSQL aborted it there (run such a "
                + "statement in a savepoint): \(first)"
        }
    }
}
