import Foundation
import Testing

/// `SyncProtocol/api.openapi.json`, checked against every response the API tests receive: the status must be
/// documented for the operation, and a JSON body must match the documented schema, with no undocumented members.
/// Immutable once loaded, so it is shared across tests (`@unchecked`: JSON values are `Any`).
struct APIContract: @unchecked Sendable {
    static let shared = APIContract()

    let document: [String: Any]

    init() {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("SyncProtocol/api.openapi.json")
        let data = try! Data(contentsOf: url)
        document = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// The problems with one response; empty when it matches the document.
    func problems(method: String, path: String, status: Int, body: Data) -> [String] {
        let route = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
        guard let (template, item) = pathItem(for: route) else { return ["\(route) is not in the document"] }
        guard let operation = item[method.lowercased()] as? [String: Any] else {
            return ["\(method) \(template) is not in the document"]
        }
        let responses = operation["responses"] as? [String: Any] ?? [:]
        guard var response = responses["\(status)"] as? [String: Any] else {
            return ["\(method) \(template) does not document status \(status)"]
        }
        if let reference = response["$ref"] as? String { response = resolve(reference) }
        guard let content = response["content"] as? [String: Any],
            let json = content["application/json"] as? [String: Any], let schema = json["schema"] as? [String: Any]
        else { return body.isEmpty ? [] : ["\(method) \(template) \(status) documents no body"] }
        guard let value = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) else {
            return ["\(method) \(template) \(status): body is not JSON"]
        }
        var found: [String] = []
        validate(value, schema, at: "\(method) \(template) \(status) $", &found)
        return found
    }

    /// The template that matches `path`: literal segments before parameters.
    func pathItem(for path: String) -> (String, [String: Any])? {
        let paths = document["paths"] as? [String: Any] ?? [:]
        let segments = path.split(separator: "/")
        let matches = paths.keys.filter { template in
            let parts = template.split(separator: "/")
            return parts.count == segments.count
                && zip(parts, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }
        let best = matches.min { a, b in a.filter { $0 == "{" }.count < b.filter { $0 == "{" }.count }
        return best.map { ($0, paths[$0] as? [String: Any] ?? [:]) }
    }

    func resolve(_ reference: String) -> [String: Any] {
        var node: Any = document
        for part in reference.dropFirst(2).split(separator: "/") {
            node = (node as? [String: Any])?[String(part)] ?? [:]
        }
        return node as? [String: Any] ?? [:]
    }

    func validate(_ value: Any, _ schema: [String: Any], at path: String, _ found: inout [String]) {
        if let reference = schema["$ref"] as? String {
            validate(value, resolve(reference), at: path, &found)
            return
        }
        if let choices = schema["enum"] as? [String], !choices.contains(value as? String ?? "\u{0}") {
            found.append("\(path): \(value) is not one of \(choices)")
        }
        switch schema["type"] as? String {
        case "object":
            guard let object = value as? [String: Any] else { return found.append("\(path): not an object") }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for key in schema["required"] as? [String] ?? [] where object[key] == nil {
                found.append("\(path): missing \(key)")
            }
            let additional = schema["additionalProperties"] as? [String: Any]
            for (key, member) in object {
                if let property = properties[key] as? [String: Any] {
                    validate(member, property, at: "\(path).\(key)", &found)
                } else if let additional {
                    validate(member, additional, at: "\(path).\(key)", &found)
                } else {
                    found.append("\(path): \(key) is not documented")
                }
            }
        case "array":
            guard let array = value as? [Any] else { return found.append("\(path): not an array") }
            let items = schema["items"] as? [String: Any] ?? [:]
            for (index, element) in array.enumerated() { validate(element, items, at: "\(path)[\(index)]", &found) }
        case "string":
            guard let text = value as? String else { return found.append("\(path): not a string") }
            if let pattern = schema["pattern"] as? String, text.range(of: pattern, options: .regularExpression) == nil {
                found.append("\(path): '\(text)' does not match \(pattern)")
            }
        case "integer":
            guard value is Int, !Self.isBoolean(value) else { return found.append("\(path): not an integer") }
        case "boolean":
            guard Self.isBoolean(value) else { return found.append("\(path): not a boolean") }
        default: break
        }
    }
}

extension APIContract {
    /// JSONSerialization gives `true` and `1` as NSNumbers that both cast to Bool and Int; only a boolean's class
    /// says which it was.
    static func isBoolean(_ value: Any) -> Bool {
        String(describing: type(of: value)).contains("Boolean") || type(of: value) == Bool.self
    }
}

extension HQHarness {
    /// An API request whose answer is checked against the OpenAPI document (an issue is recorded if it differs).
    func api(
        _ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (status: Int, body: Data) {
        let answer = try await request(method, path, body: body, headers: headers)
        for problem in APIContract.shared.problems(method: method, path: path, status: answer.status, body: answer.body)
        {
            Issue.record(
                "the API differs from SyncProtocol/api.openapi.json: \(problem)", sourceLocation: sourceLocation)
        }
        return answer
    }
}
