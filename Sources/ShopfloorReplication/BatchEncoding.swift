/// The compact encoding of operation batches (PROTOCOL.md §19): a push request or a pull page, negotiated by
/// content type. Replica ids, kinds and dates are written once per batch in a string table; integers are LEB128
/// varints; each operation's context is written as its difference from the previous operation's. JSON stays the
/// protocol's reference form, and both carry exactly the same values: the payload is the same canonical text.
public enum BatchEncoding {
    /// The media type of a batch in this encoding.
    public static let contentType = "application/vnd.shopfloor.batch"
    /// The four bytes every batch starts with: "SFB" and the encoding's version, 1.
    static let magic: [UInt8] = [0x53, 0x46, 0x42, 0x01]

    enum Message: UInt8 {
        case push = 1
        case pull = 2
    }

    public static func encode(_ push: PushRequest) -> [UInt8] {
        var writer = Writer(message: .push)
        writer.reference(push.replica)
        writer.operations(push.operations)
        return writer.finish()
    }

    public static func encode(_ page: PullResponse) -> [UInt8] {
        var writer = Writer(message: .pull)
        writer.varint(page.last)
        writer.varint(page.more ? 1 : 0)
        writer.vector(page.vector)
        writer.varint(UInt64(page.sequenced.count))
        for assignment in page.sequenced {
            writer.reference(assignment.id.replica)
            writer.varint(assignment.id.counter)
            writer.varint(assignment.seq)
        }
        writer.operations(page.operations)
        return writer.finish()
    }

    public static func decodePush(_ bytes: some Collection<UInt8>) throws(BatchDecodingError) -> PushRequest {
        var reader = try Reader(Array(bytes), expecting: .push)
        let replica = try reader.reference("replica")
        let operations = try reader.operations()
        try reader.end()
        return PushRequest(replica: replica, operations: operations)
    }

    public static func decodePull(_ bytes: some Collection<UInt8>) throws(BatchDecodingError) -> PullResponse {
        var reader = try Reader(Array(bytes), expecting: .pull)
        let last = try reader.integer("last")
        let more = try reader.integer("more")
        guard more <= 1 else { throw BatchDecodingError("more: \(more) is not 0 or 1") }
        let vector = try reader.vector("vector")
        let count = try reader.count("sequenced", each: 3)
        var sequenced: [Assignment] = []
        sequenced.reserveCapacity(count)
        for index in 0..<count {
            let replica = try reader.reference("sequenced[\(index)].id.replica")
            let counter = try reader.integer("sequenced[\(index)].id.counter")
            let seq = try reader.integer("sequenced[\(index)].seq")
            sequenced.append(Assignment(id: OperationID(replica: replica, counter: counter), seq: seq))
        }
        let operations = try reader.operations()
        try reader.end()
        return PullResponse(operations: operations, sequenced: sequenced, last: last, more: more == 1, vector: vector)
    }
}

/// A batch that does not decode: the message names the field and what is wrong with it.
public struct BatchDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}

extension BatchEncoding {
    struct Writer {
        private var body: [UInt8] = []
        private var strings: [String] = []
        private var indices: [String: UInt64] = [:]
        private let message: Message

        init(message: Message) {
            self.message = message
            body.reserveCapacity(4096)
        }

        mutating func varint(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                body.append(UInt8(truncatingIfNeeded: value) | 0x80)
                value >>= 7
            }
            body.append(UInt8(value))
        }

        mutating func text(_ value: String) {
            varint(UInt64(value.utf8.count))
            body.append(contentsOf: value.utf8)
        }

        /// A string from the batch's table, added on first use.
        mutating func reference(_ value: String) {
            if let index = indices[value] {
                varint(index)
            } else {
                let index = UInt64(strings.count)
                strings.append(value)
                indices[value] = index
                varint(index)
            }
        }

        mutating func vector(_ vector: VersionVector) {
            let entries = vector.counters.sorted { $0.key < $1.key }
            varint(UInt64(entries.count))
            for (replica, counter) in entries {
                reference(replica)
                varint(counter)
            }
        }

        mutating func operations(_ operations: [ShopOperation]) {
            varint(UInt64(operations.count))
            var previous: [String: UInt64] = [:]
            for op in operations {
                reference(op.id.replica)
                varint(op.id.counter)
                varint(op.lamport)
                varint(UInt64(clamping: op.schema))
                varint(op.seq ?? 0)
                reference(op.kind)
                reference(op.date)
                text(op.timestamp)
                text(op.payload)
                // The context as changes from the previous operation's: a counter of 0 drops the entry.
                let context = op.context.counters
                var changes: [(String, UInt64)] = []
                for (replica, counter) in context where previous[replica] != counter {
                    changes.append((replica, counter))
                }
                for replica in previous.keys where context[replica] == nil { changes.append((replica, 0)) }
                changes.sort { $0.0 < $1.0 }
                varint(UInt64(changes.count))
                for (replica, counter) in changes {
                    reference(replica)
                    varint(counter)
                }
                previous = context
            }
        }

