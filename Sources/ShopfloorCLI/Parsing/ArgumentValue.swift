import ShopfloorDomain

/// Why a command-line value was refused; ArgumentParser prints it after the argument's name (exit status 2).
struct ArgumentFormatError: Error, CustomStringConvertible {
    var description: String
}

/// Parsers for command-line values. Each throws an ``ArgumentFormatError`` that says what was expected.
enum ArgumentValue {
    /// An exact decimal: "2.5", "100", "0.000001".
    @Sendable static func amount(_ text: String) throws -> Amount {
        do {
            return try Amount(parsing: text)
        } catch {
            throw ArgumentFormatError(description: error.description)
        }
    }

    /// A business date, YYYY-MM-DD.
    @Sendable static func date(_ text: String) throws -> String {
        do {
            try validateDate(text)
        } catch {
            throw ArgumentFormatError(description: error.description)
        }
        return text
    }

    /// A date, or the empty string (which clears a date).
    @Sendable static func dateOrEmpty(_ text: String) throws -> String {
        text.isEmpty ? text : try date(text)
    }

    /// `SKU=QTY`.
    @Sendable static func line(_ text: String) throws -> BOMLine {
        let (sku, rest) = try split(text, expected: "SKU=QTY, e.g. BOLT=4")
        return BOMLine(sku: SKU(sku), quantity: try quantity(rest, in: text))
    }

    /// `SKU=QTY` or `SKU=QTY@COST`.
    @Sendable static func output(_ text: String) throws -> OutputSpec {
        let (sku, rest) = try split(text, expected: "SKU=QTY or SKU=QTY@COST, e.g. CHAIR=10@12.00")
        let parts = rest.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        let cost: Amount?
        if parts.count == 2 {
            do {
                cost = try Amount(parsing: String(parts[1]))
            } catch {
                throw ArgumentFormatError(description: "cost in '\(text)': \(error.description)")
            }
        } else {
            cost = nil
        }
        return OutputSpec(sku: SKU(sku), quantity: try quantity(String(parts[0]), in: text), unitCost: cost)
    }

    /// One of a string enum's raw values, ignoring case.
    static func choice<T: RawRepresentable & CaseIterable>(_ text: String, what: String) throws -> T
    where T.RawValue == String {
        if let match = T.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) { return match }
        let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
        throw ArgumentFormatError(description: "unknown \(what) '\(text)'; use one of: \(allowed)")
    }

    @Sendable static func itemKind(_ text: String) throws -> ItemKind { try choice(text, what: "kind") }
    @Sendable static func orderKind(_ text: String) throws -> OrderKind { try choice(text, what: "order kind") }
    @Sendable static func orderStatus(_ text: String) throws -> OrderStatus { try choice(text, what: "status") }
    @Sendable static func levels(_ text: String) throws -> ExplosionLevels { try choice(text, what: "levels") }
    @Sendable static func backflush(_ text: String) throws -> BackflushBasis {
        try choice(text, what: "backflush basis")
    }

    private static func split(_ text: String, expected: String) throws -> (String, String) {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw ArgumentFormatError(description: "expected \(expected)")
        }
        return (String(parts[0]), String(parts[1]))
    }

    private static func quantity(_ text: String, in argument: String) throws -> Amount {
        do {
            return try Amount(parsing: text)
        } catch {
            throw ArgumentFormatError(description: "quantity in '\(argument)': \(error.description)")
        }
    }
}
