import ShopfloorDomain

/// How amounts are shown in tables: quantities exactly, money with at least two decimals.
enum Format {
    static func quantity(_ amount: Amount) -> String { amount.description }

    static func money(_ amount: Amount) -> String { amount.formatted(minimumFractionDigits: 2) }

    static func money(_ amount: Amount?) -> String { amount.map(money) ?? "-" }

    static func optional(_ text: String?) -> String {
        guard let text, !text.isEmpty else { return "-" }
        return text
    }
}
