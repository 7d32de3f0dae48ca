import AsyncHTTPClient
import Foundation
import NIOCore
import ShopfloorReplication

/// A device's push over real HTTP with a body encoded beforehand, as `SyncClient` sends it.
struct RawPusher: Sendable {
    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    let http: HTTPClient
    let url: String
    let authorization: String

    init(http: HTTPClient, hq: String, deviceID: String, secret: String) {
        self.http = http
        self.url = hq + "/v1/push"
        self.authorization = "Basic " + Data("\(deviceID):\(secret)".utf8).base64EncodedString()
    }

    /// The body `SyncClient` sends for these operations: the compact encoding (PROTOCOL.md §19).
    static func body(replica: String, operations: [ShopOperation]) -> [UInt8] {
        BatchEncoding.encode(PushRequest(replica: replica, operations: operations))
    }

    /// The same push as JSON (sorted keys, no escaped slashes), the protocol's reference form.
    static func jsonBody(replica: String, operations: [ShopOperation]) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(PushRequest(replica: replica, operations: operations)))
    }

    func push(_ body: [UInt8]) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: Wire.versionHeader, value: "\(Wire.protocolVersion)")
        request.headers.add(name: "Content-Type", value: BatchEncoding.contentType)
        request.headers.add(name: "Authorization", value: authorization)
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.execute(request, timeout: .seconds(300))
        let reply = try await response.body.collect(upTo: 64 * 1024 * 1024)
        guard response.status.code == 200 else {
            throw Refused(description: "push answered \(response.status.code): \(String(buffer: reply).prefix(400))")
        }
    }
}
