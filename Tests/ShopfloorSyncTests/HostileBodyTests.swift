import Foundation
import ShopfloorHQ
import ShopfloorReplication
import ShopfloorSimulator
import Testing

/// A bounded property test of HQ's boundary (issue 12): generated hostile bodies go to push and pull of a real
/// `shopfloor-hq serve` process on 127.0.0.1. For each: HQ stays up, a refusal is a 4xx with a documented code and
/// stores nothing, and after them all HQ's digest is what it was.
@Suite struct HostileBodyTests {
    /// The codes PROTOCOL.md §15 (and the OpenAPI document) list.
    static let documentedCodes: Set<String> = [
        "malformed_body", "missing_protocol_version", "unauthorized", "admin_required", "device_revoked",
        "foreign_author", "not_found", "missing_dependency", "content_mismatch", "already_acknowledged",
        "batch_too_large", "request_timeout", "too_many_attempts", "invalid_operation", "unsupported_schema",
        "unknown_kind", "malformed_payload", "unsupported_protocol",
    ]

    static let hostileNumbers = [
        "-1", "0", "1.0", "6.0", "1e3", "-0", "9223372036854775807", "9223372036854775808", "18446744073709551616",
        String(repeating: "9", count: 400), "true", "null", "\"1\"", "[]", "{}",
    ]
    static let hostileStrings = [
        "", " ", "\\u0000", "\\u001b[2J", "\u{202E}x", String(repeating: "A", count: 70),
        String(repeating: "é", count: 300), "dev0:1", "..", "a\\\"b", "\\ud800",
    ]

    /// A valid push body of `count` location.add operations for dev0, as JSON text.
    static func validPush(count: Int) -> String {
        let ops = (1...count).map { counter in
            let context = counter == 1 ? "{}" : "{\"dev0\":\(counter - 1)}"
            return """
                {"context":\(context),"date":"2026-03-01","id":{"counter":\(counter),"replica":"dev0"},\
                "kind":"location.add","lamport":\(counter),"payload":"{\\"code\\":\\"L\(counter)\\",\\"name\\":\\"\\"}",\
                "schema":1,"timestamp":"2026-03-01T08:00:00.000Z"}
                """
        }
        return "{\"operations\":[\(ops.joined(separator: ","))],\"replica\":\"dev0\"}"
    }

