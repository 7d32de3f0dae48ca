import AsyncHTTPClient
import Foundation
import NIOCore
import ShopfloorDomain
import ShopfloorReplication
import ShopfloorSimulator
import ShopfloorStore
import Testing

/// The compact encoding of batches (PROTOCOL.md §19): the examples' exact bytes, round trips, refusals of every
/// malformed form, and a real HQ speaking it on push and pull.
@Suite struct BatchEncodingTests {
    static func hex(_ file: String) throws -> [UInt8] {
        let text = try String(
            contentsOf: Conformance.folder.appendingPathComponent("examples/\(file)"), encoding: .utf8
        ).filter { !$0.isWhitespace }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    static func example<T: Decodable>(_ type: T.Type, _ file: String) throws -> T {
        try JSONDecoder().decode(
            T.self, from: Data(contentsOf: Conformance.folder.appendingPathComponent("examples/\(file)")))
    }

    /// The examples' bytes were written by an independent encoder from the text of §19; Swift must agree both ways.
    @Test func examplesHaveTheSpecifiedBytes() throws {
        let push = try Self.example(PushRequest.self, "push-request.json")
        let pushBytes = try Self.hex("push-request.batch.hex")
        #expect(BatchEncoding.encode(push) == pushBytes)
        let decodedPush = try BatchEncoding.decodePush(pushBytes)
        #expect(decodedPush.replica == push.replica && decodedPush.operations == push.operations)

        let pull = try Self.example(PullResponse.self, "pull-response.json")
        let pullBytes = try Self.hex("pull-response.batch.hex")
        #expect(BatchEncoding.encode(pull) == pullBytes)
        let decodedPull = try BatchEncoding.decodePull(pullBytes)
        #expect(decodedPull.operations == pull.operations && decodedPull.sequenced == pull.sequenced)
        #expect(decodedPull.last == pull.last && decodedPull.more == pull.more && decodedPull.vector == pull.vector)
    }

    /// Generated batches with contexts that grow, shrink and jump, payloads with any Unicode, and large integers.
    static func generated(_ seed: UInt64, count: Int) -> [ShopOperation] {
        var random = SplitMix64(seed: seed)
        let replicas = (0..<6).map { "r\($0)" }
        var context: [String: UInt64] = [:]
        return (0..<count).map { index in
            for replica in replicas where random.next() % 3 == 0 {
                context[replica] = random.next() % 4 == 0 ? nil : random.next() % (UInt64(Int64.max) + 1)
            }
            let payload = String((0..<Int(random.next() % 40)).map { _ in Character(Self.scalar(&random)) })
            return ShopOperation(
                id: OperationID(replica: replicas[Int(random.next() % 6)], counter: UInt64(index + 1)),
                lamport: random.next() % UInt64(Int64.max) + 1, context: VersionVector(context),
                timestamp: "2026-03-01T08:00:0\(index % 10).000Z", date: "2026-03-0\(index % 9 + 1)",
                kind: ["receipt.add", "order.create", "x"][Int(random.next() % 3)], payload: payload,
                schema: Int(random.next() % 3), seq: random.next() % 2 == 0 ? nil : UInt64(index + 1))
        }
    }

    static func scalar(_ random: inout SplitMix64) -> Unicode.Scalar {
        let candidates: [UInt32] = [0x22, 0x5C, 0x41, 0x0A, 0xE9, 0x4E2D, 0x1F600, 0x00]
        return Unicode.Scalar(candidates[Int(random.next() % UInt64(candidates.count))])!
    }

    @Test(arguments: 0..<20) func roundTrip(_ seed: Int) throws {
        let operations = Self.generated(UInt64(seed), count: seed * 7)
        let push = PushRequest(replica: "r\(seed % 6)", operations: operations)
        let decoded = try BatchEncoding.decodePush(BatchEncoding.encode(push))
        #expect(decoded.replica == push.replica && decoded.operations == push.operations)

        let page = PullResponse(
            operations: operations,
            sequenced: operations.prefix(5).map { Assignment(id: $0.id, seq: $0.id.counter + UInt64(Int64.max) / 2) },
            last: UInt64(Int64.max), more: seed % 2 == 0, vector: operations.last?.context ?? VersionVector())
        let pulled = try BatchEncoding.decodePull(BatchEncoding.encode(page))
        #expect(pulled.operations == page.operations && pulled.sequenced == page.sequenced)
        #expect(pulled.last == page.last && pulled.more == page.more && pulled.vector == page.vector)
    }

    /// Every cut of a batch, and every batch with one byte changed, is refused or read: never a crash.
    @Test func truncationsAndFlipsNeverCrash() throws {
        let bytes = BatchEncoding.encode(PushRequest(replica: "r1", operations: Self.generated(7, count: 12)))
        for end in 0..<bytes.count {
            #expect(throws: BatchDecodingError.self) { try BatchEncoding.decodePush(bytes[0..<end]) }
        }
        var random = SplitMix64(seed: 99)
        for _ in 0..<2_000 {
            var changed = bytes
            changed[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
            _ = try? BatchEncoding.decodePush(changed)
        }
    }

    @Test func malformedFormsNameTheField() throws {
        func refusal(_ bytes: [UInt8]) -> String {
            do {
                _ = try BatchEncoding.decodePush(bytes)
                return "decoded"
            } catch { return error.description }
        }
        let head: [UInt8] = [0x53, 0x46, 0x42, 0x01, 0x01]
        #expect(refusal([0x7B, 0x7D]).contains("not a batch"))
        #expect(refusal([0x53, 0x46, 0x42, 0x02, 0x01]).contains("not a batch"))
        #expect(refusal(head.dropLast() + [0x02]).contains("message type 2"))
        // One string "r", replica = string 0, then a count written in two bytes where one would do.
        let table = head + [0x01, 0x01, 0x72, 0x00]
        #expect(refusal(table + [0x80, 0x00]).contains("operations: not in its shortest form"))
        // 2^63, past what HQ stores.
        #expect(
            refusal(table + [0x01, 0x00] + [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
                .contains("operations[0].id.counter: past 9223372036854775807"))
        #expect(refusal(head + [0x01, 0x01, 0x72, 0x05]).contains("replica: string 5 of a table of 1"))
        #expect(refusal(head + [0x01, 0x05, 0x72]).contains("strings[0]: 5 bytes, past the end"))
        #expect(refusal(head + [0x01, 0x01, 0xFF, 0x00, 0x00]).contains("strings[0]: not UTF-8"))
        #expect(refusal(table + [0x00, 0x00]).contains("1 bytes after the end"))
        #expect(refusal(table + [0x7F]).contains("operations: 127 entries cannot fit"))
        #expect(refusal(table + [0x00]) == "decoded")
    }

    /// A real HQ on 127.0.0.1: a batch push stores what the JSON push would, a malformed one changes nothing, and a
    /// pull that accepts batches gets the same page as JSON, in fewer bytes.
    @Test func hqSpeaksBatchesOnPushAndPull() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let device = try Replica.create(
                at: dir.path("d.sqlite"), name: "floor1", id: "floor1",
                configuration: ReplicaConfiguration(durable: false))
            try seedCatalog(device)
            let credentials = try hq.server.registry.add(name: "floor-1", hq: hq.url)
            let operations = try device.operations(authoredBy: "floor1", after: 0, limit: 100)
            func post(
                _ path: String, _ body: [UInt8], contentType: String, accept: String? = nil
            ) async throws -> (
                status: Int, contentType: String?, body: Data
            ) {
                var request = HTTPClientRequest(url: hq.url + path)
                request.method = .POST
                request.headers.add(name: "Shopfloor-Protocol", value: "1")
                request.headers.add(
                    name: "Authorization", value: HQHarness.basic(credentials.deviceID, credentials.secret))
                request.headers.add(name: "Content-Type", value: contentType)
                if let accept { request.headers.add(name: "Accept", value: accept) }
                request.body = .bytes(ByteBuffer(bytes: body))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                let bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
                return (Int(response.status.code), response.headers.first(name: "Content-Type"), Data(buffer: bytes))
            }

            let digest = try hq.replica.digest()
            let batch = BatchEncoding.encode(PushRequest(replica: "floor1", operations: operations))
            let cut = try await post("/v1/push", Array(batch.dropLast()), contentType: BatchEncoding.contentType)
            #expect(cut.status == 400)
            let error = try JSONDecoder().decode(ErrorResponse.self, from: cut.body)
            #expect(error.error.code == "malformed_body")
            #expect(error.error.message.contains("not a valid batch"), "\(error.error.message)")
            #expect(try hq.replica.digest() == digest && hq.replica.versionVector.total == 0)

            let pushed = try await post("/v1/push", batch, contentType: BatchEncoding.contentType)
            #expect(pushed.status == 200)
            let results = try JSONDecoder().decode(PushResponse.self, from: pushed.body).results
            #expect(results.count == operations.count && results.allSatisfy { $0.status == .accepted })
            #expect(hq.replica.versionVector["floor1"] == UInt64(operations.count))

            let pull = try JSONEncoder().encode(PullRequest(vector: VersionVector(), limit: 100, after: 0))
            let json = try await post("/v1/pull", Array(pull), contentType: "application/json")
            let compact = try await post(
                "/v1/pull", Array(pull), contentType: "application/json", accept: BatchEncoding.contentType)
            #expect(json.contentType == "application/json")
            #expect(compact.contentType == BatchEncoding.contentType)
            let fromJSON = try JSONDecoder().decode(PullResponse.self, from: json.body)
            let fromBatch = try BatchEncoding.decodePull(compact.body)
            #expect(fromBatch.operations == fromJSON.operations && fromBatch.operations.count == operations.count)
            #expect(fromBatch.last == fromJSON.last && fromBatch.vector == fromJSON.vector)
            #expect(compact.body.count * 2 < json.body.count, "\(compact.body.count) B against \(json.body.count) B")
        }
    }
}
