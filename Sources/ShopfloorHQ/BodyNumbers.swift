/// Every number in a request body is an integer from 0 to 2^63 − 1 (SQLite's integers); `limit` alone may be
/// negative, and is clamped (PROTOCOL.md §5.8). JSON decoding alone would take `6.0` for 6 and call 2^64 "not JSON";
/// this scan names the field instead. Strings are skipped, so numbers inside a payload are the payload's business.
enum BodyNumbers {
    private enum Frame {
        case object(key: String, expectingKey: Bool)
        case array(index: Int)
    }

    /// The first number out of bounds, as a message naming its field; nil when every number is in bounds (or the
    /// body is not JSON, which the decoder then reports).
    static func violation(in body: [UInt8], signed: Set<String> = ["limit"]) -> String? {
        var stack: [Frame] = []
        var index = 0
        func path() -> String {
            stack.map { frame in
                switch frame {
                case .object(let key, _): key
                case .array(let index): "\(index)"
                }
            }.joined(separator: ".")
        }
        while index < body.count {
            let byte = body[index]
            switch byte {
            case UInt8(ascii: "{"):
                stack.append(.object(key: "", expectingKey: true))
            case UInt8(ascii: "["):
                stack.append(.array(index: 0))
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !stack.isEmpty { stack.removeLast() }
            case UInt8(ascii: ","):
                switch stack.last {
                case .object(let key, _): stack[stack.count - 1] = .object(key: key, expectingKey: true)
                case .array(let position): stack[stack.count - 1] = .array(index: position + 1)
                case nil: break
                }
            case UInt8(ascii: ":"):
                if case .object(let key, _) = stack.last {
                    stack[stack.count - 1] = .object(key: key, expectingKey: false)
                }
            case UInt8(ascii: "\""):
                let start = index + 1
                index += 1
                while index < body.count, body[index] != UInt8(ascii: "\"") {
                    index += body[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                if case .object(_, true) = stack.last, index <= body.count {
                    let key = String(decoding: body[start..<min(index, body.count)], as: UTF8.self)
                    stack[stack.count - 1] = .object(key: key, expectingKey: false)
                }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = index
                while index + 1 < body.count, Self.isNumberByte(body[index + 1]) { index += 1 }
                if let problem = problem(with: Array(body[start...index]), field: path(), signed: signed) {
                    return problem
                }
            default:
                break
            }
            index += 1
        }
        return nil
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e")
            || byte == UInt8(ascii: "E") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
    }

    private static func problem(with token: [UInt8], field: String, signed: Set<String>) -> String? {
        let text = String(decoding: token, as: UTF8.self)
        let name = field.isEmpty ? "the body" : "field '\(field)'"
        let negative = token.first == UInt8(ascii: "-")
        let digits = negative ? Array(token.dropFirst()) : token
        guard !digits.isEmpty, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            return "\(name): \(text.prefix(40)) is not an integer"
        }
        if negative && !signed.contains(field) {
            return "\(name): \(text.prefix(40)) is negative; it must be between 0 and \(Int64.max)"
        }
        let significant = digits.drop { $0 == UInt8(ascii: "0") }
        // Down to Int64.min for a signed field, up to Int64.max otherwise.
        let limit = Array((negative ? "9223372036854775808" : "\(Int64.max)").utf8)
        let past =
            significant.count != limit.count
            ? significant.count > limit.count : limit.lexicographicallyPrecedes(significant)
        if past { return "\(name): \(text.prefix(40)) is past \(Int64.max)" }
        return nil
    }
}
