import NIOSSL
import PostgresNIO

/// Why HQ's PostgreSQL database cannot be used, in words an HQ operator can act on.
public enum PostgresStoreError: Error, Sendable, CustomStringConvertible {
    /// Nothing answered at the location within the startup wait.
    case unreachable(PostgresLocation, waitedSeconds: Double, attempts: Int, reason: String)
    /// The server answered and said no (wrong password, no such database, not allowed): waiting will not help.
    case refused(PostgresLocation, reason: String)
    /// The database was set up by a newer shopfloor-hq.
    case newerSchema(PostgresLocation, found: Int, known: Int)
    /// A statement failed.
    case statement(String, reason: String)
    /// The connection was lost while PostgreSQL committed: it may or may not have.
    case commitUnknown(String)

    public var description: String {
        switch self {
        case .unreachable(let location, let waited, let attempts, let reason):
            "PostgreSQL at \(location) did not answer within \(Self.seconds(waited)) (\(attempts) attempts; last: "
                + "\(reason)): start it, or check the URL given to --postgres or SHOPFLOOR_HQ_POSTGRES"
        case .refused(let location, let reason):
            "PostgreSQL at \(location) refused the connection: \(reason)"
        case .newerSchema(let location, let found, let known):
            "the database at \(location) has schema version \(found), newer than this shopfloor-hq knows "
                + "(\(known)): run a shopfloor-hq at least as new as the one that migrated it"
        case .statement(let what, let reason):
            "PostgreSQL could not \(what): \(reason)"
        case .commitUnknown(let what):
            "the connection to PostgreSQL was lost while it committed (\(what)): it may or may not have; read back "
                + "before trying again"
        }
    }

    static func seconds(_ value: Double) -> String {
        value < 10 ? "\((value * 10).rounded() / 10) s" : "\(Int(value.rounded())) s"
    }
}

/// What PostgreSQL said, without the generic text PostgresNIO shows by default (it hides the server's message so that
/// it is not shown to end users by accident; HQ's operator is the reader here).
enum PostgresFailure {
    /// SQLSTATE codes a connection attempt can get back that no amount of waiting fixes.
    static let permanentStates: Set<String> = [
        "28000",  // invalid_authorization_specification
        "28P01",  // invalid_password
        "3D000",  // invalid_catalog_name: no such database
        "42501",  // insufficient_privilege
    ]

    /// SQLSTATE codes after which the same transaction can simply run again.
    static let transientStates: Set<String> = [
        "40001",  // serialization_failure
        "40P01",  // deadlock_detected
        "57P01",  // admin_shutdown
        "57P02",  // crash_shutdown
        "57P03",  // cannot_connect_now: starting up or shutting down
        "08000", "08003", "08006",  // connection exceptions
    ]

    /// SQLSTATE codes with which PostgreSQL refused a COMMIT, so that nothing was committed.
    static let refusedCommitStates: Set<String> = ["40001", "40P01"]

    static func state(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// True when the connection, not the statement, failed: the server went away, or is starting or stopping. (A
    /// connection this node closed itself is not: the node is stopping.)
    static func isTransient(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, !isPermanent(error) else { return false }
        if let state = error.serverInfo?[.sqlState] { return transientStates.contains(state) }
        switch error.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown: return true
        default: return false
        }
    }

    /// True when waiting cannot help: the server refused the credentials or the database, or the client cannot meet
    /// what it asks (a password the URL lacks, an authentication method, TLS, a certificate that does not verify).
    static func isPermanent(_ error: any Error) -> Bool {
        if error is PostgresLocationError { return true }
        guard let error = error as? PSQLError else { return false }
        if let state = error.serverInfo?[.sqlState] { return permanentStates.contains(state) }
        switch error.code {
        case .sslUnsupported, .failedToAddSSLHandler, .authMechanismRequiresPassword, .unsupportedAuthMechanism,
            .saslError:
            return true
        case .connectionError:
            return error.underlying is NIOSSLError || error.underlying is BoringSSLError
                || error.underlying is NIOSSLExtraError
        default:
            return false
        }
    }

    /// True when PostgreSQL answered the COMMIT with a refusal (so nothing was committed).
    static func isRetryableRefusal(_ error: any Error) -> Bool {
        state(error).map(refusedCommitStates.contains) ?? false
    }

    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let info = error.serverInfo {
            let message = info[.message] ?? "error"
            let detail = info[.detail].map { " (\($0))" } ?? ""
            return "\(message)\(detail) [SQLSTATE \(info[.sqlState] ?? "?")]"
        }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }
}
