import Foundation

/// Progress lines on standard error; standard output carries only the result.
enum Progress {
    static let clock = Stopwatch()

    static func say(_ text: String) {
        let stamp = String(format: "%7.1fs", clock.seconds)
        FileHandle.standardError.write(Data("[\(stamp)] \(text)\n".utf8))
    }
}

extension Double {
    /// A figure with about three significant digits and thousands separators.
    var formatted3: String {
        if isNaN { return "–" }
        let magnitude = Swift.abs(self)
        if magnitude >= 1000 {
            let rounded = Int((self).rounded())
            let digits = String(Swift.abs(rounded))
            var grouped = ""
            for (index, character) in digits.enumerated() {
                if index > 0, (digits.count - index) % 3 == 0 { grouped += "," }
                grouped.append(character)
            }
            return (rounded < 0 ? "-" : "") + grouped
        }
        if magnitude >= 100 { return String(format: "%.0f", self) }
        if magnitude >= 10 { return String(format: "%.1f", self) }
        if magnitude >= 1 { return String(format: "%.2f", self) }
        return String(format: "%.3g", self)
    }
}

extension Int {
    /// With thousands separators.
    var formatted3: String { Double(self).formatted3 }
}
