import Foundation
import ShopfloorHQ
import ShopfloorReplication
import ShopfloorStore
import ShopfloorSync
import Testing

/// Replays every conformance vector in `SyncProtocol/vectors/` against a real HQ on 127.0.0.1, and checks that
/// every example in `SyncProtocol/examples/` is exactly what the Swift wire types read and write.
/// The vector format is described in `SyncProtocol/vectors/preamble.json` and in PROTOCOL.md.
@Suite struct ConformanceTests {
    @Test(arguments: Conformance.vectorNames)
    func vector(_ name: String) async throws {
        let preamble = try Conformance.preamble()
        let vector = try Conformance.load(name)
        Conformance.checkKeys(vector, name: name)
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let credentials = try hq.server.registry.add(
                name: preamble["device"]["name"].string ?? "floor-1", hq: hq.url)
            let runner = VectorRunner(hq: hq, credentials: credentials, adminSecret: HQHarness.adminSecret)
            if vector["setup"]["bind_device"].bool ?? true {
                let bind = preamble["device"]["bind_request"]
                let answer = try await runner.send(bind)
                #expect(answer.status == 200, "\(name): binding the device to its replica failed: \(answer.text)")
            }
            for (index, step) in (vector["steps"].array ?? []).enumerated() {
                let label = "\(name) step \(index + 1)" + (step["note"].string.map { " (\($0))" } ?? "")
                try await runner.check(step.substituting("{device_id}", with: credentials.deviceID), label: label)
            }
        }
    }

    @Test func vectorFolderIsComplete() throws {
        let names = Conformance.vectorNames
        #expect(names.count >= 16, "expected at least the 16 required vectors, found \(names.count)")
        for required in [
            "push-accepted", "push-duplicate", "push-causal-gap", "push-foreign-author", "push-content-mismatch",
            "push-unknown-kind", "push-batch-too-large", "malformed-json", "missing-fields", "wrong-credentials",
            "revoked-device", "admin-required", "unsupported-protocol", "missing-protocol-header", "pull-pagination",
            "push-all-or-nothing",
        ] {
            #expect(names.contains(required), "missing vector \(required).json")
        }
        for name in names {
            let vector = try Conformance.load(name)
            #expect(vector["name"].string == name, "\(name).json: 'name' must match the file name")
            let description = vector["description"].string ?? ""
            let steps = vector["steps"].array ?? []
            #expect(description.count > 0, "\(name).json: needs a description")
            #expect(steps.count > 0, "\(name).json: needs steps")
        }
        let preamble = try Conformance.preamble()
        #expect(preamble["hq"]["admin_secret"].string == HQHarness.adminSecret)
        #expect(preamble["hq"]["push_operations_max"].int == Int64(Wire.pushOperationsMax))
        #expect(preamble["hq"]["pull_operations_max"].int == Int64(Wire.pullOperationsMax))
        #expect(preamble["hq"]["body_bytes_max"].int == Int64(Wire.bodyBytesMax))
        #expect(preamble["request"]["default_headers"][Wire.versionHeader].string == "\(Wire.protocolVersion)")
    }

    /// Each example decodes into its Swift type and encodes back to the same JSON (no missing or extra fields).
    @Test(arguments: Conformance.exampleNames)
    func example(_ file: String) throws {
        let data = try Data(contentsOf: Conformance.folder.appendingPathComponent("examples/\(file)"))
        let original = try JSONDecoder().decode(JSONValue.self, from: data)
        func roundTrip<T: Codable>(_ type: T.Type) throws -> T {
            let value = try JSONDecoder().decode(T.self, from: data)
            let again = try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(value))
            #expect(again == original, "\(file) does not round-trip through \(T.self)")
            return value
        }
        switch file {
        case "push-request.json", "push-refused-request.json":
            let push = try roundTrip(PushRequest.self)
            for op in push.operations {
                let command = try op.command()
                #expect(OperationKind.encode(command).1 == op.payload, "\(file): \(op.id)'s payload is not canonical")
            }
        case "push-response.json": _ = try roundTrip(PushResponse.self)
        case "push-refused-response.json", "error-response.json": _ = try roundTrip(ErrorResponse.self)
        case "pull-request.json": _ = try roundTrip(PullRequest.self)
        case "pull-response.json":
            let pull = try roundTrip(PullResponse.self)
            for op in pull.operations { _ = try op.command() }
        case "digest-response.json": _ = try roundTrip(DigestResponse.self)
        case "health-response.json": _ = try roundTrip(HealthResponse.self)
        case "device-add-request.json": _ = try roundTrip(Conformance.NewDevice.self)
        case "device-credentials.json":
            let credentials = try roundTrip(DeviceCredentials.self)
            let token = try SyncSettings.decodeToken(credentials.token)
            #expect(token.deviceID == credentials.deviceID && token.secret == credentials.secret)
        case "enrolment-token.json": _ = try roundTrip(EnrolmentToken.self)
        case "device-list-response.json": _ = try roundTrip(Conformance.DeviceList.self)
        case "device-revoke-response.json": _ = try roundTrip(Conformance.Revoked.self)
        case "conflicts-response.json": _ = try roundTrip(Conformance.ConflictList.self)
        case "conflict-ack-request.json": _ = try roundTrip(Conformance.AckRequest.self)
        case "conflict-ack-response.json": _ = try roundTrip(Conformance.AckResponse.self)
        default: Issue.record("examples/\(file) has no Swift type in ConformanceTests.example: add one")
        }
    }
}

