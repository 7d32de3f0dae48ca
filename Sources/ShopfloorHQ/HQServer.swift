import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ShopfloorReplication
import ShopfloorStore

/// The HQ HTTP server: a replica on embedded SQLite behind the sync protocol.
public struct HQServer: Sendable {
    public let replica: Replica
    public let registry: DeviceRegistry
    public let configuration: HQConfiguration
    public let logger: Logger
    let committer: GroupCommitter

    public init(replica: Replica, configuration: HQConfiguration = HQConfiguration(), logger: Logger) throws {
        self.replica = replica
        self.registry = try DeviceRegistry(replica: replica)
        self.committer = GroupCommitter(replica: replica)
        self.configuration = configuration
        self.logger = logger
    }

    /// The Hummingbird application; run it with `runService()` or inside a ServiceGroup.
    public func application(
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        let server = self
        router.get("/health") { _, _ in
            try server.json(
                HealthResponse(status: "ok", replica: server.replica.id, protocolVersion: Wire.protocolVersion))
        }
        router.post("/v1/push") { request, context in await server.handle(request) { try await server.push($0) } }
        router.post("/v1/pull") { request, context in await server.handle(request) { try await server.pull($0) } }
        router.get("/v1/digest") { request, context in await server.handle(request) { try server.digest($0) } }
        router.get("/v1/devices") { request, context in await server.handle(request) { try server.listDevices($0) } }
        router.post("/v1/devices") { request, context in await server.handle(request) { try await server.addDevice($0) }
        }
        router.get("/v1/conflicts") { request, context in await server.handle(request) { try server.listConflicts($0) }
        }
        router.post("/v1/conflicts/:id/ack") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await server.handle(request) { try await server.acknowledgeConflict($0, id: id) }
        }
        router.delete("/v1/devices/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await server.handle(request) { try server.revokeDevice($0, id: id) }
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port)),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    // MARK: Plumbing

    /// Checks the protocol version, runs `body`, and turns every error into its documented response.
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
            return (try? json(ErrorResponse(code: error.code, message: error.message), status: error.status))
                ?? Response(status: error.status)
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

    func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: configuration.bodyBytesMax)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw HQError.tooLarge("request body over \(configuration.bodyBytesMax) bytes: send smaller batches")
        }
        if let problem = BodyNumbers.violation(in: Array(buffer.readableBytesView)) { throw HQError.malformed(problem) }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch {
            throw HQError.malformed("body is not a valid \(T.self): \(Self.describe(error))")
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

    func requireAdmin(_ request: Request) throws {
        guard let secret = configuration.adminSecret, let header = request.headers[.authorization],
            header.hasPrefix("Bearer "),
            DeviceRegistry.constantTimeEqual(String(header.dropFirst("Bearer ".count)), secret)
        else { throw HQError.adminRequired }
    }

    func requireDevice(_ request: Request) throws -> DeviceRegistry.Record {
        guard let header = request.headers[.authorization], header.hasPrefix("Basic "),
            let data = Data(base64Encoded: String(header.dropFirst("Basic ".count))),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { throw HQError.unauthorized }
        return try registry.authenticate(id: String(text[..<colon]), secret: String(text[text.index(after: colon)...]))
    }
}

/// A push refused as a whole, with every operation's answer.
struct HQPushRefusal: Error {
    var error: HQError
    var results: [PushResult]
}
