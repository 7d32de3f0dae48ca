import Foundation
import Logging
import MCP
import ShopfloorDomain
import ShopfloorStore

/// An MCP server over a replica: the tools of ``ToolCatalog`` and each order as a resource
/// (`shopfloor://orders/{number}`). HQ makes one per HTTP request (stateless Streamable HTTP); `shopfloor mcp` makes
/// one for its stdio session.
public enum ShopfloorMCPServer {
    public static let orderURIPrefix = "shopfloor://orders/"
    /// Orders listed per `resources/list` page.
    static let resourcesPageMax = 100

    /// A server with every handler registered, not yet started.
    public static func make(name: String, version: String, tools: ShopfloorTools) async -> Server {
        let server = Server(
            name: name, version: version, title: "Shopfloor",
            instructions: """
                Manufacturing orders on an offline-first replica. Amounts are exact decimal strings ("2.5"). An order \
                goes Draft → Entered (enter_order) → Production (start_order) → receipts (add_receipt) → Received or \
                Completed (complete_order). Refusals come back as tool errors that say why.
                """
                    + (tools.readOnly ? " This server is read-only." : ""),
            capabilities: Server.Capabilities(
                resources: .init(subscribe: false, listChanged: false), tools: .init(listChanged: false)))
        await server.withMethodHandler(ListTools.self) { _ in ListTools.Result(tools: tools.tools) }
        await server.withMethodHandler(CallTool.self) { call in await tools.call(call.name, call.arguments) }
        let replica = tools.host.replica
        await server.withMethodHandler(ListResourceTemplates.self) { _ in
            ListResourceTemplates.Result(templates: [
                Resource.Template(
                    uriTemplate: orderURIPrefix + "{number}", name: "order", title: "A manufacturing order",
                    description: "An order with its lines, inputs, receipts, progress and open conflicts (JSON).",
                    mimeType: "application/json")
            ])
        }
        await server.withMethodHandler(ListResources.self) { request in
            let after = request.cursor.map(OrderNumber.init)
            let orders = try await offload {
                try replica.orders(status: nil, kind: nil, location: nil, after: after, limit: resourcesPageMax + 1)
            }
            let page = orders.prefix(resourcesPageMax)
            return ListResources.Result(
                resources: page.map { order in
                    Resource(
                        name: order.number.rawValue, uri: orderURIPrefix + order.number.rawValue,
                        title: "\(order.kind) order \(order.number) (\(order.status))", mimeType: "application/json")
                },
                nextCursor: orders.count > resourcesPageMax ? page.last?.number.rawValue : nil)
        }
        await server.withMethodHandler(ReadResource.self) { request in
            guard request.uri.hasPrefix(orderURIPrefix),
                let number = String(request.uri.dropFirst(orderURIPrefix.count)).removingPercentEncoding,
                !number.isEmpty
            else {
                throw MCPError.invalidParams("no resource '\(request.uri)': orders are \(orderURIPrefix){number}")
            }
            guard let detail = try await offload({ try replica.orderDetail(OrderNumber(number)) }) else {
                throw MCPError.invalidParams("no order '\(number)'")
            }
            let json = String(decoding: try ShopfloorTools.encoder.encode(detail), as: UTF8.self)
            return ReadResource.Result(contents: [.text(json, uri: request.uri, mimeType: "application/json")])
        }
        return server
    }
}