/// Loading and expanding the files of `SyncProtocol/`.
enum Conformance {
    /// `SyncProtocol/`, found from this file: Tests/ShopfloorSyncTests/ConformanceTests.swift → package root.
    static let folder: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("SyncProtocol")

    static func files(in subfolder: String) -> [String] {
        let names =
            (try? FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent(subfolder).path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted()
    }

    static let vectorNames: [String] = files(in: "vectors").filter { $0 != "preamble.json" }
        .map { String($0.dropLast(".json".count)) }
    static let exampleNames: [String] = files(in: "examples")

    static func read(_ path: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: folder.appendingPathComponent(path)))
    }

    static func preamble() throws -> JSONValue { try read("vectors/preamble.json") }

    /// A vector with its `$repeat` templates expanded.
    static func load(_ name: String) throws -> JSONValue { try read("vectors/\(name).json").expanded() }

    static let allowedKeys: [String: Set<String>] = [
        "vector": ["name", "description", "setup", "steps"],
        "setup": ["bind_device"],
        "step": ["note", "request", "expect"],
        "request": ["method", "path", "auth", "headers", "body"],
        "expect": [
            "status", "error_code", "results", "operation_ids", "more", "vector", "body_contains", "digest_unchanged",
            "hq_operations",
        ],
        "result": ["id", "status", "code"],
    ]

    /// A misspelt key would silently weaken a vector: refuse every key the format does not define.
    static func checkKeys(_ vector: JSONValue, name: String) {
        func check(_ value: JSONValue, _ kind: String, _ where_: String) {
            for key in value.object?.keys.sorted() ?? [] where !(allowedKeys[kind]?.contains(key) ?? false) {
                Issue.record("\(name).json: unknown key '\(key)' in \(where_)")
            }
        }
        check(vector, "vector", "the vector")
        check(vector["setup"], "setup", "setup")
        for (index, step) in (vector["steps"].array ?? []).enumerated() {
            check(step, "step", "step \(index + 1)")
            check(step["request"], "request", "step \(index + 1) request")
            check(step["expect"], "expect", "step \(index + 1) expect")
            for result in step["expect"]["results"].array ?? [] { check(result, "result", "step \(index + 1) results") }
            if step["expect"]["status"].int == nil {
                Issue.record("\(name).json: step \(index + 1) has no expect.status")
            }
        }
    }

    struct NewDevice: Codable { var name: String }
    struct ConflictList: Codable {
        struct BoundaryRefusal: Codable {
            var operation: String
            var device: String
            var code: String
            var message: String
            var fingerprint: String
            var count: Int
            var at: String
        }
        var conflicts: [ConflictRow]
        var boundary: [BoundaryRefusal]
    }
    struct AckRequest: Codable { var note: String? }
    struct AckResponse: Codable {
        var conflict: String
        var operation: String
    }
    struct DeviceList: Codable { var devices: [DeviceStatus] }
    struct Revoked: Codable {
        var deviceID: String
        var revoked: Bool
        enum CodingKeys: String, CodingKey {
            case deviceID = "device_id"
            case revoked
        }
    }
}

/// Sends a vector's requests to a live HQ and checks the answers.
struct VectorRunner {
    let hq: HQHarness
    let credentials: DeviceCredentials
    let adminSecret: String

