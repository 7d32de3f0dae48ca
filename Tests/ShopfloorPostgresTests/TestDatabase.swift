import Foundation
import Logging
import PostgresNIO
import ShopfloorPostgres

/// A database of its own for one test, on the server that `SHOPFLOOR_TEST_POSTGRES` names (tools/test and .ci/run
/// start a throwaway cluster on 127.0.0.1 and set it; `tools/postgres start DIR` makes one by hand).
struct TestDatabase: Sendable {
    let server: PostgresLocation
    let location: PostgresLocation

    static let logger = Logger(label: "shopfloor.test.postgres")

    static func server() throws -> PostgresLocation {
        guard let url = ProcessInfo.processInfo.environment["SHOPFLOOR_TEST_POSTGRES"] else {
            throw TestSetupFailure(
                "SHOPFLOOR_TEST_POSTGRES is not set: run the tests with tools/test, which starts a throwaway "
                    + "PostgreSQL on 127.0.0.1, or start one with `tools/postgres start DIR` and export the URL it prints"
            )
        }
        return try PostgresLocation(url: url)
    }

    /// Creates an empty database with a fresh name.
    static func make() async throws -> TestDatabase {
        let server = try server()
        let name = "shopfloor_test_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        try await administer(server, "CREATE DATABASE \(name)")
        return TestDatabase(server: server, location: server.with(database: name))
    }

    /// Drops the database, closing whatever is still connected to it.
    func drop() async throws {
        try await Self.administer(server, "DROP DATABASE IF EXISTS \(location.database) WITH (FORCE)")
    }

    /// Runs `body` with a fresh database, dropped afterwards whatever happens.
    static func with<T: Sendable>(_ body: (TestDatabase) async throws -> T) async throws -> T {
        let database = try await make()
        do {
            let value = try await body(database)
            try await database.drop()
            return value
        } catch {
            try? await database.drop()
            throw error
        }
    }

    /// Sets up the schema through a store of its own, closed again.
    func migrate() async throws {
        let store = try await PostgresStore.open(location, logger: Self.logger)
        do {
            try await store.migrate()
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    /// One statement on a connection of its own (for checks that must not go through the code under test).
    static func administer(_ location: PostgresLocation, _ sql: String) async throws {
        _ = try await rows(location, sql)
    }

    static func rows(_ location: PostgresLocation, _ sql: String) async throws -> [PostgresRow] {
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(10)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()
            try await connection.close()
            return rows
        } catch {
            try? await connection.close()
            throw error
        }
    }

    func rows(_ sql: String) async throws -> [PostgresRow] { try await Self.rows(location, sql) }

    func integer(_ sql: String) async throws -> Int? {
        try await rows(sql).first?.decode(Int?.self)
    }
}

struct TestSetupFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
