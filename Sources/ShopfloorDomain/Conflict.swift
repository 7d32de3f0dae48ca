/// A conflict is data: what happened, to whom, which operations, the outcome chosen and why.
///
/// Conflicts come out of the fold deterministically, so every replica with the same operations lists the same
/// conflicts with the same ids.
public struct Conflict: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Rule 2: a cancel that did not see a receipt; the order closes short keeping it.
        case cancelVersusReceipt = "cancel-vs-receipt"
        /// Rule 3: receipts past the ordered quantity beyond tolerance; all kept.
        case overReceipt = "over-receipt"
        /// Rule 4: a receipt (or a void) concurrent with a close; kept.
        case receiptAfterClose = "receipt-after-close"
        /// Rule 5: concurrent edits of one field; a deterministic winner.
        case concurrentEdit = "concurrent-edit"
        /// Rule 6: stock taken below zero; kept and flagged.
        case negativeStock = "negative-stock"
        /// Rule 7: two devices chose the same order number (or receipt id); both kept, one renamed.
        case duplicateNumber = "duplicate-number"
        /// A Make Transfer concurrent with a close or cancel of its order: kept, since the material has moved.
        case transferAfterClose = "transfer-after-close"
        /// A merged order refers to catalog data that a concurrent change removed or refused; kept, flagged.
        case catalogMismatch = "catalog-mismatch"
        /// A merged operation the domain cannot apply at its place in the canonical order; it changes nothing.
        case refusedOperation = "refused-operation"
    }

    /// Deterministic and URL-safe: "c-" and a 64-bit FNV-1a hash of kind, triggering operation and subject.
    public var id: String
    public var kind: Kind
    /// The order number, receipt id, "SKU@LOCATION" or catalog key concerned.
    public var subject: String
    /// Operation ids ("replica:counter") involved; the author is the part before the colon.
    public var operations: [String]
    public var outcome: String
    public var explanation: String

    public init(
        kind: Kind, subject: String, trigger: String, operations: [String], outcome: String, explanation: String
    ) {
        self.id = Self.makeID("\(kind.rawValue)|\(trigger)|\(subject)")
        self.kind = kind
        self.subject = subject
        self.operations = operations
        self.outcome = outcome
        self.explanation = explanation
    }
}

extension Conflict {
    static func makeID(_ key: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "c-" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// A user's acknowledgement of a conflict (itself an operation, so it syncs).
public struct Acknowledgement: Sendable, Hashable, Codable {
    public var conflict: String
    public var operation: String
    public var note: String
    public var date: String

    public init(conflict: String, operation: String, note: String, date: String) {
        self.conflict = conflict
        self.operation = operation
        self.note = note
        self.date = date
    }
}

/// The last operation that wrote a field, for rule 5, with the earlier writes it did not see (its rivals).
public struct FieldWrite: Sendable, Hashable, Codable {
    public var operation: String
    public var value: String
    /// Writes earlier in canonical order that are concurrent with this one, in canonical order; empty when this
    /// write saw every earlier one.
    public var rivals: [FieldWrite]

    public init(operation: String, value: String, rivals: [FieldWrite] = []) {
        self.operation = operation
        self.value = value
        self.rivals = rivals
    }
}