    /// One hostile variant of `body`.
    static func mutate(_ body: String, _ random: inout SplitMix64) -> String {
        var text = body
        switch Int.random(in: 0..<9, using: &random) {
        case 0:
            // A number replaced.
            let numbers = text.matches(of: /[:,\[](-?[0-9]+)[,}\]]/)
            if let target = numbers.randomElement(using: &random) {
                let number = target.output.1
                text.replaceSubrange(
                    number.startIndex..<number.endIndex, with: hostileNumbers.randomElement(using: &random)!)
            }
        case 1:
            // A string value replaced (inside the payload or outside it).
            let strings = text.matches(of: /"(L[0-9]+|dev0|2026-03-01|location\.add)"/)
            if let target = strings.randomElement(using: &random) {
                text.replaceSubrange(target.range, with: "\"\(hostileStrings.randomElement(using: &random)!)\"")
            }
        case 2:
            // Truncated.
            text = String(text.prefix(Int.random(in: 0..<max(1, text.count), using: &random)))
        case 3:
            // A member removed.
            for key in ["\"lamport\":", "\"context\":", "\"replica\":", "\"payload\":", "\"schema\":"].shuffled(
                using: &random)
            where text.contains(key) {
                text = text.replacingOccurrences(of: key, with: "\"x\(Int.random(in: 0..<9, using: &random))\":")
                break
            }
        case 4:
            // Deep nesting.
            let depth = [100, 1_000, 20_000].randomElement(using: &random)!
            text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        case 5:
            // A type changed.
            text = text.replacingOccurrences(of: "\"operations\":[", with: "\"operations\":{\"a\":[")
        case 6:
            // Random bytes.
            text = String(
                (0..<Int.random(in: 1..<200, using: &random)).map { _ in
                    Character(Unicode.Scalar(UInt8.random(in: 32..<127, using: &random)))
                })
        case 7:
            // A non-canonical payload.
            text = text.replacingOccurrences(of: "\\\"name\\\":\\\"\\\"", with: "\\\"name\\\": null")
        default:
            // A duplicated member.
            text = text.replacingOccurrences(of: "\"schema\":1", with: "\"schema\":1,\"schema\":2")
        }
        return text
    }

    static func request(
        _ url: String, _ method: String, _ path: String, body: String?, headers: [String: String]
    ) async throws -> (status: Int, body: String) {
        let answer = try await HQHarness.request(url, method, path, body: body.map { Data($0.utf8) }, headers: headers)
        return (answer.status, String(decoding: answer.body, as: UTF8.self))
    }

    @Test func hostileBodiesLeaveHQUpAndUnchanged() async throws {
        let dir = TempDirectory()
        let hqPath = dir.path("hq.sqlite")
        let add = try await ChildProcess.run(
            Binaries.shopfloorHQ, ["device", "add", "floor-1", "--db", hqPath, "--json"], name: "device-add",
            directory: dir.url.path, timeout: 30)
        let credentials = try JSONDecoder().decode(DeviceCredentials.self, from: Data(add.stdout.utf8))
        let hq = try await HQProcess.start(db: hqPath, directory: dir.url.path, name: "hq")
        let headers = [
            Wire.versionHeader: "\(Wire.protocolVersion)",
            "Authorization": HQHarness.basic(credentials.deviceID, credentials.secret),
        ]
        // Two operations stored first, so mutations meet a bound device and a non-empty log.
        let seed = try await Self.request(hq.url, "POST", "/v1/push", body: Self.validPush(count: 2), headers: headers)
        #expect(seed.status == 200, "\(seed.body)")
        let before = try await FaultTests.remoteDigest(hq.url, credentials: credentials)

        var random = SplitMix64(seed: 12)
        var refused = 0
        for index in 0..<1_000 {
            let push = index % 3 != 2
            // The push base resends what HQ holds (an accepted variant can only be duplicates): any change to HQ's
            // state is a finding.
            let valid = push ? Self.validPush(count: 2) : #"{"after":0,"limit":10,"vector":{"dev0":1}}"#
            let body = Self.mutate(valid, &random)
            let answer = try await Self.request(
                hq.url, "POST", push ? "/v1/push" : "/v1/pull", body: body, headers: headers)
            #expect(hq.child.isRunning, "HQ stopped after body \(index): \(body.prefix(300))")
            guard hq.child.isRunning else { break }
            #expect(answer.status < 500, "body \(index) → \(answer.status): \(body.prefix(300)) → \(answer.body)")
            if answer.status >= 400 {
                refused += 1
                let code = (try? JSONDecoder().decode(ErrorResponse.self, from: Data(answer.body.utf8)))?.error.code
                #expect(
                    code.map(Self.documentedCodes.contains) == true,
                    "body \(index) → \(answer.status) \(code ?? "no code"): \(body.prefix(300))")
            }
            if push {
                let held = try await FaultTests.remoteDigest(hq.url, credentials: credentials).operations
                #expect(held == 2, "body \(index) → \(answer.status) stored something: \(body.prefix(300))")
            }
        }
        #expect(refused > 500, "only \(refused) of 1,000 bodies were refused: the mutations are too mild")
        let health = try await Self.request(hq.url, "GET", "/health", body: nil, headers: [:])
        #expect(health.status == 200)
        let after = try await FaultTests.remoteDigest(hq.url, credentials: credentials)
        #expect(after.digest == before.digest)
        #expect(after.operations == 2)
        hq.child.send(SIGTERM)
        _ = try await hq.child.waitForExit(timeout: 10)
    }
}
