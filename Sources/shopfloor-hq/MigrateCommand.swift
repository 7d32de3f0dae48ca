import ArgumentParser
import Foundation
import ShopfloorPostgres

extension HQCommand {
    /// `shopfloor-hq migrate --postgres URL`: sets up or upgrades HQ's schema on PostgreSQL.
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set up or upgrade HQ's schema in a PostgreSQL database (SyncProtocol/POSTGRES.md).",
            discussion: """
                Applies every schema migration the database lacks, in one transaction, and prints the version. \
                Safe to run again, and from several nodes at once. A database migrated by a newer shopfloor-hq is \
                refused and left as it is.
                """)

        @Option(
            help:
                "The database, as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require|verify-full&sslrootcert=FILE]. Default: $SHOPFLOOR_HQ_POSTGRES."
        )
        var postgres: String?
        @Option(help: "Seconds to wait for PostgreSQL to answer before giving up.")
        var waitSeconds: Double = 60

        func validate() throws {
            guard waitSeconds >= 0, waitSeconds <= 3_600 else {
                throw ValidationError("--wait-seconds must be between 0 and 3600")
            }
        }

        func run() async throws {
            guard let url = postgres ?? ProcessInfo.processInfo.environment["SHOPFLOOR_HQ_POSTGRES"] else {
                throw ValidationError(
                    "name the database: --postgres postgres://USER@HOST/DATABASE, or set SHOPFLOOR_HQ_POSTGRES")
            }
            let location: PostgresLocation
            do { location = try PostgresLocation(url: url) } catch { throw ValidationError(error.description) }
            let logger = HQCommand.makeLogger()
            let store = try await PostgresStore.open(
                location, bounds: PostgresBounds(startupWaitSeconds: waitSeconds), logger: logger)
            do {
                let report = try await store.migrate()
                if report.applied.isEmpty {
                    HQCommand.emit("\(location): schema version \(report.to), up to date")
                } else {
                    HQCommand.emit(
                        "\(location): schema version \(report.from) -> \(report.to) (applied "
                            + "\(report.applied.joined(separator: ", ")))")
                }
                await store.close()
            } catch {
                await store.close()
                throw error
            }
        }
    }
}
