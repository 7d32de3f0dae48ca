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
    public enum Phase: String, Sendable {
        case push, pull, snapshot

        init(_ phase: SyncSession.Phase) {
            switch phase {
            case .push: self = .push
            case .pull: self = .pull
            case .snapshot: self = .snapshot
            }
        }
    }
    public var phase: Phase
    public var done: Int
    /// Known total for pushes; for pulls, the operations HQ has that we lacked at the start; for a snapshot, its bytes
    /// (`done` too).
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
    /// The snapshot the device caught up from, when it did (PROTOCOL.md §20).
    public var snapshot: String?
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
        /// Catch up from a snapshot when HQ offers one (PROTOCOL.md §20).
        public var snapshots: Bool

        public init(
            batchOperationsMax: Int = 500, attemptsMax: Int = 8, backoffInitialSeconds: Double = 0.1,
            backoffMaxSeconds: Double = 2, requestTimeoutSeconds: Int64 = 60, snapshots: Bool = true
        ) {
            self.snapshots = snapshots
            self.batchOperationsMax = batchOperationsMax
            self.attemptsMax = attemptsMax
            self.backoffInitialSeconds = backoffInitialSeconds
            self.backoffMaxSeconds = backoffMaxSeconds
            self.requestTimeoutSeconds = requestTimeoutSeconds
        }

        /// The session's part of it.
        public var session: SyncSession.Configuration {
            SyncSession.Configuration(
                batchOperationsMax: batchOperationsMax, attemptsMax: attemptsMax,
                backoffInitialSeconds: backoffInitialSeconds, backoffMaxSeconds: backoffMaxSeconds,
                snapshotFormat: snapshots ? Replica.snapshotFormat : nil)
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
            let summary = try await run(settings: &settings, progress: progress)
            settings.lastSync = Self.timestamp()
            settings.lastError = nil
            try settings.save(to: replica)
            return SyncReport(
                pushed: summary.pushed, duplicates: summary.duplicates, pulled: summary.pulled,
                digest: withDigest ? try replica.digest() : nil, vector: replica.versionVector,
                snapshot: summary.snapshot)
        } catch {
            settings.lastError = "\(error)"
            try? settings.save(to: replica)
            throw error
        }
    }

    /// Drives a ``SyncSession`` over HTTP: requests, waits and folds run as child tasks (a pull page is fetched while
    /// the pages before it fold); reads and saves, which are short, run inline.
    func run(settings: inout SyncSettings, progress: (SyncProgress) -> Void) async throws -> SyncSession.Summary {
        var session = SyncSession(replica: replica.id, configuration: configuration.session)
        let download = SnapshotDownload(replica: replica)
        var actions = session.start(
            pushed: settings.pushed, vector: replica.versionVector, sequencedThrough: replica.sequencedThrough,
            partialSnapshot: download.partial())
        return try await withThrowingTaskGroup(of: SyncSession.Event.self) { group in
            var ready: [SyncSession.Event] = []
            var lastFailure = ""
            while true {
                for action in actions {
                    switch action {
                    case .read(let after, let limit):
                        ready.append(.read(try replica.operations(authoredBy: replica.id, after: after, limit: limit)))
                    case .savePushed(let counter):
                        settings.pushed = counter
                        try settings.save(to: replica)
                    case .progress(let phase, let done, let total):
                        progress(SyncProgress(phase: SyncProgress.Phase(phase), done: done, total: total))
                    case .send(let request):
                        if case .vector = request {
                            logger.warning("HQ lacks earlier operations; resending from its vector")
                        }
                        group.addTask { try await exchange(request) }
                    case .wait(let seconds):
                        logger.notice("retrying", metadata: ["seconds": "\(seconds)", "error": "\(lastFailure)"])
                        group.addTask {
                            try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
                            return .waited
                        }
                    case .integrate(let pages):
                        group.addTask { .integrated(try replica.integrate(pages: pages)) }
                    case .storeSnapshot(let id, let offset, let bytes):
                        try download.store(id: id, offset: offset, bytes: bytes)
                    case .install(let manifest):
                        let (logger, started) = (logger, ContinuousClock.now)
                        group.addTask {
                            let event = try download.install(manifest)
                            logger.info(
                                "snapshot install",
                                metadata: [
                                    "snapshot": "\(manifest.id)", "seconds": "\(ContinuousClock.now - started)",
                                    "outcome": "\(Self.outcome(event))",
                                ])
                            return event
                        }
                    case .finish(let summary):
                        return summary
                    case .fail(let failure):
                        group.cancelAll()
                        throw SyncError(failure)
                    }
                }
                let event: SyncSession.Event
                if ready.isEmpty {
                    guard let next = try await group.next() else {
                        throw SyncError.protocolViolation("the sync session waits for nothing")
                    }
                    event = next
                } else {
                    event = ready.removeFirst()
                }
                switch event {
                case .failed(let reason): lastFailure = reason
                case .refused(let status, let code, let message, _): lastFailure = "\(status) \(code): \(message)"
                default: break
                }
                actions = session.handle(event)
            }
        }
    }

    /// How an install ended, for the log.
    static func outcome(_ event: SyncSession.Event) -> String {
        if case .installRefused(let reason) = event { return "refused: \(reason)" }
        return "installed"
    }

    /// One attempt at a request; the session decides about retries.
    func exchange(_ request: SyncSession.Request) async throws -> SyncSession.Event {
        do {
            switch request {
            case .push(let push):
                // The compact encoding (PROTOCOL.md §19); the answer is JSON.
                let reply = try await exchange(
                    "/v1/push", body: ByteBuffer(bytes: BatchEncoding.encode(push)),
                    contentType: BatchEncoding.contentType)
                return .answered(.pushed(try Self.decodeJSON(PushResponse.self, reply.body, path: "/v1/push")))
            case .pull(let pull):
                return .answered(.page(try await pullPage(pull)))
            case .vector:
                let reply = try await exchange("/v1/digest", body: nil, method: .GET)
                return .answered(
                    .vector(try Self.decodeJSON(DigestResponse.self, reply.body, path: "/v1/digest").vector))
            case .snapshotOffer(let ask):
                let reply = try await exchange("/v1/snapshot", body: try Self.jsonBody(ask))
                let offer = try Self.decodeJSON(SnapshotOffer.self, reply.body, path: "/v1/snapshot")
                return .answered(.snapshotOffer(offer.snapshot))
            case .snapshotBytes(let id, let offset, let length):
                return .answered(.snapshotBytes(try await snapshotBytes(id, offset: offset, length: length)))
            }
        } catch let refusal as HTTPRefusal {
            return .refused(
                status: refusal.status, code: refusal.code, message: refusal.message,
                retryAfterSeconds: refusal.retryAfterSeconds)
        } catch let violation as SyncError {
            throw violation
        } catch {
            return .failed("\(error)")
        }
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

    /// A pull page, asked for in the compact encoding; an HQ that answers in JSON is read as JSON.
    func pullPage(_ request: PullRequest) async throws -> PullResponse {
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

    /// A piece of a snapshot, read from the answer as it streams into one buffer of the length asked for (at most
    /// that many bytes are taken).
    func snapshotBytes(_ id: String, offset: Int64, length: Int) async throws -> [UInt8] {
        let response = try await send(
            "/v1/snapshot/\(id)", body: nil, method: .GET, range: "bytes=\(offset)-\(offset + Int64(length) - 1)")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(length)
        for try await piece in response.body {
            guard bytes.count + piece.readableBytes <= length else {
                throw SyncError.protocolViolation("HQ sent more than the \(length) bytes of a snapshot asked for")
            }
            bytes.append(contentsOf: piece.readableBytesView)
        }
        return bytes
    }

    /// HQ's error answer to one request.
    struct HTTPRefusal: Error {
        var status: Int
        var code: String
        var message: String
        var retryAfterSeconds: Int?
    }

    /// One request; returns a 200, 201 or 206 answer's content type and body, and throws ``HTTPRefusal`` for any other.
    func exchange(
        _ path: String, body: ByteBuffer?, method: HTTPMethod = .POST, contentType: String = "application/json",
        accept: String? = nil
    ) async throws -> (contentType: String?, body: Data) {
        let response = try await send(path, body: body, method: method, contentType: contentType, accept: accept)
        let bytes = try await response.body.collect(upTo: 256 * 1024 * 1024)
        return (response.headers.first(name: "Content-Type"), Data(buffer: bytes))
    }

    /// One request; returns a 200, 201 or 206 answer with its body still to read, and throws ``HTTPRefusal`` for any
    /// other.
    func send(
        _ path: String, body: ByteBuffer?, method: HTTPMethod = .POST, contentType: String = "application/json",
        accept: String? = nil, range: String? = nil
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: hq + path)
        request.method = method
        request.headers.add(name: Wire.versionHeader, value: "\(Wire.protocolVersion)")
        request.headers.add(name: "Content-Type", value: contentType)
        if let accept { request.headers.add(name: "Accept", value: accept) }
        if let range { request.headers.add(name: "Range", value: range) }
        let credentials = Data("\(deviceID):\(secret)".utf8).base64EncodedString()
        request.headers.add(name: "Authorization", value: "Basic \(credentials)")
        if let body { request.body = .bytes(body) }
        let response = try await http.execute(request, timeout: .seconds(configuration.requestTimeoutSeconds))
        if [200, 201, 206].contains(response.status.code) { return response }
        let data = Data(buffer: try await response.body.collect(upTo: 1024 * 1024))
        let error = try? JSONDecoder().decode(ErrorResponse.self, from: data)
        throw HTTPRefusal(
            status: Int(response.status.code), code: error?.error.code ?? "http_\(response.status.code)",
            message: error?.error.message ?? response.status.reasonPhrase,
            retryAfterSeconds: response.headers.first(name: "Retry-After").flatMap(Int.init))
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }
}
