import ShopfloorReplication

/// How HQ serves. Every field has a default.
public struct HQConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port (tests).
    public var port: Int
    /// Needed for the admin endpoints; nil disables them over HTTP.
    public var adminSecret: String?
    public var pushOperationsMax: Int
    public var pullOperationsMax: Int
    public var bodyBytesMax: Int
    /// A pull page stops once its operations reach about this many bytes.
    public var pullBytesMax: Int
    /// A connection with no request in flight is closed after this long; so is one that trickles a request's
    /// head (PROTOCOL.md §9).
    public var idleTimeoutSeconds: Int64
    /// A request's body must arrive within this long.
    public var bodyTimeoutSeconds: Int64
    /// At most this many connections at once; further ones wait in the listen backlog.
    public var connectionsMax: Int
    /// Serve HTTPS with this certificate chain and private key (PEM files).
    public var tls: TLSFiles?
    /// Failed credentials allowed from one client address (or for one device) per window before
    /// `429 too_many_attempts`.
    public var failedAuthenticationsPerMinute: Int
    /// The sliding window those failures are counted over (a minute; shorter in tests).
    public var authenticationWindowSeconds: Double
    /// `/mcp` offers only the read tools, whatever the token's scope.
    public var mcpReadOnly: Bool
    /// Browser origins allowed to call `/mcp` (e.g. `https://planner.example`); a request with any other `Origin`
    /// header is refused (DNS-rebinding protection). MCP clients that are not browsers send none.
    public var mcpAllowedOrigins: [String]
    /// A device at least this many operations behind HQ is offered a snapshot instead of the log (PROTOCOL.md §20);
    /// nil offers none.
    public var snapshotLagMinimum: UInt64? = 10_000

    public init(
        host: String = "127.0.0.1", port: Int = 8080, adminSecret: String? = nil,
        pushOperationsMax: Int = 1000, pullOperationsMax: Int = 5000, bodyBytesMax: Int = 16 * 1024 * 1024,
        pullBytesMax: Int = Wire.pullBytesMax, idleTimeoutSeconds: Int64 = 30, bodyTimeoutSeconds: Int64 = 60,
        connectionsMax: Int = 512, tls: TLSFiles? = nil, failedAuthenticationsPerMinute: Int = 20,
        authenticationWindowSeconds: Double = 60, mcpReadOnly: Bool = false, mcpAllowedOrigins: [String] = []
    ) {
        self.host = host
        self.port = port
        self.adminSecret = adminSecret
        self.pushOperationsMax = pushOperationsMax
        self.pullOperationsMax = pullOperationsMax
        self.bodyBytesMax = bodyBytesMax
        self.pullBytesMax = pullBytesMax
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.bodyTimeoutSeconds = bodyTimeoutSeconds
        self.connectionsMax = connectionsMax
        self.tls = tls
        self.failedAuthenticationsPerMinute = failedAuthenticationsPerMinute
        self.authenticationWindowSeconds = authenticationWindowSeconds
        self.mcpReadOnly = mcpReadOnly
        self.mcpAllowedOrigins = mcpAllowedOrigins
    }
}

/// HQ's certificate chain and private key, PEM files.
public struct TLSFiles: Sendable {
    public var certificateChain: String
    public var privateKey: String

    public init(certificateChain: String, privateKey: String) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
    }
}
