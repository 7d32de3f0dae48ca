/// An exact decimal number with six fractional digits, used for every quantity, rate and money value.
///
/// Stored as a count of millionths in an `Int128`, so every replica on every CPU computes the same digits.
/// Parsing accepts at most ``Amount/scale`` fractional digits and at most ``Amount/integerDigitsMax`` integer
/// digits; anything else is an ``AmountError``, never a crash.
///
/// **Rounding rule.** The only operations that can produce more than six fractional digits are
/// ``multiplied(by:)`` and ``divided(by:)``. Both round the exact result to six fractional digits
/// *half to even* (banker's rounding). Addition and subtraction are exact.
public struct Amount: Sendable, Hashable, Comparable {
    /// Fractional digits kept.
    public static let scale = 6
    /// The largest number of integer digits a parsed or computed amount may have.
    public static let integerDigitsMax = 18
    static let unit: Int128 = 1_000_000
    static let magnitudeLimit: Int128 = {
        var limit: Int128 = unit
        for _ in 0..<integerDigitsMax { limit *= 10 }
        return limit
    }()

    /// Millionths.
    public let units: Int128

    init(units: Int128) {
        self.units = units
    }

    /// Checked construction from raw millionths.
    public static func fromUnits(_ units: Int128) throws(AmountError) -> Amount {
        guard units.magnitude < magnitudeLimit.magnitude else { throw .overflow }
        return Amount(units: units)
    }

    public static let zero = Amount(units: 0)
    public static let one = Amount(units: unit)
    public static let hundred = Amount(units: unit * 100)

    public init(_ integer: Int) {
        self.units = Int128(integer) * Self.unit
    }

    /// Parses "2.5", "-3", "0.000001", "+4". No exponent, no grouping separators.
    public init(parsing text: String) throws(AmountError) {
        var chars = Substring(text)
        guard !chars.isEmpty else { throw .malformed(text) }
        var negative = false
        if chars.first == "-" || chars.first == "+" {
            negative = chars.first == "-"
            chars = chars.dropFirst()
        }
        let parts = chars.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let integerPart = parts[0]
        let fractionPart = parts.count > 1 ? parts[1] : ""
        guard !integerPart.isEmpty || !fractionPart.isEmpty,
            integerPart.allSatisfy({ $0.isASCII && $0.isNumber }),
            fractionPart.allSatisfy({ $0.isASCII && $0.isNumber }),
            !(parts.count > 1 && fractionPart.isEmpty)
        else { throw .malformed(text) }
        let significantInteger = integerPart.drop(while: { $0 == "0" })
        guard significantInteger.count <= Self.integerDigitsMax else { throw .overflow }
        let trimmedFraction = fractionPart.reversed().drop(while: { $0 == "0" }).reversed()
        guard trimmedFraction.count <= Self.scale else { throw .tooManyDecimals(text) }
        var value: Int128 = 0
        for c in significantInteger { value = value * 10 + Int128(c.wholeNumberValue!) }
        var fraction: Int128 = 0
        for c in trimmedFraction { fraction = fraction * 10 + Int128(c.wholeNumberValue!) }
        for _ in trimmedFraction.count..<Self.scale { fraction *= 10 }
        let units = value * Self.unit + fraction
        guard units < Self.magnitudeLimit else { throw .overflow }
        self.units = negative ? -units : units
    }

    public var isZero: Bool { units == 0 }
    public var isNegative: Bool { units < 0 }
    public var isPositive: Bool { units > 0 }
    public var magnitude: Amount { Amount(units: units < 0 ? -units : units) }

    public static func < (lhs: Amount, rhs: Amount) -> Bool { lhs.units < rhs.units }
    public static func + (lhs: Amount, rhs: Amount) -> Amount { Amount(units: lhs.units + rhs.units) }
    public static func - (lhs: Amount, rhs: Amount) -> Amount { Amount(units: lhs.units - rhs.units) }
    public static prefix func - (value: Amount) -> Amount { Amount(units: -value.units) }
    public static func += (lhs: inout Amount, rhs: Amount) { lhs = lhs + rhs }
    public static func -= (lhs: inout Amount, rhs: Amount) { lhs = lhs - rhs }