    struct Answer {
        var status: Int
        var data: Data
        var text: String { String(decoding: data.prefix(2000), as: UTF8.self) }
        var json: JSONValue? { data.isEmpty ? nil : try? JSONDecoder().decode(JSONValue.self, from: data) }
    }

    func send(_ request: JSONValue) async throws -> Answer {
        var headers = [Wire.versionHeader: "\(Wire.protocolVersion)"]
        switch request["auth"].string ?? "none" {
        case "device": headers["Authorization"] = HQHarness.basic(credentials.deviceID, credentials.secret)
        case "admin": headers["Authorization"] = "Bearer \(adminSecret)"
        case "wrong": headers["Authorization"] = HQHarness.basic(credentials.deviceID, "wrong-secret")
        case "unknown": headers["Authorization"] = HQHarness.basic("dev-unknown", credentials.secret)
        case "none": break
        case let other: Issue.record("unknown auth '\(other)'")
        }
        var body: Data?
        switch request["body"] {
        case .absent: body = nil
        case .string(let raw): body = Data(raw.utf8)
        case let value:
            body = try value.encoded()
            headers["Content-Type"] = "application/json"
        }
        for (name, value) in request["headers"].object ?? [:] {
            // Header names are case-insensitive: a vector's header replaces any default of the same name.
            for existing in headers.keys where existing.lowercased() == name.lowercased() { headers[existing] = nil }
            if let value = value.string { headers[name] = value }
        }
        let (status, data) = try await hq.request(
            request["method"].string ?? "GET", request["path"].string ?? "/", body: body, headers: headers)
        return Answer(status: status, data: data)
    }

    func check(_ step: JSONValue, label: String) async throws {
        let request = step["request"]
        let expect = step["expect"]
        let digestBefore = try hq.replica.digest()
        let answer = try await send(request)
        let digestAfter = try hq.replica.digest()
        let body = answer.json

        #expect(answer.status == expect["status"].int.map(Int.init), "\(label): status; body: \(answer.text)")
        let method = request["method"].string ?? "GET"
        let path = request["path"].string ?? "/"
        checkWireType(answer, method: method, path: path, label: label)

        if let code = expect["error_code"].string {
            #expect(body?["error"]["code"].string == code, "\(label): error code; body: \(answer.text)")
            let message = body?["error"]["message"].string ?? ""
            #expect(message.count > 0, "\(label): an error needs a message")
        } else if (200..<300).contains(answer.status) {
            #expect(body?["error"] == JSONValue.absent, "\(label): a success carries no error")
        }

        if let expected = expect["results"].array {
            let actual = body?["results"].array ?? []
            #expect(actual.count == expected.count, "\(label): \(actual.count) results, expected \(expected.count)")
            for (index, (want, got)) in zip(expected, actual).enumerated() {
                #expect(got["id"] == want["id"], "\(label): result \(index) id")
                #expect(got["status"] == want["status"], "\(label): result \(index) (\(got["id"])) status")
                #expect(got["code"] == want["code"], "\(label): result \(index) (\(got["id"])) code")
                if got["status"].string == "refused" {
                    let message = got["message"].string ?? ""
                    #expect(message.count > 0, "\(label): a refusal needs a message")
                }
            }
        } else if answer.status >= 400, body != nil {
            #expect(body?["results"] == JSONValue.absent, "\(label): this error carries no per-operation results")
        }

        if let expected = expect["operation_ids"].array {
            let ids = (body?["operations"].array ?? []).map { op in
                JSONValue.string("\(op["id"]["replica"].string ?? "?"):\(op["id"]["counter"].int ?? -1)")
            }
            #expect(ids == expected, "\(label): pulled operations")
        }
        if expect["more"] != .absent { #expect(body?["more"] == expect["more"], "\(label): more") }
        if expect["vector"] != .absent { #expect(body?["vector"] == expect["vector"], "\(label): HQ's vector") }
        if expect["body_contains"] != .absent {
            #expect(
                body.map { $0.contains(expect["body_contains"]) } ?? false,
                "\(label): body lacks \(expect["body_contains"]); body: \(answer.text)")
        }
        if let unchanged = expect["digest_unchanged"].bool {
            #expect(
                (digestBefore == digestAfter) == unchanged, "\(label): digest should \(unchanged ? "not " : "")change")
        }
        if let count = expect["hq_operations"].int {
            #expect(hq.replica.operationCount == Int(count), "\(label): operations held by HQ")
        }
    }

