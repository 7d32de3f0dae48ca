import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ShopfloorReplication
import ShopfloorStore
import Synchronization

/// A request's context: Hummingbird's, plus the client's address (for the back-off on bad credentials).
public struct HQRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// The HQ HTTP server: a replica on embedded SQLite behind the sync protocol.
public struct HQServer: Sendable {
    public let replica: Replica
    public let registry: DeviceRegistry
    /// API tokens for the REST API (`/api/v1`).
    public let tokens: APITokens
    public let configuration: HQConfiguration
    public let logger: Logger
    let committer: GroupCommitter
    /// The sync protocol's push and pull, which the HTTP endpoints serve.
    let sync: SyncService
    let throttle: AuthenticationThrottle
    /// The last digest computed and the op set it is of: the digest is a function of the op set alone.
    let digestCache = DigestCache()
    /// Digests are computed one at a time, off the event loops and the cooperative pool.
    let digestQueue = DispatchQueue(label: "shopfloor.hq.digest")

    /// The client address of the request being handled (for the throttle).
    @TaskLocal static var client: String = "unknown"

    public init(replica: Replica, configuration: HQConfiguration = HQConfiguration(), logger: Logger) throws {
        self.replica = replica
        self.registry = try DeviceRegistry(replica: replica)
        self.tokens = try APITokens(replica: replica)
        self.committer = GroupCommitter(replica: replica)
        let snapshots = try configuration.snapshotLagMinimum.map { lag in
            try SnapshotStore(
                directory: replica.path + ".snapshots", lagMinimum: lag, refreshOperations: max(1, lag), logger: logger)
        }
        self.sync = SyncService(
            replica: replica, registry: registry, configuration: configuration, snapshots: snapshots, logger: logger)
        self.configuration = configuration
        self.logger = logger
        self.throttle = AuthenticationThrottle(
            perMinute: configuration.failedAuthenticationsPerMinute,
            windowSeconds: configuration.authenticationWindowSeconds)
    }

