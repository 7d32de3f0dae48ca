import Foundation
import GRDB
import ShopfloorReplication
import ShopfloorStore

/// A device's enrolment and sync progress, kept in its own replica file (table `sync_state`).
public struct SyncSettings: Sendable, Equatable {
    public var hq: String?
    public var deviceID: String?
    public var secret: String?
    /// The highest own counter HQ has acknowledged.
    public var pushed: UInt64 = 0
    public var lastSync: String?
    public var lastError: String?
    /// A PEM file of the certificate authorities to trust for an `https://` HQ (default: the system's).
    public var caFile: String?

    public init(hq: String? = nil, deviceID: String? = nil, secret: String? = nil) {
        self.hq = hq
        self.deviceID = deviceID
        self.secret = secret
    }

    public var isEnrolled: Bool { deviceID != nil && secret != nil }

    public static func load(from replica: Replica) throws -> SyncSettings {
        try replica.migrate(migrator)
        let values = try replica.read { db in
            Dictionary(
                try Row.fetchAll(db, sql: "SELECT key, value FROM sync_state").map {
                    ($0["key"] as String, $0["value"] as String)
                },
                uniquingKeysWith: { $1 })
        }
        var settings = SyncSettings(hq: values["hq"], deviceID: values["device_id"], secret: values["secret"])
        settings.pushed = UInt64(values["pushed"] ?? "0") ?? 0
        settings.lastSync = values["last_sync"]
        settings.lastError = values["last_error"]
        settings.caFile = values["ca_file"]
        return settings
    }

    public func save(to replica: Replica) throws {
        let values: [(String, String?)] = [
            ("hq", hq), ("device_id", deviceID), ("secret", secret), ("pushed", "\(pushed)"),
            ("last_sync", lastSync), ("last_error", lastError), ("ca_file", caFile),
        ]
        try replica.migrate(Self.migrator)
        try replica.writeBookkeeping { db in
            for (key, value) in values {
                if let value {
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)", arguments: [key, value])
                } else {
                    try db.execute(sql: "DELETE FROM sync_state WHERE key = ?", arguments: [key])
                }
            }
        }
    }

    /// Reads a one-line enrolment token.
    public static func decodeToken(_ token: String) throws -> EnrolmentToken {
        var base64 = token.trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64),
            let decoded = try? JSONDecoder().decode(EnrolmentToken.self, from: data)
        else { throw SyncError.invalidToken }
        return decoded
    }
}
