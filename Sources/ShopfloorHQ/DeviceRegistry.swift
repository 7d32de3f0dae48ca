import Crypto
import Foundation
import GRDB
import ShopfloorReplication
import ShopfloorStore

/// Enrolled devices, stored in HQ's database. Secrets are random, handed out once, and kept only as salted
/// SHA-256 hashes compared in constant time.
public struct DeviceRegistry: Sendable {
    public let replica: Replica

    /// Opens the registry in HQ's file, creating or migrating its tables.
    public init(replica: Replica) throws {
        self.replica = replica
        try replica.migrate(Self.migrator)
    }

    /// An authenticated device.
    package struct Record: Sendable {
        package var id: String
        package var replica: String?
        package var revoked: Bool
    }

    /// Enrols a device; the returned secret is never shown again.
    public func add(name: String, hq: String? = nil, now: Date = Date()) throws -> DeviceCredentials {
        // Code points, as the OpenAPI document counts them; control and format characters (terminal escapes,
        // bidirectional overrides) would reach HQ's log and `device list` raw.
        let scalars = name.unicodeScalars
        let unprintable = scalars.first(where: Self.isUnprintable)
        guard !scalars.isEmpty, scalars.count <= 64, unprintable == nil else {
            throw HQError.malformed(
                "device name must be 1–64 characters on one line with no control characters; got "
                    + "\(scalars.count) characters\(unprintable.map { String(format: ", U+%04X", $0.value) } ?? "")")
        }
        let id = "dev-" + Self.randomText(bytes: 6)
        let secret = Self.randomText(bytes: 32)
        let salt = Self.randomText(bytes: 16)
        try replica.writeBookkeeping { db in
            try db.execute(
                sql: "INSERT INTO devices (id, name, secret_hash, salt, created) VALUES (?, ?, ?, ?, ?)",
                arguments: [id, name, Self.hash(secret: secret, salt: salt), salt, Self.timestamp(now)])
        }
        let token = EnrolmentToken(hq: hq, deviceID: id, secret: secret)
        return DeviceCredentials(deviceID: id, name: name, secret: secret, token: Self.encodeToken(token))
    }

    /// Revokes a device; false when there is no such device.
    public func revoke(_ id: String, now: Date = Date()) throws -> Bool {
        try replica.writeBookkeeping { db in
            try db.execute(
                sql: "UPDATE devices SET revoked = COALESCE(revoked, ?) WHERE id = ?",
                arguments: [Self.timestamp(now), id])
            return db.changesCount > 0
        }
    }

    public func list() throws -> [DeviceStatus] {
        let hqVector = replica.versionVector
        return try replica.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM devices ORDER BY created, id").map { row in
                let acknowledged =
                    (try? JSONDecoder().decode(VersionVector.self, from: Data((row["acknowledged"] as String).utf8)))
                    ?? VersionVector()
                return DeviceStatus(
                    deviceID: row["id"], name: row["name"], replica: row["replica"], created: row["created"],
                    revoked: row["revoked"], lastContact: row["last_contact"], acknowledged: acknowledged,
                    lag: acknowledged.lag(behind: hqVector), pushed: UInt64(row["pushed"] as Int64))
            }
        }
    }

    /// Checks a device's credentials; throws 401 for unknown or wrong, 403 for revoked.
    package func authenticate(id: String, secret: String) throws -> Record {
        let row = try replica.read { db in
            try Row.fetchOne(
                db, sql: "SELECT id, secret_hash, salt, replica, revoked FROM devices WHERE id = ?", arguments: [id])
        }
        // Hash even for an unknown id so timing does not tell which ids exist.
        let salt: String = row?["salt"] ?? "unknown-device"
        let presented = Self.hash(secret: secret, salt: salt)
        let stored: String = row?["secret_hash"] ?? String(repeating: "0", count: presented.count)
        guard let row, Self.constantTimeEqual(presented, stored) else { throw HQError.unauthorized }
        if (row["revoked"] as String?) != nil { throw HQError.revoked(id) }
        return Record(id: row["id"], replica: row["replica"], revoked: false)
    }

    /// Checks a device may push as `replicaID`: its bound replica, or (before its first push) a replica no other
    /// device and not HQ itself owns. Reads the binding in `db`, the push's own transaction, so two first pushes
    /// cannot both pass. Changes nothing.
    func checkBinding(_ device: Record, to replicaID: String, _ db: any SQLExecutor) throws {
        guard VersionVector.isValidReplicaID(replicaID) else {
            throw HQError.malformed("replica id must be 1–64 of [A-Za-z0-9._-], got '\(replicaID.prefix(80))'")
        }
        let row = try db.row("SELECT replica, revoked FROM devices WHERE id = ?", device.id)
        guard let row else { throw HQError.unauthorized }
        if !row[1].isNull { throw HQError.revoked(device.id) }
        if let bound = try row[0].optionalString() {
            guard bound == replicaID else {
                throw HQError(
                    .forbidden, "foreign_author",
                    "device '\(device.id)' pushes as replica '\(bound)', not '\(replicaID)'")
            }
            return
        }
        guard replicaID != replica.id else {
            throw HQError(.forbidden, "foreign_author", "replica '\(replicaID)' is HQ's own")
        }
        let owner = try db.scalar("SELECT id FROM devices WHERE replica = ?", replicaID)?.string()
        if let owner, owner != device.id {
            throw HQError(.forbidden, "foreign_author", "replica '\(replicaID)' belongs to another device")
        }
    }

    /// Binds a device to its replica on its first stored push, in that push's transaction.
    func bind(_ deviceID: String, to replicaID: String, _ db: any SQLExecutor) throws {
        try db.execute("UPDATE devices SET replica = ? WHERE id = ? AND replica IS NULL", replicaID, deviceID)
    }

    /// Records a contact: when, what the device holds, what it has pushed.
    func recordContact(
        _ id: String, acknowledged: VersionVector? = nil, pushed: UInt64? = nil, now: Date = Date()
    ) throws {
        try replica.writeBookkeeping { db in
            try recordContact(id, acknowledged: acknowledged, pushed: pushed, now: now, db)
        }
    }

    /// Records a contact in `db`'s transaction.
    func recordContact(
        _ id: String, acknowledged: VersionVector? = nil, pushed: UInt64? = nil, now: Date = Date(),
        _ db: any SQLExecutor
    ) throws {
        try db.execute("UPDATE devices SET last_contact = ? WHERE id = ?", Self.timestamp(now), id)
        if let acknowledged {
            let json = String(decoding: try JSONEncoder().encode(acknowledged), as: UTF8.self)
            try db.execute("UPDATE devices SET acknowledged = ? WHERE id = ?", json, id)
        }
        if let pushed {
            // Not `MAX(pushed, ?)`: PostgreSQL's scalar maximum is GREATEST, which SQLite lacks.
            try db.execute("UPDATE devices SET pushed = ? WHERE id = ? AND pushed < ?", pushed, id, pushed)
        }
    }

    /// `text` with control and format characters shown as `\u{…}`, for a terminal or a log (names stored before
    /// HQ refused them may hold escape codes).
    public static func printable(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            if isUnprintable(scalar) {
                result += String(format: "\\u{%04X}", scalar.value)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Control, format and separator characters: what a terminal or a log line must not get raw.
    static func isUnprintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }

    static func hash(secret: String, salt: String) -> String {
        SHA256.hash(data: Array((salt + ":" + secret).utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    static func randomText(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
        return base64url(data)
    }

    static func base64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// The one-line enrolment token.
    public static func encodeToken(_ token: EnrolmentToken) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return base64url(try! encoder.encode(token))
    }
}
