import Foundation

/// Where user-facing text goes: results to standard output, diagnostics to standard error.
struct Output {
    let json: Bool

    /// Writes `text` and a newline to standard output.
    static func standardOutput(_ text: String) {
        write(text, to: .standardOutput)
    }

    /// Writes `text` and a newline to standard error.
    static func standardError(_ text: String) {
        write(text, to: .standardError)
    }

    private static func write(_ text: String, to handle: FileHandle) {
        let line = text.hasSuffix("\n") ? text : text + "\n"
        handle.write(Data(line.utf8))
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Prints `value` as JSON.
    func emit(_ value: some Encodable) throws {
        Self.standardOutput(String(decoding: try Self.encoder().encode(value), as: UTF8.self))
    }

    /// Prints a line of human text.
    func line(_ text: String) {
        Self.standardOutput(text)
    }

    /// Prints `value` as JSON when `--json` was given, otherwise the human text.
    func show(_ value: some Encodable, human: () -> String) throws {
        if json { try emit(value) } else { line(human()) }
    }
}
