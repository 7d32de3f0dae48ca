import Foundation
import NIOSSL
import PostgresNIO

/// Where HQ's PostgreSQL database is, from a URL such as `postgres://shopfloor:secret@db.plant:5432/shopfloor`.
///
/// The query may carry `sslmode` and `sslrootcert`, as libpq reads them: `disable` (the default for a loopback
/// host), `prefer` and `require` (encrypted, the certificate not checked), or `verify-full` (the default for any other
/// host: the certificate is checked against `sslrootcert`, a PEM file of CA certificates, or the system's trust
/// store, and must name the host). A company's database is not reached in the clear, or unverified, by accident.
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// CA certificates (PEM) that `verify-full` trusts instead of the system's.
    public var rootCertificates: String?

    public init(
        host: String, port: Int = 5432, user: String, password: String? = nil, database: String, tls: TLSMode? = nil,
        rootCertificates: String? = nil
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls ?? (Self.isLoopback(host) ? .disable : .verifyFull)
        self.rootCertificates = rootCertificates
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
        // The host as written (an IPv6 literal without its brackets; a punycode name left as it is for the resolver).
        let written = components.encodedHost ?? components.host ?? ""
        let host = written.hasPrefix("[") && written.hasSuffix("]") ? String(written.dropFirst().dropLast()) : written
        guard !host.isEmpty else {
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
        var rootCertificates: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslrootcert":
                guard let path = item.value, !path.isEmpty else {
                    throw PostgresLocationError("sslrootcert names no file")
                }
                rootCertificates = path
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw PostgresLocationError(
                        "sslmode '\(item.value ?? "")' is not one of "
                            + TLSMode.allCases.map(\.rawValue).joined(separator: ", "))
                }
                tls = mode
            default:
                throw PostgresLocationError(
                    "the URL's parameter '\(item.name)' is not known (only sslmode and sslrootcert are)")
            }
        }
        if rootCertificates != nil, let tls, tls != .verifyFull {
            throw PostgresLocationError("sslrootcert is read by sslmode=verify-full only, not \(tls.rawValue)")
        }
        self.init(
            host: host, port: port, user: user, password: components.password, database: database, tls: tls,
            rootCertificates: rootCertificates)
    }

    /// The URL without its password, for logs and messages.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    /// The same server with another database (the tests make one per test).
    public func with(database: String) -> PostgresLocation {
        var copy = self
        copy.database = database
        return copy
    }

    func clientConfiguration() throws -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch (self.tls, try tlsConfiguration()) {
            case (.prefer, let configuration?): .prefer(configuration)
            case (_, let configuration?): .require(configuration)
            case (_, nil): .disable
            }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        if let configuration = try tlsConfiguration() {
            let context: NIOSSLContext
            do {
                context = try NIOSSLContext(configuration: configuration)
            } catch {
                throw PostgresLocationError("TLS for sslmode=\(self.tls.rawValue) cannot be set up: \(error)")
            }
            tls = self.tls == .prefer ? .prefer(context) : .require(context)
        } else {
            tls = .disable
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    /// What `sslmode` and `sslrootcert` ask of TLS; nil when it is off.
    func tlsConfiguration() throws -> TLSConfiguration? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch tls {
        case .disable: return nil
        case .prefer, .require: configuration.certificateVerification = .none
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
            if let rootCertificates {
                guard FileManager.default.isReadableFile(atPath: rootCertificates) else {
                    throw PostgresLocationError("sslrootcert '\(rootCertificates)' cannot be read")
                }
                configuration.trustRoots = .file(rootCertificates)
            }
        }
        return configuration
    }

    /// `localhost`, `::1` or an IPv4 address in 127.0.0.0/8 (not a name that merely starts with "127.").
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// `text` with the password hidden: what lies between the user's `:` and the last `@` of the authority.
    static func redacted(_ text: String) -> String {
        guard let scheme = text.range(of: "://") else { return text }
        let authorityEnd = text[scheme.upperBound...].firstIndex(of: "/") ?? text.endIndex
        guard let at = text[scheme.upperBound..<authorityEnd].lastIndex(of: "@"),
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
