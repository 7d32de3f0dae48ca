/// The stored form of a vector, written and read without a JSON coder: the same bytes as `JSONEncoder` with
/// sorted keys (`{"a":3,"b":1}`), for the vectors every operation carries as its causal context.
extension VersionVector {
    /// The compact JSON object with keys in byte order; nil when a key needs escaping (then a JSON coder must).
    public var compactJSON: String? {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        for (index, (replica, counter)) in counters.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) })
            .enumerated()
        {
            guard replica.utf8.allSatisfy(Self.isPlain) else { return nil }
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "\""))
            bytes += replica.utf8
            bytes += [UInt8(ascii: "\""), UInt8(ascii: ":")]
            bytes += String(counter).utf8
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses what ``compactJSON`` writes; nil for anything else (whitespace, escapes, other numbers), which a JSON
    /// coder then reads.
    public init?(compactJSON text: String) {
        var counters: [String: UInt64] = [:]
        var bytes = text.utf8[...]
        guard bytes.popFirst() == UInt8(ascii: "{"), bytes.popLast() == UInt8(ascii: "}") else { return nil }
        while !bytes.isEmpty {
            guard bytes.popFirst() == UInt8(ascii: "\"") else { return nil }
            guard let close = bytes.firstIndex(of: UInt8(ascii: "\"")) else { return nil }
            let key = bytes[..<close]
            guard !key.isEmpty, key.allSatisfy(Self.isPlain) else { return nil }
            bytes = bytes[bytes.index(after: close)...]
            guard bytes.popFirst() == UInt8(ascii: ":") else { return nil }
            var counter: UInt64 = 0
            var digits = 0
            let leadingZero = bytes.first == UInt8(ascii: "0")
            while let byte = bytes.first, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                let (times, overflowTimes) = counter.multipliedReportingOverflow(by: 10)
                let (sum, overflowSum) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
                guard !overflowTimes, !overflowSum else { return nil }
                counter = sum
                digits += 1
                bytes = bytes.dropFirst()
            }
            guard digits > 0, !(leadingZero && digits > 1) else { return nil }
            counters[String(decoding: key, as: UTF8.self)] = counter
            if !bytes.isEmpty {
                guard bytes.popFirst() == UInt8(ascii: ","), !bytes.isEmpty else { return nil }
            }
        }
        self.init(counters)
    }

    private static func isPlain(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }
}
