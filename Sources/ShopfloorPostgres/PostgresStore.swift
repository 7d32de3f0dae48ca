import Logging
import NIOCore
import PostgresNIO

/// Bounds on how HQ waits for and retries PostgreSQL (TIGER_STYLE: a bound on everything).
public struct PostgresBounds: Sendable {
    /// How long a starting HQ waits for PostgreSQL to answer before it gives up.
    public var startupWaitSeconds: Double
    /// How many times a transaction that lost its connection (or met a serialization failure) runs again.
    public var retriesMax: Int
    /// The longest pause between two attempts (they start at 100 ms and double).
    public var retryDelaySecondsMax: Double
    /// Connections this node keeps to the database at most.
    public var connectionsMax: Int

    public init(
        startupWaitSeconds: Double = 60, retriesMax: Int = 5, retryDelaySecondsMax: Double = 2,
        connectionsMax: Int = 16
    ) {
        self.startupWaitSeconds = startupWaitSeconds
        self.retriesMax = retriesMax
        self.retryDelaySecondsMax = retryDelaySecondsMax
        self.connectionsMax = connectionsMax
    }
}

/// One HQ node's handle on the company's PostgreSQL database: a pool of connections, bounded retries, and the
/// versioned schema (``migrate()``). Nodes share nothing but the database.
public final class PostgresStore: Sendable {
    public let location: PostgresLocation
    public let bounds: PostgresBounds
    let client: PostgresClient
    let logger: Logger
    private let running: Task<Void, Never>

    private init(
        location: PostgresLocation, configuration: PostgresClient.Configuration, bounds: PostgresBounds,
        logger: Logger, started: @escaping @Sendable () -> Void
    ) {
        self.location = location
        self.bounds = bounds
        self.logger = logger
        var configuration = configuration
        configuration.options.maximumConnections = bounds.connectionsMax
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        running = Task {
            started()
            await client.run()
        }
    }

    /// Connects to the database at `location`, waiting for it to answer within the startup bound (an HQ started
    /// beside a PostgreSQL that is still starting says so and waits; one pointed at a wrong password does not).
    public static func open(
        _ location: PostgresLocation, bounds: PostgresBounds = PostgresBounds(),
        logger: Logger = Logger(label: "shopfloor.hq.postgres")
    ) async throws -> PostgresStore {
        let configuration: PostgresClient.Configuration
        do {
            configuration = try location.clientConfiguration()
        } catch {
            throw PostgresStoreError.refused(location, reason: "\(error)")
        }
        try await waitUntilReachable(location, bounds: bounds, logger: logger)
        // The pool lends connections once its run loop has begun: return when its task is under way.
        let (started, signal) = AsyncStream<Void>.makeStream()
        let store = PostgresStore(location: location, configuration: configuration, bounds: bounds, logger: logger) {
            signal.finish()
        }
        for await _ in started {}
        await Task.yield()
        return store
    }

    /// Closes every connection of this node, aborting what is under way on them (a transaction cut off before its
    /// COMMIT is rolled back by PostgreSQL; one cut off during it reports ``PostgresStoreError/commitUnknown(_:)``).
    public func close() async {
        running.cancel()
        await running.value
    }

    deinit { running.cancel() }

    /// Tries one connection at a time until the server answers or the startup wait is over (a last attempt is made
    /// at the bound).
    static func waitUntilReachable(_ location: PostgresLocation, bounds: PostgresBounds, logger: Logger) async throws {
        let configuration: PostgresConnection.Configuration
        do {
            configuration = try location.connectionConfiguration()
        } catch {
            throw PostgresStoreError.refused(location, reason: "\(error)")
        }
        let clock = ContinuousClock()
        let start = clock.now
        var attempts = 0
        var delay = 0.1
        while true {
            attempts += 1
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration, id: attempts, logger: logger)
                do {
                    try await connection.query("SELECT 1", logger: logger)
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
                if attempts > 1 { logger.info("PostgreSQL answered", metadata: ["database": "\(location)"]) }
                return
            } catch {
                let reason = PostgresFailure.describe(error)
                if PostgresFailure.isPermanent(error) { throw PostgresStoreError.refused(location, reason: reason) }
                let waited = Self.seconds(clock.now - start)
                guard waited < bounds.startupWaitSeconds else {
                    throw PostgresStoreError.unreachable(
                        location, waitedSeconds: waited, attempts: attempts, reason: reason)
                }
                if attempts == 1 || attempts.isMultiple(of: 10) {
                    logger.warning(
                        "waiting for PostgreSQL",
                        metadata: [
                            "database": "\(location)", "reason": "\(reason)", "attempt": "\(attempts)",
                            "gives-up-in": "\(PostgresStoreError.seconds(bounds.startupWaitSeconds - waited))",
                        ])
                }
                try await Task.sleep(for: .seconds(min(delay, bounds.startupWaitSeconds - waited)))
                delay = min(delay * 2, bounds.retryDelaySecondsMax)
            }
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Runs `body` in one transaction. When the connection is lost before the COMMIT, or the server reports a
    /// serialization failure or a deadlock, the whole transaction runs again, at most ``PostgresBounds/retriesMax``
    /// more times. A connection lost during the COMMIT leaves its outcome unknown: the transaction runs again only
    /// when `idempotent` (running it twice does what running it once did); otherwise the caller gets
    /// ``PostgresStoreError/commitUnknown(_:)`` and must find out.
    public func transaction<Result: Sendable>(
        _ what: String, idempotent: Bool = false, _ body: @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        var delay = 0.1
        var attempt = 0
        while true {
            do {
                return try await client.withTransaction(logger: logger) { connection in
                    try await body(connection)
                }
            } catch {
                let failed = error as? PostgresTransactionError
                let cause =
                    failed.flatMap { $0.closureError ?? $0.beginError ?? $0.commitError ?? $0.rollbackError } ?? error
                if let commit = failed?.commitError, !idempotent, !PostgresFailure.isRetryableRefusal(commit) {
                    throw PostgresStoreError.commitUnknown(what)
                }
                guard PostgresFailure.isTransient(cause), attempt < bounds.retriesMax else {
                    throw Self.failure(what, cause)
                }
                attempt += 1
                logger.warning(
                    "PostgreSQL transaction will run again",
                    metadata: [
                        "what": "\(what)", "reason": "\(PostgresFailure.describe(cause))", "attempt": "\(attempt)",
                    ])
                try await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, bounds.retryDelaySecondsMax)
            }
        }
    }

    /// Errors thrown by our own code pass through; PostgreSQL's become a ``PostgresStoreError/statement(_:reason:)``.
    static func failure(_ what: String, _ error: any Error) -> any Error {
        guard error is PSQLError else { return error }
        return PostgresStoreError.statement(what, reason: PostgresFailure.describe(error))
    }
}