        /// The whole batch: magic, message, string table, then the body written so far.
        func finish() -> [UInt8] {
            var head = Writer(message: message)
            head.body = BatchEncoding.magic + [message.rawValue]
            head.varint(UInt64(strings.count))
            for string in strings { head.text(string) }
            return head.body + body
        }
    }

    struct Reader {
        private let bytes: [UInt8]
        private var offset = 0
        private var strings: [String] = []

        init(_ bytes: [UInt8], expecting message: Message) throws(BatchDecodingError) {
            self.bytes = bytes
            guard bytes.count >= 5, Array(bytes[0..<4]) == BatchEncoding.magic else {
                throw BatchDecodingError("not a batch: it must start with the bytes 53 46 42 01 (\"SFB\", version 1)")
            }
            guard bytes[4] == message.rawValue else {
                throw BatchDecodingError("message type \(bytes[4]); expected \(message.rawValue) (\(message))")
            }
            offset = 5
            let count = try self.count("strings", each: 1)
            strings.reserveCapacity(count)
            for index in 0..<count { strings.append(try text("strings[\(index)]")) }
        }

        /// An unsigned LEB128 integer of at most 63 bits, in its shortest form.
        mutating func integer(_ field: @autoclosure () -> String) throws(BatchDecodingError) -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard offset < bytes.count else { throw BatchDecodingError("\(field()): the batch ends inside it") }
                let byte = bytes[offset]
                offset += 1
                guard shift < 63, shift < 56 || byte <= 0x7F else {
                    throw BatchDecodingError("\(field()): past \(Int64.max)")
                }
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 {
                    guard byte != 0 || shift == 0 else {
                        throw BatchDecodingError("\(field()): not in its shortest form")
                    }
                    return value
                }
                shift += 7
            }
        }

        /// A count of items that each take at least `each` bytes: bounded by what is left of the batch.
        mutating func count(_ field: @autoclosure () -> String, each: Int) throws(BatchDecodingError) -> Int {
            let name = field()
            let count = try integer(name)
            guard count <= UInt64((bytes.count - offset) / each) else {
                throw BatchDecodingError(
                    "\(name): \(count) entries cannot fit in the \(bytes.count - offset) bytes left")
            }
            return Int(count)
        }

        mutating func text(_ field: @autoclosure () -> String) throws(BatchDecodingError) -> String {
            let name = field()
            let length = try integer(name)
            guard length <= UInt64(bytes.count - offset) else {
                throw BatchDecodingError("\(name): \(length) bytes, past the end of the batch")
            }
            let end = offset + Int(length)
            guard let value = String(validating: bytes[offset..<end], as: UTF8.self) else {
                throw BatchDecodingError("\(name): not UTF-8")
            }
            offset = end
            return value
        }

        mutating func reference(_ field: @autoclosure () -> String) throws(BatchDecodingError) -> String {
            let name = field()
            let index = try integer(name)
            guard index < UInt64(strings.count) else {
                throw BatchDecodingError("\(name): string \(index) of a table of \(strings.count)")
            }
            return strings[Int(index)]
        }

        mutating func vector(_ field: String) throws(BatchDecodingError) -> VersionVector {
            let count = try self.count(field, each: 2)
            var counters: [String: UInt64] = [:]
            counters.reserveCapacity(count)
            for index in 0..<count {
                let replica = try reference("\(field)[\(index)].replica")
                guard counters[replica] == nil else { throw BatchDecodingError("\(field): '\(replica)' twice") }
                counters[replica] = try integer("\(field).\(replica)")
            }
            return VersionVector(counters)
        }

        mutating func operations() throws(BatchDecodingError) -> [ShopOperation] {
            let count = try self.count("operations", each: 10)
            var operations: [ShopOperation] = []
            operations.reserveCapacity(count)
            var context: [String: UInt64] = [:]
            for index in 0..<count {
                let field = "operations[\(index)]"
                let replica = try reference("\(field).id.replica")
                let counter = try integer("\(field).id.counter")
                let lamport = try integer("\(field).lamport")
                let schema = try integer("\(field).schema")
                let seq = try integer("\(field).seq")
                let kind = try reference("\(field).kind")
                let date = try reference("\(field).date")
                let timestamp = try text("\(field).timestamp")
                let payload = try text("\(field).payload")
                let changes = try self.count("\(field).context", each: 2)
                var seen: Set<String> = []
                for _ in 0..<changes {
                    let entry = try reference("\(field).context.replica")
                    guard seen.insert(entry).inserted else {
                        throw BatchDecodingError("\(field).context: '\(entry)' twice")
                    }
                    let value = try integer("\(field).context.\(entry)")
                    context[entry] = value == 0 ? nil : value
                }
                operations.append(
                    ShopOperation(
                        id: OperationID(replica: replica, counter: counter), lamport: lamport,
                        context: VersionVector(context), timestamp: timestamp, date: date, kind: kind,
                        payload: payload, schema: Int(schema), seq: seq == 0 ? nil : seq))
            }
            return operations
        }

        func end() throws(BatchDecodingError) {
            guard offset == bytes.count else {
                throw BatchDecodingError("\(bytes.count - offset) bytes after the end of the batch")
            }
        }
    }
}
