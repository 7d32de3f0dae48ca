import Foundation
import GRDB
import Logging
import ShopfloorDomain
import ShopfloorPostgres
import ShopfloorStore
import Testing

/// The storage boundary over PostgreSQL: placeholders, values, counts, savepoints and errors against a real server,
/// and the same statements giving the same answers on SQLite.
@Suite struct PostgresExecutorTests {
    static let logger = Logger(label: "shopfloor.test.postgres")

    // MARK: Placeholders (no server)

    struct Rewriting: Sendable, CustomTestStringConvertible {
        var sql: String
        var expected: String
        var count: Int
        var testDescription: String { sql }
    }

    @Test(arguments: [
        Rewriting(sql: "SELECT ?, ?", expected: "SELECT $1, $2", count: 2),
        Rewriting(sql: "SELECT ?1, ?1, ?", expected: "SELECT $1, $1, $2", count: 2),
        Rewriting(sql: "SELECT ?2, ?", expected: "SELECT $2, $3", count: 3),
        Rewriting(sql: "SELECT ?3, ?1, ?", expected: "SELECT $3, $1, $4", count: 4),
        Rewriting(sql: "SELECT ?, ?1, ?", expected: "SELECT $1, $1, $2", count: 2),
        Rewriting(sql: "SELECT ?12", expected: "SELECT $12", count: 12),
        Rewriting(
            sql: "SELECT '?', ? WHERE x = 'it''s ?' AND y = ?",
            expected: "SELECT '?', $1 WHERE x = 'it''s ?' AND y = $2",
            count: 2),
        Rewriting(sql: "SELECT '', ?, ''''", expected: "SELECT '', $1, ''''", count: 1),
        Rewriting(sql: #"SELECT "a?b", "q""?", ?"#, expected: #"SELECT "a?b", "q""?", $1"#, count: 1),
        Rewriting(
            sql: "SELECT ? -- why?\n, ? /* a ? /* nested ? */ still ? */, ?",
            expected: "SELECT $1 -- why?\n, $2 /* a ? /* nested ? */ still ? */, $3", count: 3),
        Rewriting(sql: "SELECT 1 - -1, 2 / 1", expected: "SELECT 1 - -1, 2 / 1", count: 0),
        Rewriting(sql: "SELECT 'é?', ?", expected: "SELECT 'é?', $1", count: 1),
    ])
    func placeholdersAreNumberedAsSQLiteNumbersThem(_ example: Rewriting) throws {
        let rewrite = try PostgresPlaceholders.rewrite(example.sql)
        #expect(rewrite.sql == example.expected)
        #expect(rewrite.parameterCount == example.count)
        #expect(try PostgresPlaceholders.cached(example.sql) == rewrite)
    }

    @Test func parameterZeroIsRefused() {
        #expect(throws: PostgresPlaceholderError.self) { try PostgresPlaceholders.rewrite("SELECT ?0") }
        #expect(throws: PostgresPlaceholderError.self) { try PostgresPlaceholders.rewrite("SELECT ?70000") }
    }

    // MARK: Values

    static let table = """
        CREATE TABLE t (
            k bigint PRIMARY KEY, n bigint, s text, b bytea, q numeric(25, 6), c integer NOT NULL DEFAULT 0
        )
        """

    @Test func everyKindOfValueComesBackAsItWasBound() async throws {
        let largest = try Amount(parsing: "999999999999999999.999999")
        let values: [[SQLValue]] = [
            [.integer(1), .integer(Int64.max), .text("plain"), .blob([0, 1, 255]), .amount(largest)],
            [.integer(2), .integer(Int64.min), .text("Grüße, 工場 🏭 'quoted' \"?\""), .blob([]), .amount(-largest)],
            [.integer(3), .null, .null, .null, .null],
            [.integer(4), .integer(0), .text(""), .blob(Array(0...255)), .amount(try Amount(parsing: "0.000001"))],
            [.integer(5), .integer(-1), .text("x"), .blob([0]), .amount(try Amount(parsing: "-1.5"))],
            [.integer(6), .integer(7), .text("y"), .blob([7]), .amount(.zero)],
        ]
        try await Self.withStore { store, _ in
            let read = try await store.withExecutor("round-trip values") { sql in
                try sql.execute(Self.table)
                let insert = try sql.prepare("INSERT INTO t (k, n, s, b, q) VALUES (?, ?, ?, ?, ?)")
                for row in values { #expect(try insert.execute(row) == 1) }
                return try sql.rows("SELECT k, n, s, b, q FROM t ORDER BY k").map(\.values)
            }
            #expect(read == values)
            // Parameters PostgreSQL must type from context: comparisons with each kind, and values echoed back.
            let answers = try await store.withExecutor("compare values") { sql in
                [
                    try sql.scalar("SELECT count(*) FROM t WHERE q = ?", largest),
                    try sql.scalar("SELECT k FROM t WHERE q < ? ORDER BY q LIMIT 1", Amount.zero),
                    try sql.scalar("SELECT count(*) FROM t WHERE n > ?", 0),
                    try sql.scalar("SELECT k FROM t WHERE s = ?", "x"),
                    try sql.scalar("SELECT k FROM t WHERE b = ?", SQLValue.blob([7])),
                    try sql.scalar("SELECT count(*) FROM t WHERE n IS NOT DISTINCT FROM ?", SQLValue.null),
                    try sql.scalar("SELECT ?", largest), try sql.scalar("SELECT ?", "text"),
                    try sql.scalar("SELECT ?", SQLValue.blob([1, 2])), try sql.scalar("SELECT ?", 42),
                    try sql.row("SELECT ?", SQLValue.null)?[0],
                ]
            }
            #expect(
                answers == [
                    .integer(1), .integer(2), .integer(2), .integer(5), .integer(6), .integer(1), .amount(largest),
                    .text("text"), .blob([1, 2]), .integer(42), .null,
                ])
        }
    }

    @Test func columnsAreReadByTheirType() async throws {
        try await Self.withStore { store, _ in
            let row = try await store.withExecutor("read types") { sql in
                try sql.execute(Self.table)
                try sql.execute("INSERT INTO t (k, n, q) VALUES (1, 2, 2.5), (2, 40, 0.25)")
                return try sql.row(
                    """
                    SELECT SUM(n) AS total, AVG(q) AS mean, 1.0 / 3 AS third, 10::numeric ^ 30 AS huge, true AS yes,
                        false AS no, 7::smallint AS small, 8::integer AS medium, 'v'::varchar AS v, 'c'::char(2) AS c,
                        0.5::float8 AS f, 'NaN'::numeric AS nan, NULL::numeric AS missing, '{"a":1}'::jsonb AS j,
                        '-0.000100'::numeric(25, 6) AS small_amount
                    FROM t
                    """)
            }
            let values = try #require(row)
            #expect(values["total"] == .amount(Amount(42)))
            #expect(try values["total"].int64() == 42)
            #expect(values["mean"] == .amount(try Amount(parsing: "1.375")))
            #expect(values["third"] == .text("0.33333333333333333333"))
            guard case .text(let huge) = values["huge"] else {
                Issue.record("10^30 read as \(values["huge"])")
                return
            }
            #expect(huge.hasPrefix("1" + String(repeating: "0", count: 30)))
            #expect(values["yes"] == .integer(1))
            #expect(values["no"] == .integer(0))
            #expect(values["small"] == .integer(7))
            #expect(values["medium"] == .integer(8))
            #expect(values["v"] == .text("v"))
            #expect(values["c"] == .text("c "))
            #expect(values["f"] == .text("0.5"))
            #expect(values["nan"] == .text("NaN"))
            #expect(values["missing"] == .null)
            #expect(values["j"] == .text(#"{"a": 1}"#))
            #expect(values["small_amount"] == .amount(try Amount(parsing: "-0.0001")))
            #expect(values["no such column"] == .null)
            #expect(values.columns.first == "total")
        }
    }

    /// A NULL is sent without a type, so that it fits a column of any type; where nothing around a placeholder gives
    /// PostgreSQL its type (`? IS NULL` alone), the SQL must cast it, as it would on any PostgreSQL driver.
    @Test func aNullTakesTheTypeOfWhatItIsComparedWith() async throws {
        try await Self.withStore { store, _ in
            let counts = try await store.withExecutor("compare NULLs") { sql in
                try sql.execute(Self.table)
                try sql.execute("INSERT INTO t (k, n, s) VALUES (1, NULL, 'a'), (2, 5, NULL)")
                return [
                    try sql.scalar("SELECT count(*) FROM t WHERE n IS NOT DISTINCT FROM ?", SQLValue.null),
                    try sql.scalar("SELECT count(*) FROM t WHERE ?1::bigint IS NULL OR n = ?1", SQLValue.null),
                    try sql.scalar("SELECT count(*) FROM t WHERE ?1::bigint IS NULL OR n = ?1", 5),
                    try sql.scalar("SELECT count(*) FROM t WHERE COALESCE(?, s) = 'a'", SQLValue.null),
                ]
            }
            #expect(counts == [.integer(1), .integer(2), .integer(1), .integer(1)])
            let error = await #expect(throws: PostgresStatementError.self) {
                try await store.withExecutor("an untyped NULL") { sql in
                    try sql.scalar("SELECT count(*) FROM t WHERE ?1 IS NULL OR n = ?1", SQLValue.null)
                }
            }
            #expect(error?.sqlState == "42P08")
        }
    }

