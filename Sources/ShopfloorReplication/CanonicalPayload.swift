import Foundation
import ShopfloorDomain

extension ShopOperation {
    /// The largest payload HQ admits, in bytes (PROTOCOL.md §5.8): far above any real command.
    public static let payloadBytesMax = 256 * 1024

    /// Why the payload is not the canonical encoding of `command` (PROTOCOL.md §5.7), naming the first field that
    /// differs; nil when it is canonical. A payload that decodes but is not canonical (`"2.50"` for 2.5, a `null`
    /// optional field, unsorted keys, whitespace) would hash and compare differently on other replicas.
    public func payloadDeviation(from command: Command) -> String? {
        let canonical = OperationKind.encode(command).1
        guard canonical != payload else { return nil }
        guard
            let offered = try? JSONSerialization.jsonObject(with: Data(payload.utf8), options: [.fragmentsAllowed]),
            let expected = try? JSONSerialization.jsonObject(with: Data(canonical.utf8), options: [.fragmentsAllowed])
        else { return "payload is not canonical JSON" }
        return CanonicalDifference.first(offered, expected, path: "")
            ?? "payload is not canonical JSON: keys sorted, no whitespace, strings escaped as PROTOCOL.md §5.7 says"
    }
}

/// The first place two JSON values differ, in words.
enum CanonicalDifference {
    static func first(_ offered: Any, _ canonical: Any, path: String) -> String? {
        switch (offered, canonical) {
        case (let offered as [String: Any], let canonical as [String: Any]):
            for key in Set(offered.keys).union(canonical.keys).sorted() {
                let field = path.isEmpty ? key : "\(path).\(key)"
                switch (offered[key], canonical[key]) {
                case (let value?, nil):
                    return value is NSNull
                        ? "field '\(field)' is null: leave an absent optional field out"
                        : "field '\(field)' is not part of this kind's payload"
                case (nil, _):
                    return "field '\(field)' is missing"
                case (let value?, let expected?):
                    if let difference = first(value, expected, path: field) { return difference }
                }
            }
            return nil
        case (let offered as [Any], let canonical as [Any]):
            guard offered.count == canonical.count else {
                return "field '\(path)': \(offered.count) elements, canonically \(canonical.count)"
            }
            for (index, pair) in zip(offered, canonical).enumerated() {
                if let difference = first(pair.0, pair.1, path: "\(path).\(index)") { return difference }
            }
            return nil
        case (let offered as String, let canonical as String):
            return offered == canonical
                ? nil : "field '\(path)': '\(offered.prefix(80))' is not canonical; write '\(canonical.prefix(80))'"
        default:
            let (a, b) = ("\(offered)", "\(canonical)")
            return a == b ? nil : "field '\(path)': '\(a.prefix(80))' is not canonical; write '\(b.prefix(80))'"
        }
    }
}
