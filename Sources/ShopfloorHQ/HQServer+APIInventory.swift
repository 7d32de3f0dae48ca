import Foundation
import Hummingbird
import ShopfloorDomain
import ShopfloorReplication
import ShopfloorStore

/// The REST API's stock, BOM, ledger, conflict and device resources (see `HQServer+API.swift`).
extension HQServer {
    func registerInventoryAPI(on api: RouterGroup<HQRequestContext>) {
        let server = self
        api.post("stock/adjustments") { request, context in
            await server.api(request, context, .write) { token in
                let (body, bytes) = try await server.apiBody(AdjustmentBody.self, request)
                let command = Command.adjustStock(
                    AdjustStock(
                        sku: body.sku, location: body.location, quantity: body.quantity, unitCost: body.unitCost))
                return try await server.author(command, request, bytes, token, status: .created) {
                    try server.encoded(try server.replica.positions(sku: body.sku, location: body.location))
                }
            }
        }
        api.post("stock/transfers") { request, context in
            await server.api(request, context, .write) { token in
                let (body, bytes) = try await server.apiBody(TransferStock.self, request)
                return try await server.author(.transferStock(body), request, bytes, token, status: .created) {
                    let rows: [PositionRow] =
                        try server.replica.positions(sku: body.sku, location: body.from)
                        + server.replica.positions(sku: body.sku, location: body.to)
                    return try server.encoded(rows)
                }
            }
        }
        api.get("boms/:sku") { request, context in
            let sku = SKU(context.parameters.get("sku") ?? "")
            return await server.api(request, context, .read) { _ in
                guard let lines = try await offload({ try server.replica.bom(sku) }) else {
                    throw HQError.notFound("'\(sku)' has no BOM")
                }
                return try server.json(BOMBody(lines: lines))
            }
        }
        api.put("boms/:sku") { request, context in
            let sku = SKU(context.parameters.get("sku") ?? "")
            return await server.api(request, context, .write) { token in
                let (body, bytes) = try await server.apiBody(BOMBody.self, request)
                return try await server.author(
                    .setBOM(SetBOM(parent: sku, lines: body.lines)), request, bytes, token, status: .ok
                ) { try server.encoded(BOMBody(lines: try server.replica.bom(sku) ?? [])) }
            }
        }
        api.get("boms/:sku/explosion") { request, context in
            let sku = SKU(context.parameters.get("sku") ?? "")
            return await server.api(request, context, .read) { _ in try await server.explosion(sku, request) }
        }
        api.post("receipts/:id/void") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await server.api(request, context, .write) { token in
                try await server.author(
                    .voidReceipt(VoidReceipt(receipt: id)), request, try await server.body(of: request), token,
                    status: .ok
                ) { try server.encoded(VoidAnswer(receipt: id, voided: true)) }
            }
        }
        api.get("ledger") { request, context in
            await server.api(request, context, .read) { _ in try await server.ledgerPage(request) }
        }
        api.get("conflicts") { request, context in
            await server.api(request, context, .read) { _ in
                let all = try Self.flag(request, "all")
                return try server.json(
                    ItemsPage(items: try await offload { try server.replica.conflictRows(all: all) }, next: nil))
            }
        }
        api.post("conflicts/:id/ack") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await server.api(request, context, .write) { token in
                let bytes = try await server.body(of: request)
                let note =
                    bytes.readableBytes == 0 ? nil : try server.apiDecode(AcknowledgementBody.self, bytes).note
                return try await server.author(
                    .acknowledgeConflict(AcknowledgeConflict(conflict: id, note: note ?? "")), request, bytes, token,
                    status: .ok
                ) { try server.encoded(try server.replica.conflictRows(all: true).first { $0.id == id }) }
            }
        }
        api.get("plant") { request, context in
            await server.api(request, context, .read) { _ in
                try server.json(PlantBody(backflush: try await offload { try server.replica.plantBackflush() } ?? .bom))
            }
        }
        api.put("plant") { request, context in
            await server.api(request, context, .write) { token in
                let (body, bytes) = try await server.apiBody(PlantBody.self, request)
                return try await server.author(
                    .setPlantDefault(PlantDefault(backflush: body.backflush)), request, bytes, token, status: .ok
                ) { try server.encoded(PlantBody(backflush: try server.replica.plantBackflush() ?? .bom)) }
            }
        }
        api.get("devices") { request, context in
            await server.api(request, context, .read) { _ in
                try server.json(ItemsPage(items: try await offload { try server.registry.list() }, next: nil))
            }
        }
    }

    func explosion(_ sku: SKU, _ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let quantity = try query.get("qty").map { text in
            do { return try Amount(parsing: text) } catch {
                throw HQError.apiMalformed("qty '\(text)' is not an amount: \(error)")
            }
        }
        let levels = try query.get("levels").map { text in
            guard let levels = ExplosionLevels(rawValue: text) else {
                throw HQError.apiMalformed("levels must be one or full, got '\(text)'")
            }
            return levels
        }
        let replica = self.replica
        let explosion = try await offload {
            try replica.explosion(of: sku, quantity: quantity ?? .one, levels: levels ?? .full)
        }
        return try json(explosion)
    }

    func ledgerPage(_ request: Request) async throws -> Response {
        let (after, limit) = try Self.page(request)
        let query = request.uri.queryParameters
        let cursor = try after.map { text in
            guard let cursor = LedgerCursor(text) else {
                throw HQError.apiMalformed("after '\(text)' is not a ledger cursor (the `next` of a page)")
            }
            return cursor
        }
        let (ref, sku) = (query.get("ref").map(OrderNumber.init), query.get("sku").map(SKU.init))
        let (entries, next) = try await offload {
            try self.replica.ledgerPage(ref: ref, sku: sku, after: cursor, limit: limit)
        }
        return try json(ItemsPage(items: entries, next: next?.description))
    }

    static func flag(_ request: Request, _ name: String) throws -> Bool {
        switch request.uri.queryParameters.get(name) {
        case nil, "false": return false
        case "true": return true
        case let value?: throw HQError.apiMalformed("\(name) must be true or false, got '\(value.prefix(40))'")
        }
    }
}

/// `POST /api/v1/stock/adjustments`: an opening balance, a count or a purchase (with a unit cost); negative takes
/// stock out at its weighted-average cost.
struct AdjustmentBody: Decodable {
    var sku: SKU
    var location: String
    var quantity: Amount
    var unitCost: Amount?

    enum CodingKeys: String, CodingKey {
        case sku, location, quantity
        case unitCost = "unit_cost"
    }
}

struct BOMBody: Codable {
    var lines: [BOMLine]
}

struct AcknowledgementBody: Decodable {
    var note: String?
}

/// `GET|PUT /api/v1/plant`: the plant's defaults.
struct PlantBody: Codable {
    var backflush: BackflushBasis
}