    // MARK: Statements

    @Test func executeCountsTheRowsChanged() async throws {
        try await Self.withStore { store, _ in
            let counts = try await store.withExecutor("count changes") { sql in
                try sql.execute(Self.table)
                return [
                    try sql.execute("INSERT INTO t (k, n) VALUES (?, ?), (?, ?), (?, ?)", 1, 10, 2, 20, 3, 30),
                    try sql.execute("UPDATE t SET n = n + 1 WHERE k >= ?", 2),
                    try sql.execute("UPDATE t SET n = 0 WHERE k = ?", 99),
                    try sql.execute("INSERT INTO t (k, n) VALUES (?, ?) ON CONFLICT (k) DO NOTHING", 1, 0),
                    try sql.execute(
                        "INSERT INTO t (k, n) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET n = excluded.n", 1, 5),
                    try sql.execute("DELETE FROM t WHERE n > ?", 20),
                    try sql.execute("SELECT * FROM t"),
                ]
            }
            #expect(counts == [3, 2, 0, 0, 1, 2, 0])
        }
    }

    @Test func anUpsertReplacesTheColumnsItNames() async throws {
        try await Self.withStore { store, database in
            let upsert = "INSERT INTO t (k, q, s) VALUES (?1, ?2, ?3) ON CONFLICT (k) DO UPDATE SET q = excluded.q"
            try await store.withExecutor("upsert") { sql in
                try sql.execute(Self.table)
                try sql.execute(upsert, 1, Amount(3), "first")
                try sql.execute(upsert, 1, try Amount(parsing: "4.25"), "second")
                try sql.execute(upsert, 2, Amount?.none, "other")
            }
            let rows = try await database.rows("SELECT k, q::text, s FROM t ORDER BY k")
            #expect(
                try rows.map { try $0.decode((Int, String?, String).self) }.map { "\($0) \($1 ?? "-") \($2)" } == [
                    "1 4.250000 first", "2 - other",
                ])
        }
    }

    @Test func aPreparedStatementRunsManyTimesOnTheExecutorsOwnThread() async throws {
        try await Self.withStore { store, _ in
            let (total, changed) = try await store.withExecutor("insert many") { sql in
                try sql.execute(Self.table)
                let insert = try sql.prepare("INSERT INTO t (k, q) VALUES (?, ?)")
                var changed = 0
                for k in 1...200 { changed += try insert.execute([.integer(Int64(k)), .amount(Amount(k))]) }
                let total = try sql.scalar("SELECT SUM(q) FROM t").map { try $0.amount() }
                return (total, changed)
            }
            #expect(changed == 200)
            #expect(total == Amount(200 * 201 / 2))
        }
    }

    @Test func aQueryCanStopEarlyAndRunOtherStatementsWhileItIterates() async throws {
        try await Self.withStore { store, _ in
            let seen = try await store.withExecutor("iterate") { sql in
                try sql.execute(Self.table)
                try sql.execute("INSERT INTO t (k) SELECT generate_series(1, 10)")
                var seen: [Int64] = []
                try sql.prepare("SELECT k FROM t ORDER BY k").query([]) { row in
                    let k = try row[0].int64()
                    seen.append(k)
                    try sql.execute("UPDATE t SET n = ? WHERE k = ?", k * 2, k)
                    return k < 3
                }
                return seen + [try sql.scalar("SELECT SUM(n) FROM t")?.int64() ?? -1]
            }
            #expect(seen == [1, 2, 3, 12])
        }
    }

    @Test func tooFewOrTooManyValuesAreRefused() async throws {
        try await Self.withStore { store, _ in
            try await store.withExecutor("bind") { sql in
                let error = #expect(throws: PostgresStatementError.self) { try sql.execute("SELECT ?, ?", 1) }
                guard case .parameterCount(_, 2, 1) = error else {
                    Issue.record("not a count mismatch: \(String(describing: error))")
                    return
                }
                #expect(String(describing: error).contains("SELECT ?, ?"))
                #expect(throws: PostgresStatementError.self) { try sql.execute("SELECT 1", 1) }
            }
        }
    }

    // MARK: Transactions and savepoints

    @Test func savepointsKeepOrUndoWhatTheyWrote() async throws {
        try await Self.withStore { store, database in
            try await store.withExecutor("savepoints") { sql in
                try sql.execute(Self.table)
                try sql.savepoint {
                    try sql.execute("INSERT INTO t (k) VALUES (1)")
                    return true
                }
                try sql.savepoint {
                    try sql.execute("INSERT INTO t (k) VALUES (2)")
                    return false
                }
                #expect(throws: Refusal.self) {
                    try sql.savepoint {
                        try sql.execute("INSERT INTO t (k) VALUES (3)")
                        throw Refusal()
                    }
                }
                // Nested: the inner one undone, the outer one kept.
                try sql.savepoint {
                    try sql.execute("INSERT INTO t (k) VALUES (4)")
                    try sql.savepoint {
                        try sql.execute("INSERT INTO t (k) VALUES (5)")
                        return false
                    }
                    try sql.savepoint {
                        try sql.execute("INSERT INTO t (k) VALUES (6)")
                        return true
                    }
                    return true
                }
                // Nested: the inner one kept, the outer one undone.
                try sql.savepoint {
                    try sql.savepoint {
                        try sql.execute("INSERT INTO t (k) VALUES (7)")
                        return true
                    }
                    return false
                }
            }
            let keys = try await database.rows("SELECT k FROM t ORDER BY k").map { try $0.decode(Int.self) }
            #expect(keys == [1, 4, 6])
        }
    }

    @Test func aFailedStatementInASavepointLeavesTheTransactionUsable() async throws {
        try await Self.withStore { store, database in
            let failure = try await store.withExecutor("recover from a failed statement") { sql in
                try sql.execute(Self.table)
                try sql.execute("INSERT INTO t (k, s) VALUES (?, ?)", 1, "kept")
                var failure: PostgresStatementError?
                do {
                    try sql.savepoint {
                        try sql.execute("INSERT INTO t (k, s) VALUES (?, ?)", 2, "undone")
                        try sql.execute("INSERT INTO t (k, s) VALUES (?, ?)", 1, "duplicate")
                        return true
                    }
                } catch let error as PostgresStatementError {
                    failure = error
                }
                try sql.execute("INSERT INTO t (k, s) VALUES (?, ?)", 3, "after")
                return failure
            }
            let error = try #require(failure)
            #expect(error.sqlState == "23505")
            #expect("\(error)".contains("SQLSTATE 23505"))
            #expect("\(error)".contains("duplicate key value violates unique constraint"))
            #expect("\(error)".contains("INSERT INTO t (k, s) VALUES (?, ?)"))
            let rows = try await database.rows("SELECT k, s FROM t ORDER BY k").map {
                try $0.decode((Int, String).self)
            }
            #expect(rows.map { "\($0) \($1)" } == ["1 kept", "3 after"])
        }
    }

    @Test func aFailedStatementCaughtOutsideASavepointIsNotCommitted() async throws {
        try await Self.withStore { store, database in
            try await store.withExecutor("make the table") { try $0.execute(Self.table) }
            let error = await #expect(throws: PostgresStatementError.self) {
                try await store.withExecutor("ignore a failure") { sql in
                    try sql.execute("INSERT INTO t (k) VALUES (1)")
                    _ = try? sql.execute("INSERT INTO t (k) VALUES (1)")
                }
            }
            guard case .abortedTransaction(let first) = error else {
                Issue.record("not an aborted transaction: \(String(describing: error))")
                return
            }
            #expect(first.sqlState == "23505")
            #expect(try await database.integer("SELECT count(*) FROM t") == 0)
            // Nor one caught inside a savepoint whose body then asks to keep what it wrote.
            await #expect(throws: PostgresStatementError.self) {
                try await store.withExecutor("keep after a failure") { sql in
                    try sql.execute("INSERT INTO t (k) VALUES (1)")
                    try sql.savepoint {
                        _ = try? sql.execute("INSERT INTO t (k) VALUES (1)")
                        return true
                    }
                }
            }
            #expect(try await database.integer("SELECT count(*) FROM t") == 0)
        }
    }

    @Test func aTransactionWhoseBodyThrowsIsRolledBack() async throws {
        try await Self.withStore { store, database in
            try await store.withExecutor("make the table") { try $0.execute(Self.table) }
            await #expect(throws: Refusal.self) {
                try await store.withExecutor("write, then refuse") { sql in
                    try sql.execute("INSERT INTO t (k) VALUES (1)")
                    throw Refusal()
                }
            }
            #expect(try await database.integer("SELECT count(*) FROM t") == 0)
            // And the pool's connection is usable again.
            let count = try await store.withExecutor("count") { try $0.scalar("SELECT count(*) FROM t")?.int() }
            #expect(count == 0)
        }
    }

    @Test func transactionsRunAtOnceOnConnectionsOfTheirOwn() async throws {
        try await Self.withStore { store, database in
            try await store.withExecutor("make the table") { try $0.execute(Self.table) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for k in 1...8 {
                    group.addTask {
                        try await store.withExecutor("insert \(k)") { sql in
                            try sql.execute("INSERT INTO t (k, q) VALUES (?, ?)", k, Amount(k))
                            _ = try sql.scalar("SELECT pg_sleep(0.05)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await database.integer("SELECT count(*) FROM t") == 8)
        }
    }

    @Test func aStatementErrorNamesTheStateTheMessageAndTheSQL() async throws {
        try await Self.withStore { store, _ in
            let error = await #expect(throws: PostgresStatementError.self) {
                try await store.withExecutor("select from nothing") { sql in
                    try sql.execute("SELECT * FROM no_such_table WHERE k = ?", 1)
                }
            }
            #expect(error?.sqlState == "42P01")
            #expect("\(String(describing: error))".contains(#"relation "no_such_table" does not exist"#))
            #expect("\(String(describing: error))".contains("SELECT * FROM no_such_table WHERE k = ?"))
        }
    }

    // MARK: Parity with SQLite

    /// What a script of statements answered: the rows each statement changed and the rows read back, amounts read
    /// as amounts and aggregates as integers (SQLite sums integers as integers, PostgreSQL as numeric).
    struct Answers: Sendable, Equatable {
        var changes: [Int] = []
        var rows: [[SQLValue]] = []
    }

    static func script(_ sql: some SQLExecutor) throws -> Answers {
        var answers = Answers()
        let upsert = try sql.prepare(
            "INSERT INTO p (k, n, q, b, s) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (k) DO UPDATE SET "
                + "n = excluded.n + p.n, q = excluded.q, s = excluded.s")
        let largest = try Amount(parsing: "999999999999999999.999999")
        let rows: [[SQLValue]] = [
            ["a", 1, .amount(Amount(2)), .blob([1, 2]), "first"],
            ["b", 2, .amount(try Amount(parsing: "-0.000001")), .blob([]), "Grüße ?"],
            ["c", 3, .amount(largest), .null, .null],
            ["d", 4, .amount(-largest), .blob([0]), "it's"],
            ["a", 10, .amount(try Amount(parsing: "2.5")), .blob([9]), "again"],
        ]
        for row in rows { answers.changes.append(try upsert.execute(row)) }
        answers.changes.append(try sql.execute("UPDATE p SET s = ? || s WHERE k IN (?, ?)", "x", "a", "b"))
        answers.changes.append(try sql.execute("INSERT INTO p (k, n) VALUES (?, ?) ON CONFLICT DO NOTHING", "a", 0))
        try sql.savepoint {
            answers.changes.append(try sql.execute("DELETE FROM p WHERE n < ?2 AND k <> ?1", "a", 3))
            return false
        }
        try sql.savepoint {
            answers.changes.append(try sql.execute("DELETE FROM p WHERE k = ?", "d"))
            return true
        }
        // Not `q >= ?`: SQLite keeps an amount beyond 64-bit millionths as text, which compares after every integer.
        for row in try sql.rows("SELECT k, n, q, b, s FROM p WHERE n >= ? ORDER BY k", -1) {
            answers.rows.append([row["k"], row["n"], try row["q"].optionalAmount().sqlValue, row["b"], row["s"]])
        }
        let totals = try #require(
            try sql.row("SELECT count(*), SUM(n), MAX(q), MIN(s) FROM p WHERE k > ? AND k < ?", "", "c"))
        answers.rows.append([
            .integer(try totals[0].int64()), .integer(try totals[1].int64()), try totals[2].amount().sqlValue,
            totals[3],
        ])
        return answers
    }

    @Test func theSameStatementsAnswerTheSameOnSQLiteAndPostgreSQL() async throws {
        let queue = try DatabaseQueue()
        let sqlite = try await queue.write { db in
            try db.execute(sql: "CREATE TABLE p (k TEXT PRIMARY KEY, n INTEGER NOT NULL, q, b BLOB, s TEXT)")
            return try Self.script(db)
        }
        try await Self.withStore { store, _ in
            let postgres = try await store.withExecutor("run the parity script") { sql in
                try sql.execute(
                    #"CREATE TABLE p (k text COLLATE "C" PRIMARY KEY, n bigint NOT NULL, q numeric(25, 6), b bytea, "#
                        + #"s text COLLATE "C")"#)
                return try Self.script(sql)
            }
            #expect(postgres == sqlite)
            #expect(sqlite.changes == [1, 1, 1, 1, 1, 2, 0, 1, 1])
            #expect(sqlite.rows.count == 4)
        }
    }

    // MARK: Helpers

    struct Refusal: Error {}

    /// A store on a fresh, empty database (no migrations: these tests make their own tables), closed afterwards.
    static func withStore(_ body: (PostgresStore, TestDatabase) async throws -> Void) async throws {
        try await TestDatabase.with { database in
            let store = try await PostgresStore.open(database.location, logger: logger)
            do {
                try await body(store, database)
            } catch {
                await store.close()
                throw error
            }
            await store.close()
        }
    }
}
