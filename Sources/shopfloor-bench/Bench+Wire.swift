import Foundation
import ShopfloorReplication

extension Bench {
    /// Bytes per receipt in a push batch: the exact body `SyncClient` sends (the compact encoding), raw and through
    /// /usr/bin/gzip, beside the same batch in JSON.
    func wire() async throws {
        Progress.say("wire: push bodies of 500 receipts")
        var history = SharedHistory(base: base)
        _ = history.next(8 * 600)  // past the first sync: contexts name every device
        let device = history.devices[0].author.id
        var receipts: [ShopOperation] = []
        var contextBytes = 0
        let target = plan.wireBatches * 500
        for _ in 0..<(target * 8 * 2) where receipts.count < target {
            for op in history.next(8) where op.id.replica == device && op.kind == OperationKind.addReceipt.rawValue {
                receipts.append(op)
                contextBytes += (try JSONEncoder().encode(op.context)).count
            }
        }
        var raw = 0
        var compressed = 0
        var json = 0
        var jsonCompressed = 0
        func gzipped(_ body: [UInt8], _ name: String) async throws -> Int {
            let file = try path("wire/\(name)")
            try Data(body).write(to: URL(fileURLWithPath: file))
            _ = try await Spawn.runChecked(
                "/usr/bin/gzip", ["-c", "-6", file], stdout: file + ".gz", stderr: file + ".err")
            return (try FileManager.default.attributesOfItem(atPath: file + ".gz")[.size] as? Int) ?? 0
        }
        for (index, start) in stride(from: 0, to: receipts.count - 499, by: 500).enumerated() {
            let batch = Array(receipts[start..<start + 500])
            let body = RawPusher.body(replica: device, operations: batch)
            raw += body.count
            compressed += try await gzipped(body, "batch-\(index).bin")
            let jsonBody = try RawPusher.jsonBody(replica: device, operations: batch)
            json += jsonBody.count
            jsonCompressed += try await gzipped(jsonBody, "batch-\(index).json")
        }
        let count = Double(receipts.count / 500 * 500)
        let contexts = Double(contextBytes) / Double(receipts.count)
        let entries = receipts.last?.context.counters.count ?? 0
        let yjsRaw = yjs?.batchBytesPerReceipt
        report.add(
            id: "wire.push.bytes", "wire", "push body bytes per receipt, compact encoding (what devices send)",
            Double(raw) / count, "B", baseline: yjsRaw.map { ("Yjs update raw", $0) }, target: "≤ Yjs raw",
            met: yjsRaw.map { Double(raw) / count <= $0 })
        let gzip = Double(compressed) / count
        let yjsGzip = yjs?.batchGzipBytesPerReceipt
        report.add(
            id: "wire.push.bytes.gzip", "wire", "push body bytes per receipt, compact encoding, gzip -6", gzip, "B",
            baseline: yjsGzip.map { ("Yjs update gzip", $0) }, target: "≤ Yjs gzip",
            met: yjsGzip.map { gzip <= $0 })
        report.add(
            id: "wire.push.bytes.json", "wire", "push body bytes per receipt, JSON", Double(json) / count, "B",
            note: "\((Double(jsonCompressed) / count).formatted3) B with gzip -6; the context of \(entries) entries is "
                + "\(contexts.formatted3) B of it")
    }
}
