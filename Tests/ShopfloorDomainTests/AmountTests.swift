import Foundation
import Testing

@testable import ShopfloorDomain

/// Exact decimal parsing, printing, rounding (half to even), overflow and Codable.
@Suite struct AmountTests {
    func amount(_ text: String) -> Amount { try! Amount(parsing: text) }

    // MARK: Parsing and printing

    @Test(arguments: [
        ("2.5", "2.5", Int128(2_500_000)),
        ("0.000001", "0.000001", 1),
        ("-3", "-3", -3_000_000),
        ("+4", "4", 4_000_000),
        ("007.50", "7.5", 7_500_000),
        ("0.0000010", "0.000001", 1),
        ("-0.25", "-0.25", -250_000),
        ("0", "0", 0),
        ("-0", "0", 0),
        ("100", "100", 100_000_000),
        ("999999999999999999.999999", "999999999999999999.999999", 999_999_999_999_999_999_999_999),
        ("-999999999999999999.999999", "-999999999999999999.999999", -999_999_999_999_999_999_999_999),
        ("000000000000000000000012.000000000", "12", 12_000_000),
        (".5", "0.5", 500_000),
        ("-.25", "-0.25", -250_000),
        ("1.0000000", "1", 1_000_000),
        ("0.1000000000", "0.1", 100_000),
        ("000000000000000000000000", "0", 0),
    ])
    func parsesAndPrintsCanonically(text: String, canonical: String, units: Int128) throws {
        let value = try Amount(parsing: text)
        #expect(value.units == units)
        #expect(value.description == canonical)
        #expect("\(value)" == canonical)
        // The canonical form parses back to the same number.
        #expect(try Amount(parsing: canonical) == value)
    }

    @Test(arguments: [
        "", "abc", "1.", ".", "1e5", "1,5", "+", "-", "--1", "+-1", " 1", "1 ", "1.5.2", "0x10", "١", "1_000",
        "1\u{301}", "-.", "..5", "1..5", "1.1234567x", "12345678901234567890x", "1.-5", "٣.5",
    ])
    func refusesMalformedText(text: String) {
        #expect(throws: AmountError.malformed(text)) { try Amount(parsing: text) }
    }

    @Test(arguments: ["0.0000001", "1.1234567", "-0.0000005", "2.0000001"])
    func refusesMoreThanSixDecimals(text: String) {
        #expect(throws: AmountError.tooManyDecimals(text)) { try Amount(parsing: text) }
    }

    @Test(arguments: [
        "1234567890123456789", "-1234567890123456789", "1000000000000000000", "99999999999999999999.5",
        "12345678901234567890.1234567",
    ])
    func refusesMoreThanEighteenIntegerDigits(text: String) {
        #expect(throws: AmountError.overflow) { try Amount(parsing: text) }
    }

