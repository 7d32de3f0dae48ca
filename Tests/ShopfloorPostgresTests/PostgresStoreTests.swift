import Foundation
import Logging
import PostgresNIO
import ShopfloorPostgres
import Testing

/// HQ's PostgreSQL store against a real server: the versioned schema, the bounded waits, the URL's errors.
@Suite struct PostgresStoreTests {
    static let logger = Logger(label: "shopfloor.test.postgres")

    @Test func aFreshDatabaseIsMigratedOnceAndThenIsCurrent() async throws {
        try await TestDatabase.with { database in
            let store = try await PostgresStore.open(database.location, logger: Self.logger)
            let first = try await store.migrate()
            #expect(first.from == 0)
            #expect(first.to == PostgresStore.schemaVersion)
            #expect(first.applied == ["v1-hq"])
            let second = try await store.migrate()
            #expect(second == PostgresMigrationReport(from: first.to, to: first.to, applied: []))
            #expect(try await store.currentSchemaVersion() == PostgresStore.schemaVersion)
            await store.close()
            // The tables are there, empty, and the sequence starts at 1.
            #expect(try await database.integer("SELECT count(*) FROM ops") == 0)
            #expect(try await database.integer("SELECT next FROM hq_sequence WHERE id = 1") == 1)
            #expect(try await database.integer("SELECT count(*) FROM shopfloor_migrations") == 1)
            for table in ["devices", "stock", "ledger", "conflicts", "api_tokens", "field_writes"] {
                #expect(try await database.integer("SELECT count(*) FROM \(table)") == 0, "\(table)")
            }
        }
    }

    @Test func nodesMigratingAtOnceApplyEachMigrationOnce() async throws {
        try await TestDatabase.with { database in
            let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
                for _ in 0..<4 {
                    group.addTask { try await PostgresStore.open(database.location, logger: Self.logger) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let reports = try await withThrowingTaskGroup(of: PostgresMigrationReport.self) { group in
                for store in stores { group.addTask { try await store.migrate() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for store in stores { await store.close() }
            #expect(reports.filter { !$0.applied.isEmpty }.count == 1)
            #expect(reports.allSatisfy { $0.to == PostgresStore.schemaVersion })
            #expect(try await database.integer("SELECT count(*) FROM shopfloor_migrations") == 1)
        }
    }

    @Test func aDatabaseFromANewerBuildIsRefusedAndLeftAsItIs() async throws {
        try await TestDatabase.with { database in
            let store = try await PostgresStore.open(database.location, logger: Self.logger)
            try await store.migrate()
            try await TestDatabase.administer(
                database.location, "INSERT INTO shopfloor_migrations (version, name) VALUES (99, 'v99-future')")
            await #expect {
                try await store.migrate()
            } throws: { error in
                guard case .newerSchema(_, let found, let known) = error as? PostgresStoreError else { return false }
                return found == 99 && known == PostgresStore.schemaVersion
                    && "\(error)".contains("schema version 99, newer than this shopfloor-hq knows")
            }
            await store.close()
            #expect(try await database.integer("SELECT count(*) FROM shopfloor_migrations") == 2)
        }
    }

    @Test func operationsAreImmutableAndNumberedOnce() async throws {
        try await TestDatabase.with { database in
            try await database.migrate()
            try await TestDatabase.administer(
                database.location,
                """
                INSERT INTO ops (replica, counter, lamport, context, timestamp, date, kind, payload, schema, arrival)
                VALUES ('r1', 1, 1, '{}', '2026-12-02T00:00:00Z', '2026-12-02', 'item.define', '{}', 1, 1)
                """)
            await #expect(throws: PSQLError.self) {
                try await TestDatabase.administer(database.location, "UPDATE ops SET payload = '{\"x\":1}'")
            }
            try await TestDatabase.administer(database.location, "UPDATE ops SET seq = 1")
            await #expect(throws: PSQLError.self) {
                try await TestDatabase.administer(database.location, "UPDATE ops SET seq = 2")
            }
            #expect(try await database.integer("SELECT seq FROM ops") == 1)
            #expect(try await database.rows("SELECT payload FROM ops").first?.decode(String.self) == "{}")
        }
    }

    @Test func textSortsByteByByteAsOnSQLite() async throws {
        try await TestDatabase.with { database in
            try await database.migrate()
            // Under a language collation "a" sorts before "B" and "order:1:" ranges leak; SQLite's BINARY does not.
            try await TestDatabase.administer(
                database.location,
                """
                INSERT INTO items (sku, kind, unit, name) VALUES ('a', 'raw', 'kg', 'a'), ('B', 'raw', 'kg', 'B'),
                    ('_', 'raw', 'kg', '_')
                """)
            let skus = try await database.rows("SELECT sku FROM items ORDER BY sku").map { try $0.decode(String.self) }
            #expect(skus == ["B", "_", "a"])
            try await TestDatabase.administer(
                database.location,
                """
                INSERT INTO stock (location, sku, quantity, value, last_rate) VALUES ('L1', 'a', 2, 3.5, 1.75)
                """)
            try await TestDatabase.administer(
                database.location,
                """
                INSERT INTO stock (location, sku, on_hand, on_order, demand, allocated, position_value)
                    VALUES ('L1', 'B', 1, 0, 0, 0, 0)
                """)
            #expect(
                try await database.rows("SELECT value::text FROM valuations").map { try $0.decode(String.self) }
                    == ["3.500000"])
            #expect(try await database.rows("SELECT sku FROM positions").map { try $0.decode(String.self) } == ["B"])
        }
    }

    @Test func anUnreachableServerIsWaitedForWithinTheBound() async throws {
        // Port 1 (tcpmux): privileged and never served on a test machine, so connecting is refused.
        let nowhere = PostgresLocation(host: "127.0.0.1", port: 1, user: "postgres", database: "x")
        let start = ContinuousClock.now
        await #expect {
            _ = try await PostgresStore.open(nowhere, bounds: PostgresBounds(startupWaitSeconds: 1.5))
        } throws: { error in
            guard case .unreachable(let location, _, let attempts, _) = error as? PostgresStoreError else {
                return false
            }
            // At least one attempt (on a starved machine one refused connect has taken 32 s to come back).
            return location == nowhere && attempts >= 1 && "\(error)".contains("127.0.0.1:1/")
        }
        // It waited for the bound before it gave up (how much longer depends on the machine's load: no upper bound
        // here, each attempt is bounded by the connect timeout).
        #expect(ContinuousClock.now - start >= .seconds(1.5))
    }

