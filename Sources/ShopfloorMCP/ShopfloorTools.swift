import Foundation
import Logging
import MCP
import ShopfloorDomain
import ShopfloorReplication
import ShopfloorStore

/// Runs the MCP tools against a replica. A write is an ordinary operation of that replica, recorded on its one
/// writer and validated as the CLI's commands are, so it syncs like anything else. Refusals come back as tool
/// results with `isError` and the domain's message.
public struct ShopfloorTools: Sendable {
    /// Orders or entries per page at most, as in the REST API.
    static let pageMax = 500

    let host: any ToolHost
    let readOnly: Bool
    let logger: Logger

    public init(host: any ToolHost, readOnly: Bool, logger: Logger) {
        self.host = host
        self.readOnly = readOnly
        self.logger = logger
    }

    /// The tools this server offers.
    public var tools: [Tool] { ToolCatalog.tools(readOnly: readOnly) }

    /// Calls the tool `name`: its answer as structured content (and the same JSON as text), or a refusal.
    public func call(_ name: String, _ arguments: [String: Value]?) async -> CallTool.Result {
        do {
            guard let tool = tools.first(where: { $0.name == name }) else {
                let hidden = !readOnly || !ToolCatalog.all.contains { $0.name == name }
                throw ToolRefusal(
                    hidden
                        ? "no tool '\(name)'; the tools are " + tools.map(\.name).joined(separator: ", ")
                        : "\(name) changes data and this server is read-only")
            }
            let answer = try await run(tool, try ToolArguments(tool, arguments))
            let json = try Self.encoder.encode(answer)
            let structured = try JSONDecoder().decode(Value.self, from: json)
            return try CallTool.Result(
                content: [.text(text: String(decoding: json, as: UTF8.self), annotations: nil, _meta: nil)],
                structuredContent: structured)
        } catch {
            let message = Self.message(for: error)
            logger.notice("tool refused", metadata: ["tool": "\(name)", "reason": "\(message)"])
            return CallTool.Result(content: [.text(text: message, annotations: nil, _meta: nil)], isError: true)
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The domain's words for a refusal.
    static func message(for error: any Error) -> String {
        switch error {
        case let refusal as ToolRefusal: refusal.description
        case let error as ReplicaError: error.description
        case let error as DomainError: error.description
        case let error as AmountError: error.description
        default: "internal error: \(error)"
        }
    }

    // MARK: Tools

    private func run(_ tool: Tool, _ arguments: ToolArguments) async throws -> any Encodable {
        let replica = host.replica
        switch tool.name {
        case "list_orders":
            let query = try arguments.decode(ListOrdersArguments.self)
            let limit = try Self.limit(query.limit)
            let orders = try await offload {
                try replica.orders(
                    status: query.status?.rawValue, kind: query.kind?.rawValue, location: query.location,
                    after: query.after, limit: limit + 1)
            }
            return ItemsPage(
                items: Array(orders.prefix(limit)), next: orders.count > limit ? orders[limit - 1].number.rawValue : nil
            )
        case "show_order":
            return try await order(try arguments.decode(NumberArguments.self).number)
        case "create_order":
            let new = try arguments.decode(NewOrder.self)
            let number = try await host.write {
                try replica.recordNewOrder(new.command, numbered: new.number != nil).1
            }
            return try await order(number)
        case "enter_order", "start_order", "complete_order", "cancel_order":
            let number = try arguments.decode(NumberArguments.self).number
            guard let action = OrderTransition.Action(rawValue: String(tool.name.dropLast("_order".count))) else {
                throw ToolRefusal("no lifecycle step '\(tool.name)'")
            }
            return try await recording(.transition(OrderTransition(order: number, action: action))) {
                try await order(number)
            }
        case "set_cost":
            let cost = try arguments.decode(SetCostArguments.self)
            return try await recording(.setCost(SetCost(order: cost.number, sku: cost.sku, unitCost: cost.unitCost))) {
                try await order(cost.number)
            }
        case "transfer_order":
            let transfer = try arguments.decode(TransferArguments.self)
            let command = try await offload {
                try replica.makeTransfer(for: transfer.number, from: transfer.from, lines: transfer.lines ?? [])
            }
            return try await recording(.transferToOrder(command)) { try await order(transfer.number) }
        case "add_receipt":
            let receipt = try arguments.decode(ReceiptArguments.self)
            let id = receipt.id ?? replica.nextReceiptID()
            let add = AddReceipt(
                order: receipt.number, receipt: id, lines: receipt.lines, date: receipt.date,
                consumed: receipt.consumed, scrap: receipt.scrap, loss: receipt.loss)
            return try await recording(.addReceipt(add), date: receipt.date) {
                guard let stored = try await order(receipt.number).receipts.first(where: { $0.id == id }) else {
                    throw ToolRefusal("receipt '\(id)' is not on order '\(receipt.number)'")
                }
                return stored
            }
        case "void_receipt":
            let id = try arguments.decode(VoidArguments.self).receipt
            return try await recording(.voidReceipt(VoidReceipt(receipt: id))) { VoidAnswer(receipt: id, voided: true) }
        case "stock":
            let query = try arguments.decode(StockArguments.self)
            return ItemsPage(
                items: try await offload { try replica.positions(sku: query.sku, location: query.location) })
        case "ledger":
            return try await ledger(try arguments.decode(LedgerArguments.self))
        case "explode_bom":
            let query = try arguments.decode(ExplodeArguments.self)
            return try await offload {
                try replica.explosion(of: query.sku, quantity: query.quantity ?? .one, levels: query.levels ?? .full)
            }
        case "list_conflicts":
            let all = try arguments.decode(ConflictsArguments.self).all ?? false
            return ItemsPage(items: try await offload { try replica.conflictRows(all: all) })
        case "ack_conflict":
            let ack = try arguments.decode(AcknowledgeArguments.self)
            let command = Command.acknowledgeConflict(AcknowledgeConflict(conflict: ack.id, note: ack.note ?? ""))
            return try await recording(command) {
                guard let row = try await offload({ try replica.conflictRows(all: true).first { $0.id == ack.id } })
                else { throw ToolRefusal("no conflict '\(ack.id)'") }
                return row
            }
        case "digest":
            _ = try arguments.decode(EmptyArguments.self)
            return try await host.stateDigest()
        default:
            throw ToolRefusal("no tool '\(tool.name)'")
        }
    }

    /// Records `command` on the host's writer, then answers with `answer`.
    private func recording(
        _ command: Command, date: String? = nil, answer: () async throws -> any Encodable
    ) async throws -> any Encodable {
        let replica = host.replica
        _ = try await host.write { try replica.record(command, date: date) }
        return try await answer()
    }

    private func order(_ number: OrderNumber) async throws -> OrderDetail {
        let replica = host.replica
        guard let detail = try await offload({ try replica.orderDetail(number) }) else {
            throw ToolRefusal("no order '\(number)'; list them with list_orders")
        }
        return detail
    }

    private func ledger(_ query: LedgerArguments) async throws -> ItemsPage<LedgerRow> {
        let limit = try Self.limit(query.limit)
        let cursor = try query.after.map { text in
            guard let cursor = LedgerCursor(text) else {
                throw ToolRefusal("after '\(text)' is not a ledger cursor (the `next` of a page)")
            }
            return cursor
        }
        let replica = host.replica
        let (entries, next) = try await offload {
            try replica.ledgerPage(ref: query.ref, sku: query.sku, after: cursor, limit: limit)
        }
        return ItemsPage(items: entries, next: next?.description)
    }

    private static func limit(_ limit: Int?) throws -> Int {
        guard let limit else { return 100 }
        guard (1...pageMax).contains(limit) else {
            throw ToolRefusal("limit must be a whole number from 1 to \(pageMax), got \(limit)")
        }
        return limit
    }
}

struct EmptyArguments: Decodable {}
