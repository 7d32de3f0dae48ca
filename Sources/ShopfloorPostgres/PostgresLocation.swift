import Foundation
import PostgresNIO

/// Where HQ's PostgreSQL database is, from a URL such as `postgres://shopfloor:secret@db.plant:5432/shopfloor`.
///
/// `sslmode` is read from the query: `disable` (the default for a loopback host), `prefer`, or `require` (the
/// default for any other host: a company's database is not reached in the clear by accident).
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        case disable, prefer, require
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    public init(
        host: String, port: Int = 5432, user: String, password: String? = nil, database: String, tls: TLSMode? = nil
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls ?? (Self.isLoopback(host) ? .disable : .require)
    }

    /// Parses a `postgres://` or `postgresql://` URL; the error names what is wrong with it.
    public init(url text: String) throws(PostgresLocationError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw PostgresLocationError(
                "'\(Self.redacted(text))' is not a URL: write postgres://USER@HOST:PORT/DATABASE")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw PostgresLocationError("the URL's scheme is '\(scheme)': write postgres://USER@HOST:PORT/DATABASE")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresLocationError("the URL names no host: write postgres://USER@HOST:PORT/DATABASE")
        }
        guard let user = components.user, !user.isEmpty else {
            throw PostgresLocationError("the URL names no user: write postgres://USER@\(host)/DATABASE")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresLocationError("the URL names no database: write postgres://\(user)@\(host)/DATABASE")
        }
        let port = components.port ?? 5432
        guard (1...65_535).contains(port) else {
            throw PostgresLocationError("port \(port) is out of range (1 to 65535)")
        }
        var tls: TLSMode?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw PostgresLocationError(
                        "sslmode '\(item.value ?? "")' is not one of "
                            + TLSMode.allCases.map(\.rawValue).joined(separator: ", "))
                }
                tls = mode
            default:
                throw PostgresLocationError("the URL's parameter '\(item.name)' is not known (only sslmode is)")
            }
        }
        self.init(
            host: host, port: port, user: user, password: components.password, database: database, tls: tls)
    }

    /// The URL without its password, for logs and messages.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    /// The same server with another database (the tests make one per test).
    public func with(database: String) -> PostgresLocation {
        var copy = self
        copy.database = database
        return copy
    }

    var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: clientTLS)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    var connectionConfiguration: PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: connectionTLS)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    private var clientTLS: PostgresClient.Configuration.TLS {
        switch tls {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    private var connectionTLS: PostgresConnection.Configuration.TLS {
        switch tls {
        case .disable: return .disable
        case .prefer, .require:
            // A context that cannot be made (no system trust store) leaves TLS off for `prefer` and fails `require`
            // at the first connection, where the error says so.
            guard let context = try? NIOSSLContext(configuration: .makeClientConfiguration()) else { return .disable }
            return tls == .prefer ? .prefer(context) : .require(context)
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// `text` with anything between `://` and `@` past the first `:` hidden.
    static func redacted(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@"),
            let colon = text[scheme.upperBound..<at].firstIndex(of: ":")
        else { return text }
        return String(text[..<text.index(after: colon)]) + "***" + String(text[at...])
    }
}

/// A PostgreSQL URL that cannot be used, and why.
public struct PostgresLocationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    init(_ message: String) { self.message = message }
    public var description: String { "invalid PostgreSQL URL: \(message)" }
}