    @Test func aMissingDatabaseIsRefusedWithoutWaiting() async throws {
        // A refusal is final at the first answer: `.refused` is thrown by the first attempt, never after a wait.
        let missing = try TestDatabase.server().with(database: "shopfloor_no_such_database")
        await #expect {
            _ = try await PostgresStore.open(missing, bounds: PostgresBounds(startupWaitSeconds: 30))
        } throws: { error in
            guard case .refused(_, let reason) = error as? PostgresStoreError else { return false }
            return reason.contains("3D000") && reason.contains("shopfloor_no_such_database")
        }
    }

    @Test func tlsTheServerDoesNotOfferIsRefusedWithoutWaiting() async throws {
        // The test cluster has no TLS: sslmode=require cannot be met, and waiting would not change that.
        var location = try TestDatabase.server()
        location.tls = .require
        await #expect {
            _ = try await PostgresStore.open(location, bounds: PostgresBounds(startupWaitSeconds: 300))
        } throws: { error in
            guard case .refused = error as? PostgresStoreError else { return false }
            return true
        }
    }

    @Test(arguments: [
        ("mysql://u@h/db", "scheme is 'mysql'"),
        ("postgres://h/db", "names no user"),
        ("postgres://u@h", "names no database"),
        ("postgres://u@h/db?sslmode=maybe", "sslmode 'maybe'"),
        ("postgres://u@h/db?pool=3", "parameter 'pool' is not known"),
        ("postgres://u@h/db?sslmode=require&sslrootcert=/ca.pem", "read by sslmode=verify-full only"),
        ("postgres://u@h/db?sslrootcert=", "sslrootcert names no file"),
        ("postgres://u@h:0/db", "port 0 is out of range"),
    ])
    func badURLsAreNamed(url: String, problem: String) {
        #expect {
            _ = try PostgresLocation(url: url)
        } throws: { error in
            "\(error)".contains(problem)
        }
    }

    @Test func aURLIsReadAndShownWithoutItsPassword() throws {
        let location = try PostgresLocation(url: "postgresql://hq:s3cret@db.plant.example:6543/shopfloor")
        #expect(location.host == "db.plant.example")
        #expect(location.port == 6543)
        #expect(location.user == "hq")
        #expect(location.password == "s3cret")
        #expect(location.database == "shopfloor")
        #expect(location.tls == .verifyFull)
        #expect(!"\(location)".contains("s3cret"))
        #expect(try PostgresLocation(url: "postgres://hq@127.0.0.1/shopfloor").tls == .disable)
        #expect(try PostgresLocation(url: "postgres://hq@127.0.0.1/shopfloor?sslmode=require").tls == .require)
        // A name that merely starts with "127." is not loopback; an IPv6 literal loses its brackets.
        #expect(try PostgresLocation(url: "postgres://hq@127.db.example/shopfloor").tls == .verifyFull)
        let six = try PostgresLocation(url: "postgres://hq@[::1]:6543/shopfloor")
        #expect(six.host == "::1" && six.port == 6543 && six.tls == .disable)
        let verified = try PostgresLocation(url: "postgres://hq@db.example/shopfloor?sslrootcert=/etc/ca.pem")
        #expect(verified.tls == .verifyFull && verified.rootCertificates == "/etc/ca.pem")
        // A password is hidden even in a URL that does not parse, and even when it holds an "@".
        #expect {
            _ = try PostgresLocation(url: "postgres://hq:p@ss@db.example:port/x")
        } throws: { error in
            !"\(error)".contains("p@ss") && "\(error)".contains("hq:***@db.example")
        }
    }
}
