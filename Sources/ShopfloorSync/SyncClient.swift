import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import ShopfloorReplication
import ShopfloorStore

/// Progress of a long sync, reported after every batch.
public struct SyncProgress: Sendable {
    public enum Phase: String, Sendable { case push, pull }
    public var phase: Phase
    public var done: Int
    /// Known total for pushes; for pulls, the operations HQ has that we lacked at the start.
    public var total: Int
}

/// What a sync did.
public struct SyncReport: Sendable, Codable {
    public var pushed: Int
    public var duplicates: Int
    public var pulled: Int
    /// The state digest after the sync, when asked for: it reads every projection row, so its cost grows with the
    /// history (about 2 s at 10^5 operations), while a sync's cost follows what it moves.
    public var digest: String?
    public var vector: VersionVector
}

/// Pushes this device's operations to HQ and pulls what it lacks, batch by batch, saving progress after each.
///
/// Transient failures (connection errors, 5xx) are retried with exponential backoff, a bounded number of times.
/// Every push is idempotent at HQ, so a retry or a restart after a kill never loses or doubles an operation.
public struct SyncClient: Sendable {
    public struct Configuration: Sendable {
        public var batchOperationsMax: Int
        public var attemptsMax: Int
        public var backoffInitialSeconds: Double
        public var backoffMaxSeconds: Double
        public var requestTimeoutSeconds: Int64

        public init(
            batchOperationsMax: Int = 500, attemptsMax: Int = 8, backoffInitialSeconds: Double = 0.1,
            backoffMaxSeconds: Double = 2, requestTimeoutSeconds: Int64 = 60
        ) {
            self.batchOperationsMax = batchOperationsMax
            self.attemptsMax = attemptsMax
            self.backoffInitialSeconds = backoffInitialSeconds
            self.backoffMaxSeconds = backoffMaxSeconds
            self.requestTimeoutSeconds = requestTimeoutSeconds
        }
    }

    public let replica: Replica
    public let hq: String
    public let deviceID: String
    public let secret: String
    public let configuration: Configuration
    public let logger: Logger
    let http: HTTPClient

