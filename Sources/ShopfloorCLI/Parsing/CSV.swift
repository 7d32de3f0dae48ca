/// One CSV record and the line it starts on (1-based), for error messages.
struct CSVRecord: Equatable {
    var line: Int
    var fields: [String]
}

/// Why a CSV text could not be read.
struct CSVError: Error, Equatable, CustomStringConvertible {
    var line: Int
    var reason: String

    var description: String { "line \(line): \(reason)" }
}

/// A small RFC 4180 reader: comma-separated fields, quoted fields may hold commas, line breaks and doubled
/// quotes (`""`). Unquoted fields are trimmed of spaces and tabs; blank lines are skipped; CRLF, LF and CR all
/// end a record.
enum CSV {
    /// A bound on the records one file may hold.
    static let recordsMax = 100_000

    static func parse(_ text: String) throws(CSVError) -> [CSVRecord] {
        var records: [CSVRecord] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var inQuotes = false
        var afterClosingQuote = false
        var line = 1
        var recordLine = 1

        func endField() {
            fields.append(quoted ? field : field.trimmingSpaces())
            field = ""
            quoted = false
            afterClosingQuote = false
        }
        func endRecord() throws(CSVError) {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) {
                guard records.count < recordsMax else {
                    throw CSVError(line: recordLine, reason: "more than \(recordsMax) records; split the file")
                }
                records.append(CSVRecord(line: recordLine, fields: fields))
            }
            fields = []
        }

        var characters = Substring(text)
        if characters.first == "\u{FEFF}" { characters = characters.dropFirst() }
        var index = characters.startIndex
        while index < characters.endIndex {
            let character = characters[index]
            index = characters.index(after: index)
            let isNewline = character == "\n" || character == "\r\n" || character == "\r"
            if inQuotes {
                if character == "\"" {
                    if index < characters.endIndex, characters[index] == "\"" {
                        field.append("\"")
                        index = characters.index(after: index)
                    } else {
                        inQuotes = false
                        afterClosingQuote = true
                    }
                } else {
                    if isNewline { line += 1 }
                    field.append(character)
                }
            } else if character == "," {
                endField()
            } else if isNewline {
                try endRecord()
                line += 1
                recordLine = line
            } else if afterClosingQuote {
                guard character == " " || character == "\t" else {
                    throw CSVError(line: line, reason: "text after a closing quote; quote the whole field")
                }
            } else if character == "\"" {
                guard field.trimmingSpaces().isEmpty else {
                    throw CSVError(
                        line: line, reason: "a quote inside an unquoted field; quote the field and double it")
                }
                field = ""
                quoted = true
                inQuotes = true
            } else {
                field.append(character)
            }
        }
        if inQuotes { throw CSVError(line: recordLine, reason: "unterminated quoted field") }
        try endRecord()
        return records
    }
}

extension String {
    func trimmingSpaces() -> String {
        var result = Substring(self)
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return String(result)
    }
}
