import Synchronization

/// The store's SQL in PostgreSQL's placeholders: SQLite's `?` and `?N` become `$n`, numbered by SQLite's rule (`?N`
/// is parameter N; a bare `?` is one more than the largest number so far). Question marks inside string literals,
/// quoted identifiers and comments are left alone.
public enum PostgresPlaceholders {
    /// A statement rewritten, with the number of values it takes.
    public struct Rewrite: Sendable, Hashable {
        public var sql: String
        public var parameterCount: Int
    }

    /// The rewrites of the SQL seen so far. Bounded: the store's statements are a few hundred fixed strings; should
    /// something build SQL by interpolation, the cache starts over instead of growing.
    static let cache = Mutex<[String: Rewrite]>([:])
    static let cacheEntriesMax = 1024
    /// PostgreSQL's wire protocol counts parameters in 16 bits.
    static let parameterNumberMax = Int(UInt16.max)

    /// The rewrite of `sql`, from the cache when it was rewritten before.
    public static func cached(_ sql: String) throws -> Rewrite {
        if let rewrite = cache.withLock({ $0[sql] }) { return rewrite }
        let rewrite = try rewrite(sql)
        cache.withLock { entries in
            if entries.count >= cacheEntriesMax { entries.removeAll(keepingCapacity: true) }
            entries[sql] = rewrite
        }
        return rewrite
    }

    /// Rewrites `sql` (no cache).
    public static func rewrite(_ sql: String) throws -> Rewrite {
        let bytes = Array(sql.utf8)
        // Most statements are copied as they are between placeholders: only `?` needs work.
        guard bytes.contains(UInt8(ascii: "?")) else { return Rewrite(sql: sql, parameterCount: 0) }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + 16)
        var largest = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                // A literal or a quoted identifier; a doubled quote inside is an escaped one.
                let end = quoted(bytes, from: index, quote: byte)
                output.append(contentsOf: bytes[index..<end])
                index = end
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                var end = index + 2
                while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
                output.append(contentsOf: bytes[index..<end])
                index = end
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                let end = blockComment(bytes, from: index)
                output.append(contentsOf: bytes[index..<end])
                index = end
            case UInt8(ascii: "?"):
                var end = index + 1
                var number = 0
                while end < bytes.count, bytes[end] >= UInt8(ascii: "0"), bytes[end] <= UInt8(ascii: "9") {
                    number = min(number * 10 + Int(bytes[end] - UInt8(ascii: "0")), parameterNumberMax + 1)
                    end += 1
                }
                if end == index + 1 {
                    number = largest + 1
                } else if number == 0 {
                    throw PostgresPlaceholderError(sql: sql, reason: "?0 names no parameter (they count from ?1)")
                }
                guard number <= parameterNumberMax else {
                    throw PostgresPlaceholderError(
                        sql: sql, reason: "more than \(parameterNumberMax) parameters, PostgreSQL's limit")
                }
                largest = max(largest, number)
                output.append(UInt8(ascii: "$"))
                output.append(contentsOf: String(number).utf8)
                index = end
            default:
                output.append(byte)
                index += 1
            }
        }
        return Rewrite(sql: String(decoding: output, as: UTF8.self), parameterCount: largest)
    }

    /// The index just past the quoted run that starts at `start` (the end of the text when it is not closed: the
    /// server reports that).
    private static func quoted(_ bytes: [UInt8], from start: Int, quote: UInt8) -> Int {
        var index = start + 1
        while index < bytes.count {
            if bytes[index] == quote {
                if index + 1 < bytes.count, bytes[index + 1] == quote {
                    index += 2
                    continue
                }
                return index + 1
            }
            index += 1
        }
        return bytes.count
    }

    /// The index just past the block comment that starts at `start`. PostgreSQL nests them.
    private static func blockComment(_ bytes: [UInt8], from start: Int) -> Int {
        var depth = 0
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "/"), bytes[index + 1] == UInt8(ascii: "*") {
                depth += 1
                index += 2
            } else if bytes[index] == UInt8(ascii: "*"), bytes[index + 1] == UInt8(ascii: "/") {
                depth -= 1
                index += 2
                if depth == 0 { return index }
            } else {
                index += 1
            }
        }
        return bytes.count
    }
}

/// SQL whose placeholders cannot be numbered for PostgreSQL.
public struct PostgresPlaceholderError: Error, Sendable, CustomStringConvertible {
    public var sql: String
    public var reason: String
    public var description: String { "cannot number the placeholders of \(sql): \(reason)" }
}