    /// Every answer must be readable as the Swift type the protocol names for it.
    func checkWireType(_ answer: Answer, method: String, path: String, label: String) {
        func readable<T: Decodable>(_ type: T.Type) {
            #expect(
                (try? JSONDecoder().decode(T.self, from: answer.data)) != nil,
                "\(label): the body is not a \(T.self): \(answer.text)")
        }
        if answer.status >= 400 {
            if !answer.data.isEmpty || answer.status != 404 { readable(ErrorResponse.self) }
            return
        }
        let route = path.split(separator: "?").first.map(String.init) ?? path
        switch (method, route) {
        case ("GET", "/v1/conflicts"): readable(Conformance.ConflictList.self)
        case ("POST", _) where route.hasPrefix("/v1/conflicts/"): readable(Conformance.AckResponse.self)
        case ("POST", "/v1/push"): readable(PushResponse.self)
        case ("POST", "/v1/pull"): readable(PullResponse.self)
        case ("GET", "/v1/digest"): readable(DigestResponse.self)
        case ("GET", "/health"): readable(HealthResponse.self)
        case ("GET", "/v1/devices"): readable(Conformance.DeviceList.self)
        case ("POST", "/v1/devices"): readable(DeviceCredentials.self)
        case ("DELETE", _): readable(Conformance.Revoked.self)
        default: Issue.record("\(label): no wire type known for \(method) \(path)")
        }
    }
}

/// Any JSON value, with integers kept exact and a distinct `absent` for a missing member.
enum JSONValue: Codable, Hashable, Sendable, CustomStringConvertible {
    case absent
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .absent, .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value.filter { $0.value != .absent })
        }
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    subscript(key: String) -> JSONValue {
        if case .object(let members) = self { return members[key] ?? .absent }
        return .absent
    }

    var string: String? { if case .string(let value) = self { value } else { nil } }
    var int: Int64? { if case .int(let value) = self { value } else { nil } }
    var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    var array: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
    var object: [String: JSONValue]? { if case .object(let value) = self { value } else { nil } }

    var description: String { (try? encoded()).map { String(decoding: $0, as: UTF8.self) } ?? "?" }

    /// Objects match by a subset of their members, arrays element by element (same length), scalars exactly.
    func contains(_ expected: JSONValue) -> Bool {
        switch (self, expected) {
        case (.object(let mine), .object(let wanted)):
            wanted.allSatisfy { key, value in mine[key].map { $0.contains(value) } ?? false }
        case (.array(let mine), .array(let wanted)):
            mine.count == wanted.count && zip(mine, wanted).allSatisfy { $0.contains($1) }
        default: self == expected
        }
    }

    /// `{"$repeat": N, "each": T}` → N copies of T with `$i`, `$i-1` and `${i}` filled in (see preamble.json).
    func expanded() -> JSONValue {
        switch self {
        case .object(let members):
            if case .int(let count)? = members["$repeat"], let template = members["each"] {
                return .array((0..<Int(count)).map { template.instantiated(Int64($0 + 1)).expanded() })
            }
            return .object(members.mapValues { $0.expanded() })
        case .array(let items): return .array(items.map { $0.expanded() })
        default: return self
        }
    }

    func instantiated(_ i: Int64) -> JSONValue {
        switch self {
        case .string("$i"): return .int(i)
        case .string("$i-1"): return .int(i - 1)
        case .string(let text): return .string(text.replacingOccurrences(of: "${i}", with: "\(i)"))
        case .array(let items): return .array(items.map { $0.instantiated(i) })
        case .object(let members):
            var result: [String: JSONValue] = [:]
            for (key, value) in members {
                // A zero counter is never written into a vector: the entry is omitted.
                if value == .string("$i-1"), i == 1 { continue }
                result[key] = value.instantiated(i)
            }
            return .object(result)
        default: return self
        }
    }

    /// Replaces `placeholder` in every string.
    func substituting(_ placeholder: String, with text: String) -> JSONValue {
        switch self {
        case .string(let value): .string(value.replacingOccurrences(of: placeholder, with: text))
        case .array(let items): .array(items.map { $0.substituting(placeholder, with: text) })
        case .object(let members): .object(members.mapValues { $0.substituting(placeholder, with: text) })
        default: self
        }
    }
}
