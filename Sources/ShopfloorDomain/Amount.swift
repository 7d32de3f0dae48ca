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
        // One pass over the UTF-8 bytes (this runs for every amount of every document a replica loads): an optional
        // sign, ASCII digits, at most one "." followed by at least one digit.
        let bytes = text.utf8
        var index = bytes.startIndex
        guard index != bytes.endIndex else { throw .malformed(text) }
        var negative = false
        if bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index = bytes.index(after: index)
        }
        var integer: UInt64 = 0
        var integerDigits = 0  // significant: after leading zeros
        var sawIntegerDigit = false
        var fraction: UInt64 = 0
        var fractionDigits = 0  // up to the last non-zero digit
        var pendingZeros = 0  // trailing zeros not yet known to be significant
        var sawPoint = false
        var sawFractionDigit = false
        while index != bytes.endIndex {
            let byte = bytes[index]
            index = bytes.index(after: index)
            if byte == UInt8(ascii: "."), !sawPoint {
                sawPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { throw .malformed(text) }
            let digit = UInt64(byte - UInt8(ascii: "0"))
            if !sawPoint {
                sawIntegerDigit = true
                if integerDigits == 0, digit == 0 { continue }
                integerDigits += 1
                // Past the limit the value is an overflow, but the rest must still be checked for malformed input.
                if integerDigits <= Self.integerDigitsMax { integer = integer * 10 + digit }
            } else {
                sawFractionDigit = true
                if digit == 0 {
                    pendingZeros += 1
                    continue
                }
                fractionDigits += pendingZeros + 1
                if fractionDigits <= Self.scale {
                    for _ in 0..<pendingZeros { fraction *= 10 }
                    fraction = fraction * 10 + digit
                }
                pendingZeros = 0
            }
        }
        guard sawIntegerDigit || sawFractionDigit, !(sawPoint && !sawFractionDigit) else { throw .malformed(text) }
        guard integerDigits <= Self.integerDigitsMax else { throw .overflow }
        guard fractionDigits <= Self.scale else { throw .tooManyDecimals(text) }
        for _ in fractionDigits..<Self.scale { fraction *= 10 }
        let units = Int128(integer) * Self.unit + Int128(fraction)
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
        // Digits written into a fixed buffer (every amount of every row the digest and every payload pass through
        // here): sign, integer digits, then the six fraction digits cut after the last significant one.
        let magnitude = units.magnitude
        var integer = magnitude / UInt128(Self.unit)
        var fraction = UInt64(magnitude % UInt128(Self.unit))
        let keep = max(0, min(Self.scale, minimumFractionDigits))
        var fractionDigits = Self.scale
        while fractionDigits > keep, fraction % 10 == 0 {
            fraction /= 10
            fractionDigits -= 1
        }
        return String(unsafeUninitializedCapacity: 64) { buffer in
            var count = 0
            if units < 0 {
                buffer[0] = UInt8(ascii: "-")
                count = 1
            }
            // Integer digits least significant first, then reversed in place.
            let start = count
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(integer % 10)
                integer /= 10
                count += 1
            } while integer > 0
            var low = start
            var high = count - 1
            while low < high {
                buffer.swapAt(low, high)
                low += 1
                high -= 1
            }
            if fractionDigits > 0 {
                buffer[count] = UInt8(ascii: ".")
                count += 1
                for index in stride(from: fractionDigits - 1, through: 0, by: -1) {
                    buffer[count + index] = UInt8(ascii: "0") + UInt8(fraction % 10)
                    fraction /= 10
                }
                count += fractionDigits
            }
            return count
        }
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
