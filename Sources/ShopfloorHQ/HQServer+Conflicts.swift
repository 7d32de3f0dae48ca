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

    /// Keeps a rule-8 refusal where an operator can see it.
    func recordBoundaryRefusals(_ results: [PushResult], operations: [ShopOperation], device: String) {
        let refused = zip(results, operations).filter { $0.0.code == RefusalCode.contentMismatch.rawValue }
        guard !refused.isEmpty else { return }
        let now = ISO8601DateFormatter().string(from: Date())
        do {
            try replica.writeBookkeeping { db in
                for (result, op) in refused {
                    try db.execute(
                        sql: """
                            INSERT INTO boundary_refusals (operation, device, code, message, fingerprint, at)
                            VALUES (?, ?, ?, ?, ?, ?)
                            ON CONFLICT (operation, device, fingerprint) DO UPDATE SET count = count + 1, at = excluded.at
                            """,
                        arguments: [
                            result.id, device, result.code ?? "",
                            String((result.message ?? "").prefix(DeviceRegistry.refusalMessageMax)),
                            DeviceRegistry.fingerprint(op.payload), now,
                        ])
                }
                // Bounded: the oldest refusals beyond the cap are dropped.
                try db.execute(
                    sql: """
                        DELETE FROM boundary_refusals WHERE (operation, device, fingerprint) IN
                            (SELECT operation, device, fingerprint FROM boundary_refusals
                             ORDER BY at DESC, operation DESC LIMIT -1 OFFSET ?)
                        """, arguments: [DeviceRegistry.refusalsMax])
            }
        } catch {
            logger.error("could not record a boundary refusal", metadata: ["error": "\(error)"])
        }
        logger.warning(
            "operation id reused with different content (device restored from an old backup?)",
            metadata: ["device": "\(device)", "operations": "\(refused.map(\.0.id))"])
    }
}
