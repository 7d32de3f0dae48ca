import Crypto
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import NIOCore
import ShopfloorDomain
import ShopfloorReplication
import ShopfloorStore

/// The REST API for planners and agents (`/api/v1`, JSON, API tokens): reads of HQ's projections, and writes that
/// HQ authors as ordinary operations of its own replica, folded and sequenced like a device's, so devices receive
/// them on their next sync. Field names are those of the CLI's `--json` output.
extension HQServer {
    /// Items or orders per page at most.
    static let apiPageMax = 500
    static let idempotencyHeader = HTTPField.Name("Idempotency-Key")!

    func registerAPI(on router: Router<HQRequestContext>) {
        let server = self
        let api = router.group("api/v1")
        api.get("items") { request, context in
            await server.api(request, context, .read) { _ in try await server.listItems(request) }
        }
        api.get("items/:sku") { request, context in
            let sku = SKU(context.parameters.get("sku") ?? "")
            return await server.api(request, context, .read) { _ in
                guard let item = try await offload({ try server.replica.item(sku) }) else {
                    throw HQError.notFound("no item with SKU '\(sku)'")
                }
                return try server.json(item)
            }
        }
        api.post("items") { request, context in
            await server.api(request, context, .write) { token in
                let (item, bytes) = try await server.apiBody(Item.self, request)
                return try await server.author(.addItem(item), request, bytes, token, status: .created) {
                    guard let stored = try server.replica.item(item.sku) else {
                        throw HQError.notFound(item.sku.rawValue)
                    }
                    return try server.encoded(stored)
                }
            }
        }
        api.get("locations") { request, context in
            await server.api(request, context, .read) { _ in
                try server.json(ItemsPage(items: try await offload { try server.replica.locations() }, next: nil))
            }
        }
        api.post("locations") { request, context in
            await server.api(request, context, .write) { token in
                let (location, bytes) = try await server.apiBody(Location.self, request)
                return try await server.author(.addLocation(location), request, bytes, token, status: .created) {
                    try server.encoded(location)
                }
            }
        }
        api.get("orders") { request, context in
            await server.api(request, context, .read) { _ in try await server.listOrders(request) }
        }
        api.get("orders/:number") { request, context in
            let number = OrderNumber(context.parameters.get("number") ?? "")
            return await server.api(request, context, .read) { _ in try server.json(try await server.order(number)) }
        }
        api.post("orders") { request, context in
            await server.api(request, context, .write) { token in try await server.createOrder(request, token) }
        }
        api.post("orders/:number/:action") { request, context in
            let number = OrderNumber(context.parameters.get("number") ?? "")
            let action = context.parameters.get("action") ?? ""
            return await server.api(request, context, .write) { token in
                try await server.orderAction(number, action, request, token)
            }
        }
        api.get("orders/:number/receipts") { request, context in
            let number = OrderNumber(context.parameters.get("number") ?? "")
            return await server.api(request, context, .read) { _ in
                try server.json(ItemsPage(items: try await server.order(number).receipts, next: nil))
            }
        }
        api.post("orders/:number/receipts") { request, context in
            let number = OrderNumber(context.parameters.get("number") ?? "")
            return await server.api(request, context, .write) { token in
                try await server.addReceipt(number, request, token)
            }
        }
        api.get("stock") { request, context in
            await server.api(request, context, .read) { _ in
                let sku = request.uri.queryParameters.get("sku").map(SKU.init)
                let location = request.uri.queryParameters.get("location")
                let rows = try await offload { try server.replica.positions(sku: sku, location: location) }
                return try server.json(ItemsPage(items: rows, next: nil))
            }
        }
        api.get("tokens") { request, context in
            await server.api(request, context, .admin) { _ in
                try server.json(ItemsPage(items: try await offload { try server.tokens.list() }, next: nil))
            }
        }
        api.post("tokens") { request, context in
            await server.api(request, context, .admin) { _ in
                let (body, _) = try await server.apiBody(CreateTokenBody.self, request)
                let tokens = server.tokens
                let created = try await offload {
                    try tokens.create(name: body.name, scope: body.scope, expires: body.expires)
                }
                return try server.json(created, status: .created)
            }
        }
        api.delete("tokens/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await server.api(request, context, .admin) { _ in
                guard try await offload({ try server.tokens.revoke(id) }) else {
                    throw HQError.notFound("no API token '\(id)'")
                }
                return Response(status: .noContent)
            }
        }
        registerInventoryAPI(on: api)
        api.get("digest") { request, context in
            await server.api(request, context, .read) { _ in
                let (vector, digest) = try await server.currentDigest()
                return try server.json(DigestResponse(digest: digest, operations: vector.total, vector: vector))
            }
        }
    }

    // MARK: Handlers

    func listItems(_ request: Request) async throws -> Response {
        let (after, limit) = try Self.page(request)
        let items = try await offload { try self.replica.items(after: after.map(SKU.init), limit: limit + 1) }
        return try json(
            ItemsPage(
                items: Array(items.prefix(limit)), next: items.count > limit ? items[limit - 1].sku.rawValue : nil))
    }

    func listOrders(_ request: Request) async throws -> Response {
        let (after, limit) = try Self.page(request)
        let query = request.uri.queryParameters
        let status = try query.get("status").map { text in
            guard let status = OrderStatus.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() })
            else {
                throw HQError.apiMalformed(
                    "status '\(text)' is not one of " + OrderStatus.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return status.rawValue
        }
        let kind = try query.get("kind").map { text in
            guard OrderKind(rawValue: text) != nil else {
                throw HQError.apiMalformed("kind '\(text)' is not one of work, production")
            }
            return text
        }
        let location = query.get("location")
        let orders = try await offload {
            try self.replica.orders(
                status: status, kind: kind, location: location, after: after.map(OrderNumber.init), limit: limit + 1)
        }
        return try json(
            ItemsPage(
                items: Array(orders.prefix(limit)), next: orders.count > limit ? orders[limit - 1].number.rawValue : nil
            ))
    }

    func order(_ number: OrderNumber) async throws -> OrderDetail {
        guard let detail = try await offload({ try self.replica.orderDetail(number) }) else {
            throw HQError.notFound("no order '\(number)'")
        }
        return detail
    }

    func createOrder(_ request: Request, _ token: APITokenInfo) async throws -> Response {
        let (body, bytes) = try await apiBody(NewOrder.self, request)
        let replica = self.replica
        let create = body.command
        return try await author(
            request, bytes, token, status: .created,
            record: { keep in try replica.recordNewOrder(create, numbered: body.number != nil, bookkeeping: keep).1 },
            render: { number in
                guard let number = number ?? body.number else {
                    throw HQError.conflict(
                        "the order this Idempotency-Key created was recorded, but HQ stopped before answering: "
                            + "list the orders to find it")
                }
                return try self.encoded(try replica.orderDetail(number))
            })
    }

    /// `POST /api/v1/orders/{number}/ACTION`: a lifecycle step (no body), `set-cost` (`sku`, `unit_cost`), `edit`
    /// (`due`, `notes`, `tolerance_percent`; an empty `due` clears it) or `transfer` (`from`, optional `lines`).
    /// Answers the order as it now is.
    func orderAction(
        _ number: OrderNumber, _ action: String, _ request: Request, _ token: APITokenInfo
    ) async throws
        -> Response
    {
        let bytes = try await body(of: request)
        let command: Command
        switch action {
        case "set-cost":
            let body = try apiDecode(SetCostBody.self, bytes)
            command = .setCost(SetCost(order: number, sku: body.sku, unitCost: body.unitCost))
        case "edit":
            let body = try apiDecode(EditBody.self, bytes)
            command = .editOrder(
                EditOrder(order: number, due: body.due, notes: body.notes, tolerancePercent: body.tolerancePercent))
        case "transfer":
            let body = try apiDecode(TransferRequest.self, bytes)
            let replica = self.replica
            let lines = body.lines ?? []
            command = .transferToOrder(
                try await offload { try replica.makeTransfer(for: number, from: body.from, lines: lines) })
        default:
            guard let step = OrderTransition.Action(rawValue: action) else {
                throw HQError.notFound(
                    "no action '\(action)' on orders: use "
                        + (OrderTransition.Action.allCases.map(\.rawValue) + ["set-cost", "edit", "transfer"])
                        .joined(separator: ", "))
            }
            command = .transition(OrderTransition(order: number, action: step))
        }
        let replica = self.replica
        return try await author(command, request, bytes, token, status: .ok) {
            try self.encoded(try replica.orderDetail(number))
        }
    }

    func addReceipt(_ number: OrderNumber, _ request: Request, _ token: APITokenInfo) async throws -> Response {
        let (body, bytes) = try await apiBody(AddReceiptBody.self, request)
        let replica = self.replica
        let id = body.id ?? replica.nextReceiptID()
        let command = Command.addReceipt(
            AddReceipt(
                order: number, receipt: id, lines: body.lines, date: body.date, consumed: body.consumed,
                scrap: body.scrap, loss: body.loss))
        return try await author(command, request, bytes, token, status: .created) {
            guard let receipt = try replica.orderDetail(number)?.receipts.first(where: { $0.id == id }) else {
                throw HQError.notFound("receipt '\(id)' is not on order '\(number)'")
            }
            return try self.encoded(receipt)
        }
    }

    // MARK: Authoring

    /// Records `command` as an operation of HQ's own replica, on the writer's thread, and answers with `render`'s
    /// body.
    func author(
        _ command: Command, _ request: Request, _ body: ByteBuffer, _ token: APITokenInfo,
        status: HTTPResponse.Status, render: @escaping @Sendable () throws -> Data
    ) async throws -> Response {
        let replica = self.replica
        return try await author(
            request, body, token, status: status,
            record: { keep in _ = try replica.record([command], bookkeeping: keep) }, render: { _ in try render() })
    }

    /// Runs `record` on the writer's thread and answers with `render`'s body. With an `Idempotency-Key`, the key and a
    /// hash of the request are stored in the transaction of the operation `record` records (it passes `keep` on to
    /// `Replica.record`): a retry with the same key and body gets the first answer and records nothing; the same key
    /// with another body is refused with 409 `conflict`. `render` gets what `record` returned, or nil when it
    /// renders a first answer again that HQ stopped before storing.
    func author<Outcome: Sendable>(
        _ request: Request, _ body: ByteBuffer, _ token: APITokenInfo, status: HTTPResponse.Status,
        record: @escaping @Sendable (_ keep: @escaping Replica.Bookkeeping) throws -> Outcome,
        render: @escaping @Sendable (Outcome?) throws -> Data
    ) async throws -> Response {
        let key = request.headers[Self.idempotencyHeader]
        if let key {
            guard !key.isEmpty, key.utf8.count <= 255,
                key.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
            else { throw HQError.apiMalformed("Idempotency-Key must be 1–255 printable ASCII characters") }
        }
        let requestHash = Self.requestHash(request, body: body)
        let replica = self.replica
        let tokenID = token.id
        let answer = try await committer.perform { () throws -> (HTTPResponse.Status, Data) in
            if let key, let stored = try IdempotencyRecord.find(token: tokenID, key: key, in: replica) {
                guard stored.requestHash == requestHash else {
                    throw HQError.conflict(
                        "Idempotency-Key '\(key)' was used for another request: use a new key for a new request")
                }
                // An empty body: HQ stopped between the operation's commit and storing the answer; render it again.
                return (HTTPResponse.Status(code: stored.status), stored.body.isEmpty ? try render(nil) : stored.body)
            }
            let outcome = try record { db, _ in
                guard let key else { return }
                try IdempotencyRecord.insert(token: tokenID, key: key, requestHash: requestHash, status: status, db)
            }
            let body = try render(outcome)
            if let key { try IdempotencyRecord.complete(token: tokenID, key: key, body: body, in: replica) }
            return (status, body)
        }
        var response = Response(
            status: answer.0, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.1)))
        if let key { response.headers[Self.idempotencyHeader] = key }
        return response
    }

    // MARK: Plumbing

    /// Authenticates the API token (Bearer; with `orAdminSecret`, HQ's admin secret too), checks its scope, runs
    /// `body`, and answers every error in the API's one shape: `{"error": {"code", "message"}}`.
    func api(
        _ request: Request, _ context: HQRequestContext, _ scope: APIScope, orAdminSecret: Bool = false,
        _ body: (APITokenInfo) async throws -> Response
    ) async -> Response {
        let client = context.remoteAddress?.ipAddress ?? "unknown"
        do {
            let token: APITokenInfo
            if orAdminSecret, request.headers[.authorization]?.hasPrefix("Bearer sft_") == false {
                try Self.$client.withValue(client) { try requireAdmin(request) }
                token = APITokenInfo(id: "admin-secret", name: "admin secret", scope: .admin, created: "")
            } else {
                token = try await apiToken(request, client: client)
            }
            guard token.scope >= scope else {
                throw HQError.forbidden(
                    "token \(token.id) has the \(token.scope.rawValue) scope; \(request.method) \(request.uri.path) "
                        + "needs \(scope.rawValue)")
            }
            return try await body(token)
        } catch {
            let refusal = Self.apiError(error)
            if refusal.status == .internalServerError {
                logger.error("API request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            } else {
                logger.notice(
                    "API request refused",
                    metadata: [
                        "path": "\(request.uri.path)", "status": "\(refusal.status.code)", "code": "\(refusal.code)",
                    ])
            }
            var response =
                (try? json(ErrorResponse(code: refusal.code, message: refusal.message), status: refusal.status))
                ?? Response(status: refusal.status)
            if let seconds = refusal.retryAfter { response.headers[.retryAfter] = "\(seconds)" }
            return response
        }
    }

    /// The request's API token, checked off the cooperative pool; a wrong one counts against the client's address.
    func apiToken(_ request: Request, client: String) async throws -> APITokenInfo {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw HQError.apiUnauthorized("send an API token: Authorization: Bearer sft_…")
        }
        if let seconds = throttle.retryAfter([client]) { throw HQError.tooManyAttempts(seconds) }
        let tokens = self.tokens
        let presented = String(header.dropFirst("Bearer ".count))
        do {
            let info = try await offload { try tokens.authenticate(presented) }
            try await offload { try tokens.touch(info) }
            return info
        } catch let error as HQError where error.status == .unauthorized {
            throttle.recordFailure([client])
            throw error
        }
    }

    /// A domain refusal in the API's terms: 404 for what does not exist, 409 for a lifecycle step the order's
    /// status does not allow, 422 for everything else the domain refuses.
    static func apiError(_ error: any Error) -> HQError {
        switch error {
        case let error as HQError: return error
        case ReplicaError.refused(let domain): return apiError(domain)
        case let domain as DomainError:
            switch domain {
            case .unknownItem, .unknownLocation, .unknownOrder, .unknownReceipt, .unknownConflict:
                return HQError.notFound(domain.description)
            case .forbiddenTransition, .cancelWithReceipts:
                return HQError.invalidTransition(domain.description)
            default: return HQError.validationFailed(domain.description)
            }
        default:
            return HQError(.internalServerError, "internal", "internal error; see HQ logs")
        }
    }

    /// The body decoded, and its bytes (an `Idempotency-Key` is bound to them).
    func apiBody<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> (T, ByteBuffer) {
        let buffer = try await body(of: request)
        return (try apiDecode(T.self, buffer), buffer)
    }

    func apiDecode<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch {
            throw HQError.apiMalformed("body is not a valid \(Self.apiName(T.self)): \(Self.describe(error))")
        }
    }

    static func apiName<T>(_ type: T.Type) -> String {
        String(describing: type).replacingOccurrences(of: "Body", with: "").lowercased()
    }

    /// `after` and `limit` of a page.
    static func page(_ request: Request) throws -> (after: String?, limit: Int) {
        let query = request.uri.queryParameters
        let after = query.get("after")
        guard let text = query.get("limit") else { return (after, 100) }
        guard let limit = Int(text), (1...apiPageMax).contains(limit) else {
            throw HQError.apiMalformed("limit must be a whole number from 1 to \(apiPageMax), got '\(text)'")
        }
        return (after, limit)
    }

    /// The method, path, query and body, hashed: what an `Idempotency-Key` is bound to.
    static func requestHash(_ request: Request, body: ByteBuffer) -> String {
        var hasher = SHA256()
        hasher.update(data: Array("\(request.method.rawValue) \(request.uri.description)\n".utf8))
        hasher.update(data: Array(body.readableBytesView))
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    func encoded(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}

struct SetCostBody: Decodable {
    var sku: SKU
    var unitCost: Amount

    enum CodingKeys: String, CodingKey {
        case sku
        case unitCost = "unit_cost"
    }
}

struct EditBody: Decodable {
    var due: String?
    var notes: String?
    var tolerancePercent: Amount?

    enum CodingKeys: String, CodingKey {
        case due, notes
        case tolerancePercent = "tolerance_percent"
    }
}

/// `POST /api/v1/tokens` (admin scope).
struct CreateTokenBody: Decodable {
    var name: String
    var scope: APIScope
    var expires: String?
}

/// `POST /api/v1/orders/{number}/receipts`. Without `id`, HQ chooses one.
struct AddReceiptBody: Decodable {
    var id: String?
    var date: String?
    var lines: [BOMLine]
    /// Actual consumption per input, overriding the order's backflush basis.
    var consumed: [BOMLine]?
    /// Inputs scrapped, taken from WIP.
    var scrap: [BOMLine]?
    /// Output lost in the process, per output received.
    var loss: [BOMLine]?
}

/// The first answer to an API write with an `Idempotency-Key`.
struct IdempotencyRecord {
    var requestHash: String
    var status: Int
    var body: Data

    static func find(token: String, key: String, in replica: Replica) throws -> IdempotencyRecord? {
        try replica.read { db in
            try Row.fetchOne(
                db, sql: "SELECT request_hash, status, body FROM api_idempotency WHERE token = ? AND key = ?",
                arguments: [token, key]
            ).map { IdempotencyRecord(requestHash: $0["request_hash"], status: $0["status"], body: $0["body"]) }
        }
    }

    /// In the operation's transaction: the key is taken exactly when the operation is recorded.
    static func insert(
        token: String, key: String, requestHash: String, status: HTTPResponse.Status, _ db: Database
    )
        throws
    {
        try db.execute(
            sql: """
                INSERT INTO api_idempotency (token, key, request_hash, status, body, created)
                VALUES (?, ?, ?, ?, x'', ?)
                """,
            arguments: [token, key, requestHash, status.code, DeviceRegistry.timestamp(Date())])
    }

    /// The rendered answer, once the operation committed.
    static func complete(token: String, key: String, body: Data, in replica: Replica) throws {
        try replica.writeBookkeeping { db in
            try db.execute(
                sql: "UPDATE api_idempotency SET body = ? WHERE token = ? AND key = ?", arguments: [body, token, key])
        }
    }
}
