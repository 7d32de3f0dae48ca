import Crypto
import Foundation
import GRDB
import ShopfloorDomain
import ShopfloorStore

/// What an API token may do. Each scope includes the ones before it.
public enum APIScope: String, Sendable, Codable, CaseIterable, Comparable {
    /// Reads every resource.
    case read
    /// Also writes: every `POST` and `PUT` that authors an operation.
    case write
    /// Also manages API tokens.
    case admin

    public static func < (lhs: APIScope, rhs: APIScope) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// A token as listed: never its secret.
public struct APITokenInfo: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var scope: APIScope
    public var created: String
    /// The last day (UTC) the token is accepted on; nil for no expiry.
    public var expires: String?
    public var revoked: String?
    public var lastUsed: String?

    enum CodingKeys: String, CodingKey {
        case id, name, scope, created, expires, revoked
        case lastUsed = "last_used"
    }
}

/// A token just created: the only time its text is shown.
public struct CreatedAPIToken: Sendable, Codable {
    public var token: String
    public var info: APITokenInfo
}

/// API tokens for planners and agents (REST and MCP), stored in HQ's database as SHA-256 hashes.
///
/// A token reads `sft_<id>_<secret>`: the prefix makes a leaked token recognisable (secret scanners, logs), the id
/// finds its row, and only the secret's hash is stored, compared in constant time. The secret is 160 random bits,
/// so the hash needs no salt.
public struct APITokens: Sendable {
    public static let prefix = "sft_"
    let replica: Replica

    public init(replica: Replica) throws {
        self.replica = replica
        try replica.migrate(Self.migrator)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("hq-api-v1-tokens") { db in
            try db.execute(
                sql: """
                    CREATE TABLE api_tokens (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        scope TEXT NOT NULL,
                        secret_hash TEXT NOT NULL,
                        created TEXT NOT NULL,
                        expires TEXT,
                        revoked TEXT,
                        last_used TEXT
                    ) WITHOUT ROWID;
                    -- An API write's first answer, kept per token and Idempotency-Key, so a retry gets it again.
                    CREATE TABLE api_idempotency (
                        token TEXT NOT NULL,
                        key TEXT NOT NULL,
                        request_hash TEXT NOT NULL,
                        status INTEGER NOT NULL,
                        body BLOB NOT NULL,
                        created TEXT NOT NULL,
                        PRIMARY KEY (token, key)
                    ) WITHOUT ROWID;
                    """)
        }
        return migrator
    }

    /// Creates a token; its text is returned once and never stored.
    public func create(
        name: String, scope: APIScope, expires: String? = nil, now: Date = Date()
    ) throws
        -> CreatedAPIToken
    {
        let scalars = name.unicodeScalars
        guard !scalars.isEmpty, scalars.count <= 64, !scalars.contains(where: DeviceRegistry.isUnprintable) else {
            throw HQError.apiMalformed("token name must be 1–64 characters on one line with no control characters")
        }
        if let expires {
            guard Self.isDate(expires) else {
                throw HQError.apiMalformed("expires '\(expires)' is not a date: use YYYY-MM-DD")
            }
            guard expires >= Replica.businessDate(now) else {
                throw HQError.apiMalformed("expires \(expires) is in the past")
            }
        }
        let id = Self.randomHex(bytes: 5)
        let secret = Self.randomHex(bytes: 20)
        let info = APITokenInfo(
            id: id, name: name, scope: scope, created: DeviceRegistry.timestamp(now), expires: expires)
        try replica.writeBookkeeping { db in
            try db.execute(
                sql: """
                    INSERT INTO api_tokens (id, name, scope, secret_hash, created, expires) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [id, name, scope.rawValue, Self.hash(secret), info.created, expires])
        }
        return CreatedAPIToken(token: "\(Self.prefix)\(id)_\(secret)", info: info)
    }

    public func list() throws -> [APITokenInfo] {
        try replica.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_tokens ORDER BY created, id").map(Self.info)
        }
    }

    /// Revokes a token; false when there is no such token.
    public func revoke(_ id: String, now: Date = Date()) throws -> Bool {
        try replica.writeBookkeeping { db in
            try db.execute(
                sql: "UPDATE api_tokens SET revoked = COALESCE(revoked, ?) WHERE id = ?",
                arguments: [DeviceRegistry.timestamp(now), id])
            return db.changesCount > 0
        }
    }

    /// The token a request presents, checked: 401 when unknown, wrong, expired or revoked.
    func authenticate(_ token: String, now: Date = Date()) throws -> APITokenInfo {
        let parts = token.hasPrefix(Self.prefix) ? token.dropFirst(Self.prefix.count).split(separator: "_") : []
        let id = parts.count == 2 ? String(parts[0]) : ""
        let secret = parts.count == 2 ? String(parts[1]) : ""
        let row = try replica.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_tokens WHERE id = ?", arguments: [id])
        }
        // Hash and compare even for an unknown id, so timing does not tell which ids exist.
        let stored: String = row?["secret_hash"] ?? Self.hash("unknown-token")
        let matches = DeviceRegistry.constantTimeEqual(Self.hash(secret), stored)
        guard let row, matches else { throw HQError.apiUnauthorized("unknown or wrong API token") }
        let info = Self.info(row)
        guard info.revoked == nil else { throw HQError.apiUnauthorized("API token \(info.id) is revoked") }
        if let expires = info.expires, Replica.businessDate(now) > expires {
            throw HQError.apiUnauthorized("API token \(info.id) expired on \(expires)")
        }
        return info
    }

    /// Records that a token was used (at most once a minute per token: a read must not become a write each time).
    func touch(_ info: APITokenInfo, now: Date = Date()) throws {
        let stamp = DeviceRegistry.timestamp(now)
        guard info.lastUsed.map({ $0.prefix(16) != stamp.prefix(16) }) ?? true else { return }
        try replica.writeBookkeeping { db in
            try db.execute(sql: "UPDATE api_tokens SET last_used = ? WHERE id = ?", arguments: [stamp, info.id])
        }
    }

    /// Lowercase hex: no `_`, so the token's parts split unambiguously.
    static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func info(_ row: Row) -> APITokenInfo {
        APITokenInfo(
            id: row["id"], name: row["name"], scope: APIScope(rawValue: row["scope"]) ?? .read, created: row["created"],
            expires: row["expires"], revoked: row["revoked"], lastUsed: row["last_used"])
    }

    static func isDate(_ text: String) -> Bool {
        do {
            try validateDate(text)
            return true
        } catch {
            return false
        }
    }
}
