import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import ShopfloorDomain
import ShopfloorHQ
import ShopfloorReplication
import ShopfloorStore
import ShopfloorSync
import Synchronization

/// A temp directory removed at the end of the test.
final class TempDirectory: Sendable {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("shopfloor-sync-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A real HQ on 127.0.0.1 (free port) for the duration of `body`.
struct HQHarness {
    static let adminSecret = "test-admin-secret"

    let replica: Replica
    let server: HQServer
    let url: String

    /// Starts HQ on `path`, runs `body`, then shuts HQ down gracefully.
    static func withHQ<T>(
        at path: String, configuration: HQConfiguration = HQConfiguration(port: 0, adminSecret: adminSecret),
        _ body: (HQHarness) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "test.hq")
        logger.logLevel = .warning
        let replica =
            FileManager.default.fileExists(atPath: path)
            ? try Replica.open(at: path, configuration: ReplicaConfiguration(durable: false, sequencer: true))
            : try Replica.create(
                at: path, name: "hq", id: "hq", configuration: ReplicaConfiguration(durable: false, sequencer: true))
        let server = try HQServer(replica: replica, configuration: configuration, logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = try server.application { port in continuation.yield(port) }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw HarnessError.serverDidNotStart }
            let scheme = configuration.tls == nil ? "http" : "https"
            let harness = HQHarness(replica: replica, server: server, url: "\(scheme)://127.0.0.1:\(port)")
            do {
                let result = try await body(harness)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    /// Enrols a device and returns a sync client for `replica`.
    func client(for replica: Replica, name: String, batch: Int = 100) throws -> SyncClient {
        let credentials = try server.registry.add(name: name, hq: url)
        var settings = SyncSettings(hq: url, deviceID: credentials.deviceID, secret: credentials.secret)
        settings.pushed = 0
        try settings.save(to: replica)
        var logger = Logger(label: "test.sync")
        logger.logLevel = .warning
        return try SyncClient(
            replica: replica, hq: url, deviceID: credentials.deviceID, secret: credentials.secret,
            configuration: SyncClient.Configuration(
                batchOperationsMax: batch, attemptsMax: 3, backoffInitialSeconds: 0.05),
            logger: logger)
    }

    /// A raw request for the error-path tests.
    func request(
        _ method: String, _ path: String, body: Data? = nil, headers: [String: String] = ["Shopfloor-Protocol": "1"]
    ) async throws -> (status: Int, body: Data) {
        try await Self.request(url, method, path, body: body, headers: headers)
    }

    /// A raw request to any HQ (in-process or a separate process) at `url`.
    static func request(
        _ url: String, _ method: String, _ path: String, body: Data? = nil, headers: [String: String]
    ) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: url + path)
        request.method = .init(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return (Int(response.status.code), Data(buffer: bytes))
    }

    static func basic(_ device: String, _ secret: String) -> String {
        "Basic " + Data("\(device):\(secret)".utf8).base64EncodedString()
    }
}

enum HarnessError: Error { case serverDidNotStart }

func amount(_ text: String) -> Amount { try! Amount(parsing: text) }

/// The worked example's catalog, recorded on one replica.
func seedCatalog(_ replica: Replica) throws {
    try replica.record(.addLocation(Location(code: "PLANT")))
    for (sku, unit): (SKU, String) in [("STEEL", "kg"), ("BOLT", "ea"), ("PAINT", "l")] {
        try replica.record(.addItem(Item(sku: sku, kind: .material, unit: unit)))
    }
    try replica.record(.addItem(Item(sku: "FRAME", kind: .component)))
    try replica.record(.addItem(Item(sku: "CHAIR", kind: .product)))
    try replica.record(
        .setBOM(
            SetBOM(
                parent: "FRAME",
                lines: [BOMLine(sku: "STEEL", quantity: amount("2.5")), BOMLine(sku: "BOLT", quantity: 4)])))
    try replica.record(
        .setBOM(
            SetBOM(
                parent: "CHAIR",
                lines: [
                    BOMLine(sku: "FRAME", quantity: 1), BOMLine(sku: "BOLT", quantity: 2),
                    BOMLine(sku: "PAINT", quantity: amount("0.2")),
                ])))
    for (sku, quantity, cost): (SKU, String, String) in [
        ("STEEL", "1000", "2.00"), ("BOLT", "10000", "0.10"), ("PAINT", "200", "15.00"),
    ] {
        try replica.record(
            .adjustStock(AdjustStock(sku: sku, location: "PLANT", quantity: amount(quantity), unitCost: amount(cost))))
    }
}