    /// `self × other`, rounded half to even to six fractional digits.
    public func multiplied(by other: Amount) throws(AmountError) -> Amount {
        let (high, low) = units.multipliedFullWidth(by: other.units)
        // Products of two in-range amounts fit in 128 bits (10^24 × 10^24 = 10^48 does not, so check).
        let product = Int256Lite(high: high, low: low)
        guard let exact = product.asInt128 else { throw .overflow }
        return try Amount.fromUnits(Self.roundedDivision(exact, by: Self.unit))
    }

    /// `self ÷ other`, rounded half to even to six fractional digits.
    public func divided(by other: Amount) throws(AmountError) -> Amount {
        guard !other.isZero else { throw .divisionByZero }
        let (scaled, overflow) = units.multipliedReportingOverflow(by: Self.unit)
        guard !overflow else { throw .overflow }
        return try Amount.fromUnits(Self.roundedDivision(scaled, by: other.units))
    }

    /// Integer division rounded half to even.
    static func roundedDivision(_ numerator: Int128, by denominator: Int128) -> Int128 {
        let (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
        if remainder == 0 { return quotient }
        let twiceRemainder = remainder.magnitude * 2
        let sameSign = (numerator < 0) == (denominator < 0)
        let awayFromZero: Int128 = sameSign ? 1 : -1
        if twiceRemainder > denominator.magnitude { return quotient + awayFromZero }
        if twiceRemainder < denominator.magnitude { return quotient }
        return quotient % 2 == 0 ? quotient : quotient + awayFromZero
    }

    /// The smaller of two amounts.
    public static func minimum(_ a: Amount, _ b: Amount) -> Amount { a < b ? a : b }
    /// The larger of two amounts.
    public static func maximum(_ a: Amount, _ b: Amount) -> Amount { a < b ? b : a }

    /// Prints with at least `minimumFractionDigits` digits after the point (for money: 2).
    public func formatted(minimumFractionDigits: Int) -> String {
        let negative = units < 0
        let magnitude = units.magnitude
        let integer = magnitude / UInt128(Self.unit)
        var fraction = String(magnitude % UInt128(Self.unit))
        fraction = String(repeating: "0", count: Self.scale - fraction.count) + fraction
        while fraction.count > minimumFractionDigits, fraction.last == "0" { fraction.removeLast() }
        let body = fraction.isEmpty ? "\(integer)" : "\(integer).\(fraction)"
        return negative ? "-" + body : body
    }
}

/// A 256-bit product split, just enough to tell whether it fits back into `Int128`.
struct Int256Lite {
    let high: Int128
    let low: UInt128

    var asInt128: Int128? {
        let lowAsSigned = Int128(bitPattern: low)
        if high == 0 && lowAsSigned >= 0 { return lowAsSigned }
        if high == -1 && lowAsSigned < 0 { return lowAsSigned }
        return nil
    }
}

extension Amount: CustomStringConvertible {
    /// The shortest exact form: "2.5", "-3", "0.000001".
    public var description: String { formatted(minimumFractionDigits: 0) }
}

extension Amount: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self.init(value) }
}

extension Amount: Codable {
    /// Amounts cross every boundary (JSON, SQLite) as exact decimal strings.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try Amount(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Why a number was refused.
public enum AmountError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case tooManyDecimals(String)
    case overflow
    case divisionByZero

    public var description: String {
        switch self {
        case .malformed(let text): "'\(text)' is not a decimal number (write it like 2.5, -3 or 0.000001)"
        case .tooManyDecimals(let text): "'\(text)' has more than \(Amount.scale) decimal places"
        case .overflow: "number out of range (at most \(Amount.integerDigitsMax) integer digits)"
        case .divisionByZero: "division by zero"
        }
    }
}

extension Amount {
    /// `self × numerator ÷ denominator` with a single rounding (half to even), for proportional shares.
    public func proportion(_ numerator: Amount, of denominator: Amount) throws(AmountError) -> Amount {
        guard !denominator.isZero else { throw .divisionByZero }
        let (high, low) = units.multipliedFullWidth(by: numerator.units)
        guard let product = Int256Lite(high: high, low: low).asInt128 else { throw .overflow }
        return try Amount.fromUnits(Amount.roundedDivision(product, by: denominator.units))
    }
}

extension Amount {
    /// `self + other`, refusing a result beyond ``integerDigitsMax`` integer digits.
    public func adding(_ other: Amount) throws(AmountError) -> Amount {
        try Amount.fromUnits(units + other.units)
    }
}
