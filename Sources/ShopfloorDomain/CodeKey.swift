/// A code the domain keys its state by (``SKU``, ``OrderNumber``): one `String`, typed so that an order number cannot
/// be passed where a SKU is meant, with the same text, order, hash and JSON as the string it wraps.
///
/// The wrappers are hand-rolled, not `pointfreeco/swift-tagged`: Tagged 0.10.0 imports Foundation, which this module
/// must not link (`tools/check-purity`), and this target takes no package dependency. Each wrapper is a frozen struct
/// over one `String` whose members are inlinable, so keying the fold's dictionaries by it costs what the string did.
///
/// - Codable: a single value, the string itself; as a dictionary key (``CodingKeyRepresentable``) the string is the
///   JSON object key. So payloads, stored images and digests keep every byte.
/// - Comparable by the string's order, the order the domain has always sorted codes by.
/// - `description` is the string, so messages and conflict texts that interpolate a code are unchanged.
/// - A string literal is a code (tests, fixed names); text from outside becomes one at the boundary with
///   `init(_:)` and leaves with ``rawValue``. Validation stays where it was (``Catalog``'s code rule), not here.
public protocol CodeKey: Hashable, Comparable, Sendable, Codable, CodingKeyRepresentable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The code as typed and stored.
    var rawValue: String { get }
    init(_ rawValue: String)
}

extension CodeKey {
    @inlinable public init(stringLiteral value: String) { self.init(value) }

    @inlinable public var description: String { rawValue }

    @inlinable public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    @inlinable public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    @inlinable public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    @inlinable public var codingKey: any CodingKey { CodeCodingKey(stringValue: rawValue) }

    @inlinable public init?<Key: CodingKey>(codingKey: Key) { self.init(codingKey.stringValue) }
}

/// A code as a JSON object key.
@usableFromInline
struct CodeCodingKey: CodingKey {
    @usableFromInline var stringValue: String
    @usableFromInline var intValue: Int? { nil }

    @usableFromInline init(stringValue: String) { self.stringValue = stringValue }
    @usableFromInline init?(intValue: Int) { nil }
}