    /// The parser runs over UTF-8 bytes; a straightforward Character-based reference must agree on every string
    /// (value or exact error) for random strings over digits, signs, points and a few strangers.
    @Test func bytewiseParserAgreesWithAReference() {
        var seed: UInt64 = 0x5EED_A40A
        let alphabet = Array("0000123456789..-+ e,١\u{301}")
        for _ in 0..<50_000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = Int((seed >> 33) % 28)
            var text = ""
            var state = seed
            for _ in 0..<length {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                text.append(alphabet[Int((state >> 33) % UInt64(alphabet.count))])
            }
            let expected = Result { () throws(AmountError) in try Self.referenceParse(text) }
            let actual = Result { () throws(AmountError) in try Amount(parsing: text) }
            #expect(actual == expected, "\(text.debugDescription)")
        }
    }

    /// The first parser, kept as the reference: split at the first point, check every Character, trim zeros.
    static func referenceParse(_ text: String) throws(AmountError) -> Amount {
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
        guard significantInteger.count <= Amount.integerDigitsMax else { throw .overflow }
        let trimmedFraction = fractionPart.reversed().drop(while: { $0 == "0" }).reversed()
        guard trimmedFraction.count <= Amount.scale else { throw .tooManyDecimals(text) }
        var value: Int128 = 0
        for c in significantInteger { value = value * 10 + Int128(c.wholeNumberValue!) }
        var fraction: Int128 = 0
        for c in trimmedFraction { fraction = fraction * 10 + Int128(c.wholeNumberValue!) }
        for _ in trimmedFraction.count..<Amount.scale { fraction *= 10 }
        let units = value * Amount.unit + fraction
        return Amount(units: negative ? -units : units)
    }

    @Test func eighteenIntegerDigitsAreAccepted() throws {
        let value = try Amount(parsing: "123456789012345678")
        #expect(value.description == "123456789012345678")
        #expect(value.units == 123_456_789_012_345_678_000_000)
    }

    @Test func errorDescriptionsNameTheProblem() {
        #expect(
            AmountError.malformed("abc").description
                == "'abc' is not a decimal number (write it like 2.5, -3 or 0.000001)")
        #expect(AmountError.tooManyDecimals("0.0000001").description == "'0.0000001' has more than 6 decimal places")
        #expect(AmountError.overflow.description == "number out of range (at most 18 integer digits)")
        #expect(AmountError.divisionByZero.description == "division by zero")
    }

    @Test func integerInitialisersAndConstants() {
        #expect(Amount(7).units == 7_000_000)
        #expect(Amount(-2).description == "-2")
        let literal: Amount = 12
        #expect(literal == Amount(12))
        #expect(Amount.zero.units == 0 && Amount.zero.isZero)
        #expect(Amount.one.units == 1_000_000)
        #expect(Amount.hundred.description == "100")
    }

    @Test func signsComparisonAndExactAddition() {
        let a = amount("0.1")
        let b = amount("0.2")
        #expect(a + b == amount("0.3"))
        #expect(a - b == amount("-0.1"))
        #expect(-a == amount("-0.1"))
        #expect(amount("-0.1").magnitude == a)
        #expect(amount("-0.1").isNegative && !amount("-0.1").isPositive && !amount("-0.1").isZero)
        #expect(a < b && amount("-5") < amount("-4.999999"))
        #expect(Amount.minimum(a, b) == a && Amount.maximum(a, b) == b)
        var c = a
        c += b
        c -= amount("0.05")
        #expect(c == amount("0.25"))
    }

    @Test func fromUnitsChecksTheRange() throws {
        #expect(try Amount.fromUnits(1).description == "0.000001")
        #expect(try Amount.fromUnits(999_999_999_999_999_999_999_999).description == "999999999999999999.999999")
        #expect(throws: AmountError.overflow) { try Amount.fromUnits(1_000_000_000_000_000_000_000_000) }
        #expect(throws: AmountError.overflow) { try Amount.fromUnits(-1_000_000_000_000_000_000_000_000) }
        #expect(throws: AmountError.overflow) { try Amount.fromUnits(Int128.min) }
        #expect(throws: AmountError.overflow) { try Amount.fromUnits(Int128.max) }
    }

    // MARK: Rounding (half to even)

    @Test(arguments: [
        // Exact results.
        ("2.5", "4", "10"),
        ("1.5", "1.5", "2.25"),
        ("-2", "0.5", "-1"),
        ("0.001", "0.001", "0.000001"),
        // Ties go to the even neighbour.
        ("0.000001", "0.5", "0"),
        ("0.000003", "0.5", "0.000002"),
        ("0.000005", "0.5", "0.000002"),
        ("0.000007", "0.5", "0.000004"),
        ("-0.000001", "0.5", "0"),
        ("-0.000003", "0.5", "-0.000002"),
        ("0.000003", "-0.5", "-0.000002"),
        ("-0.000005", "-0.5", "0.000002"),
        // Not ties: nearest.
        ("0.000001", "0.6", "0.000001"),
        ("0.000001", "0.4", "0"),
        ("-0.000001", "0.6", "-0.000001"),
        ("-0.000001", "0.4", "0"),
        ("0.333333", "3", "0.999999"),
        ("2.090909", "11", "22.999999"),
    ])
    func multipliedRoundsHalfToEven(lhs: String, rhs: String, product: String) throws {
        let result = try amount(lhs).multiplied(by: amount(rhs))
        #expect(result == amount(product), "\(lhs) × \(rhs)")
        // Multiplication commutes, rounding included.
        #expect(try amount(rhs).multiplied(by: amount(lhs)) == result)
    }

    @Test(arguments: [
        ("1", "3", "0.333333"),
        ("2", "3", "0.666667"),
        ("-1", "3", "-0.333333"),
        ("-2", "3", "-0.666667"),
        ("1", "-3", "-0.333333"),
        ("-2", "-3", "0.666667"),
        ("10", "4", "2.5"),
        ("0.000001", "2", "0"),
        ("0.000003", "2", "0.000002"),
        ("0.000005", "2", "0.000002"),
        ("0.000007", "2", "0.000004"),
        ("-0.000003", "2", "-0.000002"),
        ("0.000001", "-2", "0"),
        ("0.000003", "-2", "-0.000002"),
        ("6.666667", "2", "3.333334"),
        ("230", "110", "2.090909"),
        ("0", "7", "0"),
    ])
    func dividedRoundsHalfToEven(numerator: String, denominator: String, quotient: String) throws {
        #expect(
            try amount(numerator).divided(by: amount(denominator)) == amount(quotient), "\(numerator) ÷ \(denominator)")
    }

    @Test(arguments: [
        ("1", "1", "3", "0.333333"),
        ("1", "2", "3", "0.666667"),
        ("-1", "1", "3", "-0.333333"),
        ("10", "2", "3", "6.666667"),
        ("0.000001", "1", "2", "0"),
        ("0.000003", "1", "2", "0.000002"),
        ("0.000001", "3", "2", "0.000002"),
        ("0.000001", "5", "2", "0.000002"),
        ("0.000001", "-3", "2", "-0.000002"),
        ("12", "1", "4", "3"),
        ("4", "0.000001", "8", "0.000000"),
        ("20", "1.5", "10", "3"),
        // A single rounding: (1 ÷ 3) × 3 would be 0.999999.
        ("1", "3", "3", "1"),
        ("7", "3", "7", "3"),
    ])
    func proportionRoundsOnceHalfToEven(value: String, numerator: String, denominator: String, result: String) throws {
        #expect(try amount(value).proportion(amount(numerator), of: amount(denominator)) == amount(result))
    }

    @Test func proportionRoundsOnceWhereTwoStepsWouldNot() throws {
        let third = try Amount.one.divided(by: 3)
        #expect(try third.multiplied(by: 3) == amount("0.999999"))
        #expect(try Amount.one.proportion(3, of: 3) == Amount.one)
        // 0.000001 × 0.5 rounds to 0 but × 1.5 (three halves of a unit) rounds to 2 units.
        #expect(try amount("0.000001").proportion(amount("1.5"), of: 1) == amount("0.000002"))
    }

    // MARK: Errors never crash

    @Test func multiplicationOverflowIsAnError() throws {
        let maximum = amount("999999999999999999.999999")
        #expect(throws: AmountError.overflow) { try maximum.multiplied(by: maximum) }
        #expect(throws: AmountError.overflow) { try maximum.multiplied(by: -maximum) }
        #expect(throws: AmountError.overflow) { try (-maximum).multiplied(by: -maximum) }
        #expect(throws: AmountError.overflow) { try maximum.multiplied(by: 2) }
        #expect(throws: AmountError.overflow) { try amount("1000000000000").multiplied(by: amount("1000000000000")) }
        #expect(throws: AmountError.overflow) { try amount("-1000000000000").multiplied(by: amount("1000000")) }
        // Just below the limit is fine.
        #expect(try amount("999999999999").multiplied(by: amount("1000000")) == amount("999999999999000000"))
        #expect(try maximum.multiplied(by: 1) == maximum)
        #expect(try maximum.multiplied(by: amount("0.000001")) == amount("1000000000000"))
    }

    @Test func divisionErrors() throws {
        #expect(throws: AmountError.divisionByZero) { try Amount.one.divided(by: .zero) }
        #expect(throws: AmountError.divisionByZero) { try Amount.zero.divided(by: .zero) }
        #expect(throws: AmountError.divisionByZero) { try Amount.one.proportion(1, of: .zero) }
        let maximum = amount("999999999999999999.999999")
        #expect(throws: AmountError.overflow) { try maximum.divided(by: amount("0.5")) }
        #expect(throws: AmountError.overflow) { try maximum.divided(by: amount("0.000001")) }
        #expect(throws: AmountError.overflow) { try maximum.proportion(maximum, of: amount("0.000001")) }
        #expect(throws: AmountError.overflow) { try maximum.proportion(2, of: 1) }
        let trillion = amount("1000000000000")
        #expect(try trillion.proportion(trillion, of: trillion) == trillion)
    }

    // MARK: Formatting and Codable

    @Test(arguments: [
        ("5", "5.00"),
        ("2.5", "2.50"),
        ("-3", "-3.00"),
        ("0", "0.00"),
        ("0.000001", "0.000001"),
        ("-0.5", "-0.50"),
        ("21.1", "21.10"),
        ("1234.567", "1234.567"),
        ("-0.000123", "-0.000123"),
    ])
    func formatsWithMinimumFractionDigits(text: String, money: String) {
        #expect(amount(text).formatted(minimumFractionDigits: 2) == money)
    }

    @Test func formattedKeepsSignificantDigits() {
        #expect(amount("2.5").formatted(minimumFractionDigits: 0) == "2.5")
        #expect(amount("2.5").formatted(minimumFractionDigits: 4) == "2.5000")
        #expect(amount("2.5").formatted(minimumFractionDigits: 6) == "2.500000")
        #expect(amount("-7").formatted(minimumFractionDigits: 1) == "-7.0")
    }

    struct Box: Codable, Equatable {
        var price: Amount
        var quantities: [Amount]
    }

    @Test func codableRoundTripsAsJSONStrings() throws {
        let box = Box(
            price: amount("21.1"), quantities: [amount("-3"), amount("0.000001"), amount("999999999999999999.999999")])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(box)
        #expect(
            String(decoding: data, as: UTF8.self)
                == #"{"price":"21.1","quantities":["-3","0.000001","999999999999999999.999999"]}"#)
        #expect(try JSONDecoder().decode(Box.self, from: data) == box)
    }

    @Test func decodingAcceptsNonCanonicalStrings() throws {
        let json = #"{"price":"007.50","quantities":["+4","0.0000010"]}"#
        let box = try JSONDecoder().decode(Box.self, from: Data(json.utf8))
        #expect(box == Box(price: amount("7.5"), quantities: [4, amount("0.000001")]))
    }

    @Test(arguments: [
        #"{"price":2.5,"quantities":[]}"#,
        #"{"price":"1e5","quantities":[]}"#,
        #"{"price":"0.0000001","quantities":[]}"#,
        #"{"price":"1234567890123456789","quantities":[]}"#,
        #"{"price":"","quantities":[]}"#,
    ])
    func decodingRefusesBadNumbers(json: String) {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Box.self, from: Data(json.utf8)) }
    }

    @Test func decodingErrorCarriesTheAmountMessage() {
        let json = #"{"price":"1,5","quantities":[]}"#
        do {
            _ = try JSONDecoder().decode(Box.self, from: Data(json.utf8))
            Issue.record("decoded a malformed amount")
        } catch DecodingError.dataCorrupted(let context) {
            #expect(context.debugDescription == AmountError.malformed("1,5").description)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
