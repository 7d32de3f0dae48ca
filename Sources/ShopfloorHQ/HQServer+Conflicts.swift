import Foundation
import GRDB
import Hummingbird
import ShopfloorDomain
import ShopfloorReplication
import ShopfloorStore

extension HQServer {
    struct ConflictList: Codable {
        var conflicts: [ConflictRow]
        /// Rule 8: operations refused at the boundary because their id was already used with other content.
        var boundary: [BoundaryRefusal]
    }

    struct BoundaryRefusal: Codable {
        var operation: String
        var device: String
        var code: String
        var message: String
        /// SHA-256 (hex) of the refused payload: HQ keeps no refused content.
        var fingerprint: String
        /// How many times this content came back.
        var count: Int
        var at: String
    }

    struct AckRequest: Codable {
        var note: String?
    }

    struct AckResponse: Codable {
        var conflict: String
        var operation: String
    }

    /// GET /v1/conflicts[?all=true]: device or admin.
    func listConflicts(_ request: Request) async throws -> Response {
        try await requireAdminOrDevice(request)
        let all: Bool
        switch request.uri.queryParameters.get("all") {
        case nil, "false": all = false
        case "true": all = true
        case let value?: throw HQError.malformed("all must be true or false; got '\(value.prefix(40))'")
        }
        let replica = self.replica
        let list = try await offload {
            let boundary = try replica.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM boundary_refusals ORDER BY at, operation").map { row in
                    BoundaryRefusal(
                        operation: row["operation"], device: row["device"], code: row["code"],
                        message: row["message"], fingerprint: row["fingerprint"], count: row["count"], at: row["at"])
                }
            }
            return ConflictList(conflicts: try replica.conflictRows(all: all), boundary: boundary)
        }
        return try json(list)
    }

    /// POST /v1/conflicts/{id}/ack: admin; HQ records the acknowledgement as its own operation, which syncs.
    func acknowledgeConflict(_ request: Request, id: String) async throws -> Response {
        try requireAdmin(request)
        let body = try await decode(AckRequest.self, from: request)
        let replica = self.replica
        do {
            let recorded = try await offload {
                try replica.record(.acknowledgeConflict(AcknowledgeConflict(conflict: id, note: body.note ?? "")))
            }
            return try json(AckResponse(conflict: id, operation: recorded.operation.id.description), status: .created)
        } catch ReplicaError.refused(let error) {
            switch error {
            case .unknownConflict: throw HQError.notFound(error.description)
            case .outOfBounds: throw HQError.malformed(error.description)
            default: throw HQError(.conflict, "already_acknowledged", error.description)
            }
        }
    }
}
