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

    public init(
        host: String = "127.0.0.1", port: Int = 8080, adminSecret: String? = nil,
        pushOperationsMax: Int = 1000, pullOperationsMax: Int = 5000, bodyBytesMax: Int = 16 * 1024 * 1024
    ) {
        self.host = host
        self.port = port
        self.adminSecret = adminSecret
        self.pushOperationsMax = pushOperationsMax
        self.pullOperationsMax = pullOperationsMax
        self.bodyBytesMax = bodyBytesMax
    }
}