    public init(
        replica: Replica, hq: String, deviceID: String, secret: String, configuration: Configuration = Configuration(),
        http: HTTPClient = .shared, logger: Logger = Logger(label: "shopfloor.sync")
    ) throws {
        guard let url = URL(string: hq), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw SyncError.invalidURL(hq)
        }
        self.replica = replica
        self.hq = hq.hasSuffix("/") ? String(hq.dropLast()) : hq
        self.deviceID = deviceID
        self.secret = secret
        self.configuration = configuration
        self.http = http
        self.logger = logger
    }

    /// The HTTP client for an HQ: the shared one, or with `caFile` one that trusts only those authorities (shut it
    /// down with `shutdown()` when done).
    public static func makeHTTPClient(caFile: String?) throws -> HTTPClient {
        guard let caFile else { return .shared }
        guard FileManager.default.isReadableFile(atPath: caFile) else { throw SyncError.unreadableCAFile(caFile) }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(caFile)
        return HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: HTTPClient.Configuration(tlsConfiguration: tls))
    }

    /// Push, then pull until HQ has nothing more; progress is saved after every batch.
    public func sync(
        digest withDigest: Bool = false, progress: @Sendable (SyncProgress) -> Void = { _ in }
    ) async throws -> SyncReport {
        var settings = try SyncSettings.load(from: replica)
        do {
            let (pushed, duplicates) = try await push(settings: &settings, progress: progress)
            let pulled = try await pull(progress: progress)
            settings.lastSync = Self.timestamp()
            settings.lastError = nil
            try settings.save(to: replica)
            return SyncReport(
                pushed: pushed, duplicates: duplicates, pulled: pulled, digest: withDigest ? try replica.digest() : nil,
                vector: replica.versionVector)
        } catch {
            settings.lastError = "\(error)"
            try? settings.save(to: replica)
            throw error
        }
    }

    func push(settings: inout SyncSettings, progress: (SyncProgress) -> Void) async throws -> (Int, Int) {
        var accepted = 0
        var duplicates = 0
        let own = replica.versionVector[replica.id]
        let total = Int(own > settings.pushed ? own - settings.pushed : 0)
        var realignments = 0
        while true {
            let batch = try replica.operations(
                authoredBy: replica.id, after: settings.pushed, limit: configuration.batchOperationsMax)
            guard !batch.isEmpty else { break }
            do {
                let response = try await sendPush(PushRequest(replica: replica.id, operations: batch))
                accepted += response.results.filter { $0.status == .accepted }.count
                duplicates += response.results.filter { $0.status == .duplicate }.count
                settings.pushed = max(settings.pushed, batch.last!.id.counter)
                try settings.save(to: replica)
                progress(SyncProgress(phase: .push, done: accepted + duplicates, total: total))
            } catch SyncError.refused(409, RefusalCode.missingDependency.rawValue, let message) where realignments < 3 {
                // HQ lacks our earlier operations (restored from a backup?): start again from what it holds.
                realignments += 1
                let digest: DigestResponse = try await send("/v1/digest", body: nil as PullRequest?, method: .GET)
                logger.warning(
                    "HQ lacks earlier operations; resending from its vector",
                    metadata: ["hq_counter": "\(digest.vector[replica.id])", "reason": "\(message)"])
                settings.pushed = digest.vector[replica.id]
                try settings.save(to: replica)
            }
        }
        return (accepted, duplicates)
    }

    /// Entries (operations and bare sequence numbers) folded in one transaction. A device with unsynced work of its
    /// own rewinds and refolds that suffix once per group, so groups much larger than a page keep that cost small
    /// beside the pulled operations; the buffer ahead of the fold holds at most two groups.
    var pullGroupEntries: Int { configuration.batchOperationsMax * 20 }

    /// Pulls in rounds until a round's first page is empty. In a round, a producer fetches pages ahead (each after the
    /// previous page's `last`) while the replica folds them, a group per transaction. Each request carries the vector
    /// committed so far, which may trail the pages in flight: those hold only operations numbered after the earlier
    /// ones, so it still tells HQ which the device holds. The empty page that ends the pull carries the final vector.
    func pull(progress: (SyncProgress) -> Void) async throws -> Int {
        var pulled = 0
        var total = 0
        while true {
            let vector = replica.versionVector
            let first: PullResponse = try await pullPage(after: replica.sequencedThrough, vector: vector)
            if total == 0 {
                total = Int(first.vector.total > vector.total ? first.vector.total - vector.total : 0)
            }
            guard PageBuffer.entries(first) > 0 else {
                guard !first.more else {
                    throw SyncError.protocolViolation("HQ said more operations remain but sent none")
                }
                return pulled
            }
            let buffer = PageBuffer(capacity: 2 * pullGroupEntries, committed: vector)
            _ = await buffer.put(first)
            let producer = Task { [self] in
                var page = first
                do {
                    while page.more {
                        page = try await pullPage(after: page.last, vector: await buffer.committed)
                        guard PageBuffer.entries(page) > 0 else { break }
                        guard await buffer.put(page) else { return }
                    }
                    await buffer.finish(.success(()))
                } catch {
                    await buffer.finish(.failure(error))
                }
            }
            do {
                while true {
                    let group = try await buffer.take(minimum: pullGroupEntries)
                    guard !group.isEmpty else { break }
                    pulled += try integrate(group)
                    await buffer.commit(replica.versionVector)
                    progress(SyncProgress(phase: .pull, done: pulled, total: max(total, pulled)))
                }
            } catch {
                await buffer.close()
                producer.cancel()
                throw error
            }
            await buffer.close()
        }
    }

    /// Folds pulled pages in one transaction; returns how many operations were new here.
    func integrate(_ pages: [PullResponse]) throws -> Int {
        let operations = pages.flatMap(\.operations)
        let assignments = Dictionary(
            pages.lazy.flatMap(\.sequenced).map { ($0.id, $0.seq) }, uniquingKeysWith: { $1 })
        let report = try replica.integrate(operations, assignments: assignments)
        for (op, outcome) in zip(operations, report.outcomes) {
            if case .refused(let code, let message) = outcome {
                throw SyncError.protocolViolation("HQ sent \(op.id) which was refused (\(code.rawValue)): \(message)")
            }
        }
        return report.outcomes.filter(\.isAccepted).count
    }

    /// One JSON request with bounded retries on transient failures.
    func send<Body: Encodable, Reply: Decodable>(
        _ path: String, body: Body?, method: HTTPMethod = .POST
    ) async throws -> Reply {
        var bytes: ByteBuffer?
        if let body { bytes = try Self.jsonBody(body) }
        let (_, data) = try await exchange(path, body: bytes, method: method)
        return try Self.decodeJSON(Reply.self, data, path: path)
    }

    /// A JSON request body. Sorted keys: every context lists replicas in the same order, which gzip exploits.
    static func jsonBody(_ body: some Encodable) throws -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return ByteBuffer(data: try encoder.encode(body))
    }

    static func decodeJSON<Reply: Decodable>(_ type: Reply.Type, _ data: Data, path: String) throws -> Reply {
        do { return try JSONDecoder().decode(Reply.self, from: data) } catch {
            throw SyncError.protocolViolation("unreadable reply from \(path): \(error)")
        }
    }

    /// A push in the compact encoding (PROTOCOL.md §19); the answer is JSON.
    func sendPush(_ push: PushRequest) async throws -> PushResponse {
        let (_, data) = try await exchange(
            "/v1/push", body: ByteBuffer(bytes: BatchEncoding.encode(push)), contentType: BatchEncoding.contentType)
        return try Self.decodeJSON(PushResponse.self, data, path: "/v1/push")
    }

    /// A pull page, asked for in the compact encoding; an HQ that answers in JSON is read as JSON.
    func pullPage(after: UInt64, vector: VersionVector) async throws -> PullResponse {
        let request = PullRequest(vector: vector, limit: configuration.batchOperationsMax * 4, after: after)
        let (contentType, data) = try await exchange(
            "/v1/pull", body: try Self.jsonBody(request),
            accept: "\(BatchEncoding.contentType), application/json;q=0.5")
        guard contentType?.hasPrefix(BatchEncoding.contentType) == true else {
            return try Self.decodeJSON(PullResponse.self, data, path: "/v1/pull")
        }
        do { return try BatchEncoding.decodePull(data) } catch {
            throw SyncError.protocolViolation("unreadable batch from /v1/pull: \(error)")
        }
    }

    /// One request with bounded retries on transient failures; returns a 200 or 201 answer's content type and body.
    func exchange(
        _ path: String, body: ByteBuffer?, method: HTTPMethod = .POST, contentType: String = "application/json",
        accept: String? = nil
    ) async throws -> (contentType: String?, body: Data) {
        var request = HTTPClientRequest(url: hq + path)
        request.method = method
        request.headers.add(name: Wire.versionHeader, value: "\(Wire.protocolVersion)")
        request.headers.add(name: "Content-Type", value: contentType)
        if let accept { request.headers.add(name: "Accept", value: accept) }
        let credentials = Data("\(deviceID):\(secret)".utf8).base64EncodedString()
        request.headers.add(name: "Authorization", value: "Basic \(credentials)")
        if let body { request.body = .bytes(body) }
        var delay = configuration.backoffInitialSeconds
        var lastError = ""
        var throttled = false
        for attempt in 1...configuration.attemptsMax {
            do {
                let response = try await http.execute(request, timeout: .seconds(configuration.requestTimeoutSeconds))
                let bytes = try await response.body.collect(upTo: 256 * 1024 * 1024)
                let data = Data(buffer: bytes)
                if response.status.code == 200 || response.status.code == 201 {
                    return (response.headers.first(name: "Content-Type"), data)
                }
                let error = try? JSONDecoder().decode(ErrorResponse.self, from: data)
                let refusal = SyncError.refused(
                    status: Int(response.status.code), code: error?.error.code ?? "http_\(response.status.code)",
                    message: error?.error.message ?? response.status.reasonPhrase)
                if response.status.code == 429, !throttled,
                    let seconds = response.headers.first(name: "Retry-After").flatMap(Int.init),
                    (1...60).contains(seconds)
                {
                    // HQ's back-off on bad credentials (PROTOCOL.md §3.2.1) hit this address: wait once, as told.
                    throttled = true
                    lastError = refusal.description
                    logger.notice("HQ asks to retry later", metadata: ["path": "\(path)", "seconds": "\(seconds)"])
                    try await Task.sleep(for: .seconds(seconds))
                    continue
                }
                guard response.status.code >= 500 else { throw refusal }
                lastError = refusal.description
            } catch let error as SyncError {
                throw error
            } catch {
                lastError = "\(error)"
            }
            guard attempt < configuration.attemptsMax else { break }
            logger.notice("retrying", metadata: ["path": "\(path)", "attempt": "\(attempt)", "error": "\(lastError)"])
            try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
            delay = min(delay * 2, configuration.backoffMaxSeconds)
        }
        throw SyncError.unreachable(attempts: configuration.attemptsMax, lastError: lastError)
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }
}
