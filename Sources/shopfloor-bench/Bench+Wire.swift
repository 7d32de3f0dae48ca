import Foundation
import ShopfloorReplication

extension Bench {
    /// Bytes per receipt in a push batch: the exact body `SyncClient` sends, raw and through /usr/bin/gzip.
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
        for (index, start) in stride(from: 0, to: receipts.count - 499, by: 500).enumerated() {
            let body = try RawPusher.body(replica: device, operations: Array(receipts[start..<start + 500]))
            raw += body.count
            let file = try path("wire/batch-\(index).json")
            try Data(body).write(to: URL(fileURLWithPath: file))
            _ = try await Spawn.runChecked(
                "/usr/bin/gzip", ["-c", "-6", file], stdout: file + ".gz", stderr: file + ".err")
            compressed += (try FileManager.default.attributesOfItem(atPath: file + ".gz")[.size] as? Int) ?? 0
        }
        let count = Double(receipts.count / 500 * 500)
        let contexts = Double(contextBytes) / Double(receipts.count)
        let entries = receipts.last?.context.counters.count ?? 0
        report.add(
            id: "wire.push.bytes", "wire", "push body bytes per receipt, raw JSON", Double(raw) / count, "B",
            baseline: yjs.map { ("Yjs update raw", $0.batchBytesPerReceipt) },
            note: "context of \(entries) entries is \(contexts.formatted3) B of it")
        let gzip = Double(compressed) / count
        let yjsGzip = yjs?.batchGzipBytesPerReceipt
        report.add(
            id: "wire.push.bytes.gzip", "wire", "push body bytes per receipt, gzip -6", gzip, "B",
            baseline: yjsGzip.map { ("Yjs update gzip", $0) }, target: "≤ Yjs gzip",
            met: yjsGzip.map { gzip <= $0 })
    }
}
