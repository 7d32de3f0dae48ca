/// The stored form of a vector, written and read without a JSON coder: the same bytes as `JSONEncoder` with
/// sorted keys (`{"a":3,"b":1}`), for the vectors every operation carries as its causal context.
extension VersionVector {
    /// The compact JSON object with keys in byte order; nil when a key needs escaping (then a JSON coder must).
    public var compactJSON: String? {
        var entries = Array(counters)
        var capacity = 2
        for (replica, _) in entries {
            guard replica.utf8.allSatisfy(Self.isPlain) else { return nil }
            capacity += replica.utf8.count + 24
        }
        // Plain keys are ASCII, whose String order is their byte order.
        entries.sort { $0.key < $1.key }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
        var digits: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        for (index, (replica, counter)) in entries.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: replica.utf8)
            bytes.append(UInt8(ascii: "\""))
            bytes.append(UInt8(ascii: ":"))
            withUnsafeMutableBytes(of: &digits) { scratch in
                var value = counter
                var end = scratch.count
                repeat {
                    end -= 1
                    scratch[end] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                } while value > 0
                bytes.append(contentsOf: scratch[end...])
            }
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses what ``compactJSON`` writes; nil for anything else (whitespace, escapes, other numbers), which a JSON
    /// coder then reads.
    public init?(compactJSON text: String) {
        var text = text
        let parsed: [String: UInt64]? = text.withUTF8 { bytes in
            var counters: [String: UInt64] = [:]
            let count = bytes.count
            guard count >= 2, bytes[0] == UInt8(ascii: "{"), bytes[count - 1] == UInt8(ascii: "}") else { return nil }
            var index = 1
            let end = count - 1
            while index < end {
                guard bytes[index] == UInt8(ascii: "\"") else { return nil }
                index += 1
                let keyStart = index
                while index < end, bytes[index] != UInt8(ascii: "\"") {
                    guard Self.isPlain(bytes[index]) else { return nil }
                    index += 1
                }
                guard index < end, index > keyStart else { return nil }
                let key = String(decoding: UnsafeBufferPointer(rebasing: bytes[keyStart..<index]), as: UTF8.self)
                index += 1
                guard index < end, bytes[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                let digitsStart = index
                var counter: UInt64 = 0
                while index < end, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                    let (times, overflowTimes) = counter.multipliedReportingOverflow(by: 10)
                    let (sum, overflowSum) = times.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
                    guard !overflowTimes, !overflowSum else { return nil }
                    counter = sum
                    index += 1
                }
                let digits = index - digitsStart
                guard digits > 0, !(bytes[digitsStart] == UInt8(ascii: "0") && digits > 1) else { return nil }
                counters[key] = counter
                if index < end {
                    guard bytes[index] == UInt8(ascii: ","), index + 1 < end else { return nil }
                    index += 1
                }
            }
            return counters
        }
        guard let parsed else { return nil }
        self.init(parsed)
    }

    /// A byte of a replica id: an ASCII letter or digit, '.', '_' or '-'.
    static func isPlain(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }
}