    /// The Hummingbird application; run it with `runService()` or inside a ServiceGroup. Connections are capped,
    /// idle ones (and ones that trickle a request's head) are closed after `idleTimeoutSeconds`, and with `tls`
    /// it speaks HTTPS only.
    public func application(
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let router = Router(context: HQRequestContext.self)
        // A snapshot ready for the first device far behind (made in the background; PROTOCOL.md §20).
        sync.snapshots?.refresh(replica)
        // Requests by route, method and status, and their latency (swift-metrics: see HQMetrics).
        router.middlewares.add(MetricsMiddleware())
        let server = self
        router.get("/health") { _, _ in
            try server.json(
                HealthResponse(status: "ok", replica: server.replica.id, protocolVersion: Wire.protocolVersion))
        }
        router.post("/v1/push") { request, context in
            await server.handle(request, context) { try await server.push($0) }
        }
        router.post("/v1/pull") { request, context in
            await server.handle(request, context) { try await server.pull($0) }
        }
        router.post("/v1/snapshot") { request, context in
            await server.handle(request, context) { try await server.snapshotOffer($0) }
        }
        router.get("/v1/snapshot/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await server.handle(request, context) { try await server.snapshotBytes($0, id: id) }
        }
        router.get("/v1/digest") { request, context in
            await server.handle(request, context) { try await server.digest($0) }
        }
        router.get("/v1/devices") { request, context in
            await server.handle(request, context) { try await server.listDevices($0) }
        }
        router.post("/v1/devices") { request, context in
            await server.handle(request, context) { try await server.addDevice($0) }
        }
        router.get("/v1/conflicts") { request, context in
            await server.handle(request, context) { try await server.listConflicts($0) }
        }
        router.post("/v1/conflicts/:id/ack") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await server.handle(request, context) { try await server.acknowledgeConflict($0, id: id) }
        }
        router.delete("/v1/devices/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await server.handle(request, context) { try await server.revokeDevice($0, id: id) }
        }
        registerAPI(on: router)
        registerMCP(on: router)
        registerMetrics(on: router)
        let http1 = HTTPServerBuilder.http1(
            configuration: HTTP1Channel.Configuration(idleTimeout: .seconds(configuration.idleTimeoutSeconds)))
        let builder: HTTPServerBuilder
        if let tls = configuration.tls {
            let certificates = try NIOSSLCertificate.fromPEMFile(tls.certificateChain)
            let key = try NIOSSLPrivateKey(file: tls.privateKey, format: .pem)
            builder = try .tls(
                http1,
                tlsConfiguration: TLSConfiguration.makeServerConfiguration(
                    certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(key)))
        } else {
            builder = http1
        }
        return Application(
            router: router, server: builder,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port),
                availableConnectionsDelegate: .maximum(configuration.connectionsMax, logger: logger)),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    // MARK: Plumbing

    /// Checks the protocol version, runs `body`, and turns every error into its documented response.
    func handle(
        _ request: Request, _ context: HQRequestContext, _ body: (Request) async throws -> Response
    ) async -> Response {
        let client = context.remoteAddress?.ipAddress ?? "unknown"
        return await Self.$client.withValue(client) { await handle(request, body) }
    }

    func handle(_ request: Request, _ body: (Request) async throws -> Response) async -> Response {
        do {
            guard let version = request.headers[HTTPField.Name(Wire.versionHeader)!] else {
                throw HQError.missingProtocol
            }
            guard version == "\(Wire.protocolVersion)" else { throw HQError.unsupportedProtocol(version) }
            return try await body(request)
        } catch let error as HQError {
            logger.notice(
                "request refused",
                metadata: ["path": "\(request.uri.path)", "status": "\(error.status.code)", "code": "\(error.code)"])
            var response =
                (try? json(ErrorResponse(code: error.code, message: error.message), status: error.status))
                ?? Response(status: error.status)
            if let seconds = error.retryAfter { response.headers[.retryAfter] = "\(seconds)" }
            return response
        } catch let error as HQPushRefusal {
            logger.notice(
                "push refused", metadata: ["status": "\(error.error.status.code)", "code": "\(error.error.code)"])
            let body = ErrorResponse(code: error.error.code, message: error.error.message, results: error.results)
            return (try? json(body, status: error.error.status)) ?? Response(status: error.error.status)
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return
                (try? json(
                    ErrorResponse(code: "internal", message: "internal error; see HQ logs"),
                    status: .internalServerError))
                ?? Response(status: .internalServerError)
        }
    }

    func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A batch in the compact encoding (PROTOCOL.md §19), as the answer to a request that accepts one.
    func batch(_ bytes: [UInt8]) -> Response {
        Response(
            status: .ok, headers: [.contentType: BatchEncoding.contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// True when the request's `Accept` names the compact encoding.
    static func acceptsBatch(_ request: Request) -> Bool {
        request.headers[values: .accept].contains { $0.contains(BatchEncoding.contentType) }
    }

    func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        try decodeJSON(T.self, from: try await body(of: request))
    }

    /// A push body: a batch when its `Content-Type` says so, JSON otherwise.
    func decodePush(_ request: Request) async throws -> PushRequest {
        let buffer = try await body(of: request)
        guard request.headers[.contentType]?.hasPrefix(BatchEncoding.contentType) == true else {
            return try decodeJSON(PushRequest.self, from: buffer)
        }
        do { return try BatchEncoding.decodePush(buffer.readableBytesView) } catch {
            throw HQError.malformed("body is not a valid batch: \(error)")
        }
    }

    func decodeJSON<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        if let problem = BodyNumbers.violation(in: Array(buffer.readableBytesView)) { throw HQError.malformed(problem) }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch {
            throw HQError.malformed("body is not a valid \(T.self): \(Self.describe(error))")
        }
    }

    /// The request body, bounded in bytes and in time.
    func body(of request: Request) async throws -> ByteBuffer {
        // The body is read by one child task while another keeps time; nothing else touches the request meanwhile.
        nonisolated(unsafe) var request = request
        do {
            let (limit, seconds) = (configuration.bodyBytesMax, configuration.bodyTimeoutSeconds)
            return try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
                group.addTask { try await request.collectBody(upTo: limit) }
                group.addTask {
                    try await Task.sleep(for: .seconds(seconds))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let body = first else {
                    throw HQError(
                        .requestTimeout, "request_timeout", "the request body did not arrive within \(seconds) s")
                }
                return body
            }
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw HQError.tooLarge("request body over \(configuration.bodyBytesMax) bytes: send smaller batches")
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        case DecodingError.dataCorrupted(let context):
            context.codingPath.isEmpty
                ? "not JSON" : "bad value at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        default: "\(error)"
        }
    }

    /// The admin secret as a Bearer token. A wrong one counts against the client's address (a Basic header does not:
    /// endpoints open to devices try admin first).
    func requireAdmin(_ request: Request) throws {
        let client = Self.client
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw HQError.adminRequired
        }
        if let seconds = throttle.retryAfter([client]) { throw HQError.tooManyAttempts(seconds) }
        guard let secret = configuration.adminSecret,
            Self.secretsEqual(String(header.dropFirst("Bearer ".count)), secret)
        else {
            throttle.recordFailure([client])
            logger.notice("wrong admin secret", metadata: ["client": "\(client)"])
            throw HQError.adminRequired
        }
    }

    /// Compares secrets in time independent of where, or whether their lengths, differ: both are hashed first.
    public static func secretsEqual(_ presented: String, _ expected: String) -> Bool {
        let a = Array(SHA256.hash(data: Array(presented.utf8)))
        let b = Array(SHA256.hash(data: Array(expected.utf8)))
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// The device's credentials (Basic), checked off the cooperative pool; failures count against the client's
    /// address and the device id.
    func requireDevice(_ request: Request) async throws -> DeviceRegistry.Record {
        let client = Self.client
        guard let header = request.headers[.authorization], header.hasPrefix("Basic "),
            let data = Data(base64Encoded: String(header.dropFirst("Basic ".count))),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else {
            throttle.recordFailure([client])
            throw HQError.unauthorized
        }
        let id = String(text[..<colon].prefix(80))
        let keys = [client, "device:" + id]
        if let seconds = throttle.retryAfter(keys) { throw HQError.tooManyAttempts(seconds) }
        let registry = self.registry
        let secret = String(text[text.index(after: colon)...])
        do {
            return try await offload { try registry.authenticate(id: id, secret: secret) }
        } catch let error as HQError where error.code == HQError.unauthorized.code {
            throttle.recordFailure(keys)
            throw error
        }
    }

    /// Admin or device credentials, for the endpoints open to both.
    func requireAdminOrDevice(_ request: Request) async throws {
        if request.headers[.authorization]?.hasPrefix("Bearer ") == true {
            try requireAdmin(request)
        } else {
            _ = try await requireDevice(request)
        }
    }
}

/// The last digest and the version vector of the op set it was computed over.
final class DigestCache: Sendable {
    private let value = Mutex<(VersionVector, String)?>(nil)

    func digest(of vector: VersionVector) -> String? {
        value.withLock { cached in cached.flatMap { $0.0 == vector ? $0.1 : nil } }
    }

    func store(_ digest: String, of vector: VersionVector) {
        value.withLock { $0 = (vector, digest) }
    }
}

/// A push refused as a whole, with every operation's answer.
package struct HQPushRefusal: Error {
    package var error: HQError
    package var results: [PushResult]
}
