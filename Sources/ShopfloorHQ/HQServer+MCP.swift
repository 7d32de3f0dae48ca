import Foundation
import HTTPTypes
import Hummingbird
import MCP
import NIOCore
import ShopfloorMCP
import ShopfloorReplication
import ShopfloorStore

/// `/mcp`: the MCP tools over Streamable HTTP, stateless (POST only, JSON responses), authenticated with the REST
/// API's tokens. A read token gets the read-only tools; write and admin tokens get them all. Each request is served by
/// a server of its own, so concurrent clients never share JSON-RPC ids or state.
extension HQServer {
    func registerMCP(on router: Router<HQRequestContext>) {
        let server = self
        for method in [HTTPRequest.Method.post, .get, .delete] {
            router.on("mcp", method: method) { request, context in
                await server.api(request, context, .read) { token in try await server.mcp(request, token) }
            }
        }
    }

    func mcp(_ request: Request, _ token: APITokenInfo) async throws -> Response {
        let body = request.method == .post ? try await body(of: request) : ByteBuffer()
        var headers: [String: String] = [:]
        for field in request.headers {
            headers[field.name.canonicalName] =
                headers[field.name.canonicalName].map { "\($0), \(field.value)" }
                ?? field.value
        }
        let tools = ShopfloorTools(
            host: HQToolHost(server: self), readOnly: configuration.mcpReadOnly || token.scope < .write,
            logger: logger)
        let mcp = await ShopfloorMCPServer.make(name: "shopfloor-hq", version: "\(Wire.protocolVersion)", tools: tools)
        let transport = StatelessHTTPServerTransport(
            validationPipeline: StandardValidationPipeline(validators: [
                BrowserOriginValidator(allowed: configuration.mcpAllowedOrigins),
                AcceptHeaderValidator(mode: .jsonOnly), ContentTypeValidator(), ProtocolVersionValidator(),
            ]),
            logger: logger)
        try await mcp.start(transport: transport)
        let answer = await transport.handleRequest(
            MCP.HTTPRequest(
                method: request.method.rawValue, headers: headers, body: Data(buffer: body), path: request.uri.path))
        await mcp.stop()
        var response = Response(status: HTTPResponse.Status(code: answer.statusCode))
        for (name, value) in answer.headers {
            if let name = HTTPField.Name(name) { response.headers[name] = value }
        }
        if let data = answer.bodyData { response.body = ResponseBody(byteBuffer: ByteBuffer(bytes: data)) }
        return response
    }
}

/// HQ's replica as the MCP tools see it: writes go through the group committer, like the REST API's.
struct HQToolHost: ToolHost {
    let server: HQServer

    var replica: Replica { server.replica }

    func write<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await server.committer.perform(body)
    }

    func stateDigest() async throws -> DigestResponse {
        let (vector, digest) = try await server.currentDigest()
        return DigestResponse(digest: digest, operations: vector.total, vector: vector)
    }
}

/// Refuses a request whose `Origin` header is not an allowed one: a browser page must not reach `/mcp` through DNS
/// rebinding. The `Host` header is not checked, since HQ serves a plant network under any name.
struct BrowserOriginValidator: HTTPRequestValidator {
    let allowed: [String]

    func validate(_ request: MCP.HTTPRequest, context: HTTPValidationContext) -> MCP.HTTPResponse? {
        guard let origin = request.header(HTTPHeaderName.origin), !allowed.contains(origin) else { return nil }
        return .error(statusCode: 403, .invalidRequest("Forbidden: Origin '\(origin)' is not allowed"))
    }
}
