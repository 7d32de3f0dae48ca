/// The sync protocol's messages (SyncProtocol/PROTOCOL.md is the normative description).
public enum Wire {
    /// The protocol version this build speaks.
    public static let protocolVersion = 1
    /// The request header that carries the protocol version.
    public static let versionHeader = "Shopfloor-Protocol"
    /// At most this many operations in one push.
    public static let pushOperationsMax = 1000
    /// At most this many operations in one pull page.
    public static let pullOperationsMax = 5000
    /// A pull page stops once its operations reach about this many bytes (PROTOCOL.md §9).
    public static let pullBytesMax = 8 * 1024 * 1024
    /// Request bodies larger than this are refused with 413.
    public static let bodyBytesMax = 16 * 1024 * 1024
}

/// POST /v1/push
public struct PushRequest: Sendable, Codable {
    /// The replica id of the pushing device; every operation must be authored by it.
    public var replica: String
    public var operations: [ShopOperation]

    public init(replica: String, operations: [ShopOperation]) {
        self.replica = replica
        self.operations = operations
    }
}

/// One operation's answer.
public struct PushResult: Sendable, Codable, Hashable {
    public enum Status: String, Sendable, Codable {
        case accepted, duplicate, refused
        /// Would have been accepted, but another operation of the batch was refused, so nothing was stored.
        case aborted
    }
    public var id: String
    public var status: Status
    public var code: String?
    public var message: String?

    public init(id: String, status: Status, code: String? = nil, message: String? = nil) {
        self.id = id
        self.status = status
        self.code = code
        self.message = message
    }
}

public struct PushResponse: Sendable, Codable {
    public var results: [PushResult]
    /// HQ's version vector after the push.
    public var vector: VersionVector

    public init(results: [PushResult], vector: VersionVector) {
        self.results = results
        self.vector = vector
    }
}

/// POST /v1/pull
public struct PullRequest: Sendable, Codable {
    /// What the device already holds.
    public var vector: VersionVector
    public var limit: Int?
    /// The highest HQ sequence number the device holds; the page starts after it (absent: 0).
    public var after: UInt64?

    public init(vector: VersionVector, limit: Int? = nil, after: UInt64? = nil) {
        self.vector = vector
        self.limit = limit
        self.after = after
    }
}

/// HQ's sequence number for an operation the device already holds.
public struct Assignment: Sendable, Codable, Hashable {
    public var id: OperationID
    public var seq: UInt64

    public init(id: OperationID, seq: UInt64) {
        self.id = id
        self.seq = seq
    }
}

public struct PullResponse: Sendable, Codable {
    /// Operations the device lacks, each with its HQ sequence number, in sequence (hence causal) order.
    public var operations: [ShopOperation]
    /// Sequence numbers for operations in this page that the device already holds (typically its own).
    public var sequenced: [Assignment]
    /// The last sequence number this page covers: the next request's `after`.
    public var last: UInt64
    /// True when more operations remain: pull again with `after = last`.
    public var more: Bool
    /// HQ's version vector.
    public var vector: VersionVector

    public init(operations: [ShopOperation], sequenced: [Assignment], last: UInt64, more: Bool, vector: VersionVector) {
        self.operations = operations
        self.sequenced = sequenced
        self.last = last
        self.more = more
        self.vector = vector
    }
}

/// The body of every error response.
public struct ErrorResponse: Sendable, Codable {
    public struct Detail: Sendable, Codable {
        public var code: String
        public var message: String
    }
    public var error: Detail
    /// For a refused push: every operation's answer.
    public var results: [PushResult]?

    public init(code: String, message: String, results: [PushResult]? = nil) {
        self.error = Detail(code: code, message: message)
        self.results = results
    }
}

/// What enrolment hands out once; HQ keeps only a hash of the secret.
public struct DeviceCredentials: Sendable, Codable {
    public var deviceID: String
    public var name: String
    public var secret: String
    /// One-line enrolment token: base64url of {"hq","device_id","secret"}.
    public var token: String

