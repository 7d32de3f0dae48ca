import Foundation

/// One measured figure with the baseline it is compared with, from the same run.
struct Figure: Sendable, Codable {
    /// Stable across runs and code changes (`limit.insert`, `local.cli.receipt`, `ingest.http.8`, …), for tools that
    /// compare runs; the benchmark and measure texts are for people.
    var id: String
    var benchmark: String
    var measure: String
    var value: Double
    var unit: String
    var baselineLabel: String?
    var baseline: Double?
    /// value ÷ baseline.
    var ratio: Double?
    var target: String?
    var met: Bool?
    var note: String?

    enum CodingKeys: String, CodingKey {
        case id, benchmark, measure, value, unit, baseline, ratio, target, met, note
        case baselineLabel = "baseline_label"
    }
}

/// The run's figures, printed as one table or as JSON.
final class Report: @unchecked Sendable {
    // Filled by the benchmark phases one after another (never concurrently).
    private(set) var figures: [Figure] = []
    var notes: [String] = []
    /// /proc/loadavg's 1-minute figure at the start and the end: other work on the machine skews every figure.
    var loadAtStart = Report.loadAverage()
    var loadAtEnd: Double?

    static func loadAverage() -> Double? {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.flatMap {
            Double($0)
        }
    }

    func add(
        id: String, _ benchmark: String, _ measure: String, _ value: Double, _ unit: String,
        baseline: (String, Double)? = nil,
        target: String? = nil, met: Bool? = nil, note: String? = nil
    ) {
        let ratio = baseline.map { $0.1 != 0 ? value / $0.1 : .nan }
        figures.append(
            Figure(
                id: id, benchmark: benchmark, measure: measure, value: value, unit: unit, baselineLabel: baseline?.0,
                baseline: baseline?.1, ratio: ratio, target: target, met: met, note: note))
        let shown = baseline.map { " (baseline \($0.0): \($0.1.formatted3))" } ?? ""
        Progress.say("  [\(id)] \(benchmark) · \(measure): \(value.formatted3) \(unit)\(shown)")
    }

    func unavailable(_ benchmark: String, reason: String) {
        notes.append("\(benchmark): unavailable (\(reason))")
        Progress.say("  \(benchmark): unavailable (\(reason))")
    }

    struct Document: Codable {
        var date: String
        var machine: String
        var mode: String
        var seconds: Double
        var loadAverageStart: Double?
        var loadAverageEnd: Double?
        var figures: [Figure]
        var notes: [String]
    }

    func document(mode: String, seconds: Double) -> Document {
        Document(
            date: Self.today(), machine: Self.machine(), mode: mode, seconds: seconds, loadAverageStart: loadAtStart,
            loadAverageEnd: loadAtEnd, figures: figures, notes: notes)
    }

    func json(mode: String, seconds: Double) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(document(mode: mode, seconds: seconds)), as: UTF8.self)
    }

    func markdown(mode: String, seconds: Double) -> String {
        var lines = [
            "Shopfloor benchmarks, \(Self.today()), \(Self.machine()), \(mode) run, \(String(format: "%.0f", seconds)) s, "
                + "load average \(load(loadAtStart)) at the start, \(load(loadAtEnd)) at the end",
            "",
            "| Id | Benchmark | Measure | Value | Baseline (same run) | Ratio | Target | Met |",
            "|---|---|---|---:|---|---:|---|:-:|",
        ]
        for figure in figures {
            let baseline = figure.baseline.map { "\(figure.baselineLabel ?? ""): \($0.formatted3)" } ?? ""
            let ratio = figure.ratio.map { $0.isNaN ? "" : String(format: "%.2f", $0) } ?? ""
            let met = figure.met.map { $0 ? "yes" : "**no**" } ?? ""
            var value = "\(figure.value.formatted3) \(figure.unit)"
            if let note = figure.note { value += " (\(note))" }
            lines.append(
                "| `\(figure.id)` | \(figure.benchmark) | \(figure.measure) | \(value) | \(baseline) | \(ratio) | \(figure.target ?? "") | \(met) |"
            )
        }
        if !notes.isEmpty {
            lines.append("")
            lines += notes.map { "- \($0)" }
        }
        return lines.joined(separator: "\n")
    }

    func load(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "?" }

    static func today() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date())
    }

    static func machine() -> String {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let gib = Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30)
        return "Linux, \(cores) cores, \(String(format: "%.0f", gib)) GiB"
    }
}
