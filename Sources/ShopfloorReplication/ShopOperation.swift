import Foundation
import ShopfloorDomain

/// The only way to change anything: an immutable fact authored by one replica.
public struct ShopOperation: Sendable, Hashable, Codable {
    /// The newest schema version this build reads and writes. Each operation is written with the lowest schema that
    /// can carry its command (``Command/schema``): 2 added an order's WIP and FG warehouses and Make Transfer.
    public static let currentSchema = 2

    public var id: OperationID
    /// Lamport clock: greater than the lamport of every operation the author had seen.
    public var lamport: UInt64
    /// Causal context: the author's version vector just before this operation.
    public var context: VersionVector
    /// Wall-clock time at the author, ISO 8601 UTC, for display only.
    public var timestamp: String
    /// Business date (YYYY-MM-DD) of the entries the operation writes.
    public var date: String
    /// One of ``OperationKind``'s raw values; kept as text so a newer kind survives a round trip.
    public var kind: String
    /// Canonical JSON of the command (sorted keys).
    public var payload: String
    public var schema: Int
    /// HQ's sequence number, once HQ has it: the canonical order. Metadata, not content: it is assigned by HQ
    /// (the sequencer) on arrival and learnt by devices when they pull.
    public var seq: UInt64?

    public init(
        id: OperationID, lamport: UInt64, context: VersionVector, timestamp: String, date: String, kind: String,
        payload: String, schema: Int = ShopOperation.currentSchema, seq: UInt64? = nil
    ) {
        self.id = id
        self.lamport = lamport
        self.context = context
        self.timestamp = timestamp
        self.date = date
        self.kind = kind
        self.payload = payload
        self.schema = schema
        self.seq = seq
    }

    /// Equal as facts (everything but the sequence number).
    public func sameContent(as other: ShopOperation) -> Bool {
        var a = self
        var b = other
        a.seq = nil
        b.seq = nil
        return a == b
    }

    /// The position in the canonical order.
    public var key: CanonicalKey { CanonicalKey(seq: seq, lamport: lamport, replica: id.replica, counter: id.counter) }

    /// Builds an operation carrying `command`.
    public init(
        id: OperationID, lamport: UInt64, context: VersionVector, timestamp: String, date: String, command: Command
    ) {
        let (kind, payload) = OperationKind.encode(command)
        self.init(
            id: id, lamport: lamport, context: context, timestamp: timestamp, date: date, kind: kind.rawValue,
            payload: payload, schema: command.schema)
    }

    /// The command this operation carries, or why it cannot be read.
    public func command() throws(OperationDecodingError) -> Command {
        guard schema <= ShopOperation.currentSchema else { throw .unsupportedSchema(schema) }
        guard let kind = OperationKind(rawValue: kind) else { throw .unknownKind(kind) }
        let command = try kind.decode(payload)
        guard command.schema <= schema else {
            throw .malformedPayload(
                kind: kind.rawValue, reason: "it uses schema \(command.schema) fields in a schema \(schema) operation")
        }
        return command
    }
}

/// A deterministic total order that extends happens-before.
///
/// Operations HQ has sequenced come first, in HQ's sequence (HQ admits an operation only after everything it
/// depends on, so its arrival order respects causality). Operations not sequenced yet follow, by
/// (lamport, replica, counter); a Lamport clock is greater than every clock in its causal past.
public struct CanonicalKey: Sendable, Hashable, Codable, Comparable {
    public var seq: UInt64?
    public var lamport: UInt64
    public var replica: String
    public var counter: UInt64

    public init(seq: UInt64? = nil, lamport: UInt64, replica: String, counter: UInt64) {
        self.seq = seq
        self.lamport = lamport
        self.replica = replica
        self.counter = counter
    }

    public static func < (lhs: CanonicalKey, rhs: CanonicalKey) -> Bool {
        switch (lhs.seq, rhs.seq) {
        case (let a?, let b?) where a != b: return a < b
        case (.some, .none): return true
        case (.none, .some): return false
        default: return (lhs.lamport, lhs.replica, lhs.counter) < (rhs.lamport, rhs.replica, rhs.counter)
        }
    }
}

/// Why an operation's payload could not be turned into a command.
public enum OperationDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownKind(String)
    case unsupportedSchema(Int)
    case malformedPayload(kind: String, reason: String)

    public var code: String {
        switch self {
        case .unknownKind: "unknown_kind"
        case .unsupportedSchema: "unsupported_schema"
        case .malformedPayload: "malformed_payload"
        }
    }

    public var description: String {
        switch self {
        case .unknownKind(let kind): "unknown operation kind '\(kind)'"
        case .unsupportedSchema(let schema):
            "operation schema \(schema) is newer than this build's \(ShopOperation.currentSchema): upgrade"
        case .malformedPayload(let kind, let reason): "malformed payload for '\(kind)': \(reason)"
        }
    }
}