    enum CodingKeys: String, CodingKey {
        case deviceID = "device_id"
        case name, secret, token
    }

    public init(deviceID: String, name: String, secret: String, token: String) {
        self.deviceID = deviceID
        self.name = name
        self.secret = secret
        self.token = token
    }
}

/// GET /v1/devices
public struct DeviceStatus: Sendable, Codable {
    public var deviceID: String
    public var name: String
    public var replica: String?
    public var created: String
    public var revoked: String?
    public var lastContact: String?
    /// The vector the device last reported holding.
    public var acknowledged: VersionVector
    /// Operations at HQ the device has not acknowledged.
    public var lag: UInt64
    /// Highest own counter the device has pushed.
    public var pushed: UInt64

    enum CodingKeys: String, CodingKey {
        case deviceID = "device_id"
        case name, replica, created, revoked
        case lastContact = "last_contact"
        case acknowledged, lag, pushed
    }

    public init(
        deviceID: String, name: String, replica: String?, created: String, revoked: String?, lastContact: String?,
        acknowledged: VersionVector, lag: UInt64, pushed: UInt64
    ) {
        self.deviceID = deviceID
        self.name = name
        self.replica = replica
        self.created = created
        self.revoked = revoked
        self.lastContact = lastContact
        self.acknowledged = acknowledged
        self.lag = lag
        self.pushed = pushed
    }
}

/// GET /v1/digest
public struct DigestResponse: Sendable, Codable {
    public var digest: String
    public var operations: UInt64
    public var vector: VersionVector

    public init(digest: String, operations: UInt64, vector: VersionVector) {
        self.digest = digest
        self.operations = operations
        self.vector = vector
    }
}

/// A snapshot HQ offers (PROTOCOL.md §20): its replica tables at sequence number `seq`, as one file.
public struct SnapshotManifest: Sendable, Codable, Equatable {
    /// Names this file: `GET /v1/snapshot/{id}` serves its bytes.
    public var id: String
    public var seq: UInt64
    public var vector: VersionVector
    public var operations: UInt64
    public var bytes: Int64
    /// Lowercase hex SHA-256 of the whole file.
    public var sha256: String
    /// The replica schema and fold version it is written in; a device installs only its own.
    public var format: String

    public init(
        id: String, seq: UInt64, vector: VersionVector, operations: UInt64, bytes: Int64, sha256: String,
        format: String
    ) {
        self.id = id
        self.seq = seq
        self.vector = vector
        self.operations = operations
        self.bytes = bytes
        self.sha256 = sha256
        self.format = format
    }
}

/// POST /v1/snapshot: what the device holds; HQ offers a snapshot when that is far behind it.
public struct SnapshotRequest: Sendable, Codable {
    public var vector: VersionVector
    /// The snapshot format the device installs.
    public var format: String

    public init(vector: VersionVector, format: String) {
        self.vector = vector
        self.format = format
    }
}

public struct SnapshotOffer: Sendable, Codable {
    /// Absent: pull the log instead.
    public var snapshot: SnapshotManifest?

    public init(snapshot: SnapshotManifest?) {
        self.snapshot = snapshot
    }
}

/// GET /health
public struct HealthResponse: Sendable, Codable {
    public var status: String
    public var replica: String
    public var protocolVersion: Int

    enum CodingKeys: String, CodingKey {
        case status, replica
        case protocolVersion = "protocol"
    }

    public init(status: String, replica: String, protocolVersion: Int) {
        self.status = status
        self.replica = replica
        self.protocolVersion = protocolVersion
    }
}

/// The one-line enrolment token's content.
public struct EnrolmentToken: Sendable, Codable, Equatable {
    public var hq: String?
    public var deviceID: String
    public var secret: String

    enum CodingKeys: String, CodingKey {
        case hq
        case deviceID = "device_id"
        case secret
    }

    public init(hq: String?, deviceID: String, secret: String) {
        self.hq = hq
        self.deviceID = deviceID
        self.secret = secret
    }
}
