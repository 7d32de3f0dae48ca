import Foundation
import ShopfloorDomain
import ShopfloorReplication

/// What the Yjs peer measured.
struct PeerResult: Sendable, Codable {
    var receipts: Int
    var replicas: Int
    var mergeSeconds: Double
    var mergeRate: Double
    var batchBytesPerReceipt: Double
    var batchGzipBytesPerReceipt: Double
    var documentBytesPerReceipt: Double
    var documentGzipBytesPerReceipt: Double
    var version: String

    enum CodingKeys: String, CodingKey {
        case receipts, replicas, version
        case mergeSeconds = "merge_seconds"
        case mergeRate = "merge_rate"
        case batchBytesPerReceipt = "batch_bytes_per_receipt"
        case batchGzipBytesPerReceipt = "batch_gzip_bytes_per_receipt"
        case documentBytesPerReceipt = "document_bytes_per_receipt"
        case documentGzipBytesPerReceipt = "document_gzip_bytes_per_receipt"
    }
}

extension Bench {
    /// Yjs (pycrdt) as the peer: the same receipt payloads as maps authored on 8 replicas, merged at one.
    func peer() async throws {
        Progress.say("peer: Yjs via pycrdt, \(plan.peerReceipts.formatted3) receipts on 8 replicas")
        guard FileManager.default.isExecutableFile(atPath: python) else {
            report.unavailable("peer", reason: "no Python with pycrdt at \(python); tools/bench creates .bench-venv")
            return
        }
        guard FileManager.default.fileExists(atPath: yjsScript) else {
            report.unavailable("peer", reason: "no script at \(yjsScript)")
            return
        }
        // The receipts 8 devices record, as their canonical JSON payloads.
        var payloads: [[String]] = []
        for device in 1...8 {
            var activity = FloorActivity(
                author: "dev\(pad(device, 5))", workload: workload, seed: 7000 + UInt64(device))
            var receipts: [String] = []
            for _ in 0..<(plan.peerReceipts / 8 * 3) where receipts.count < plan.peerReceipts / 8 {
                let command = activity.next()
                if case .addReceipt = command { receipts.append(OperationKind.encode(command).1) }
            }
            payloads.append(receipts)
        }
        let input = try path("peer/receipts.json")
        try JSONEncoder().encode(payloads).write(to: URL(fileURLWithPath: input))
        let output = try path("peer/result.json")
        let errors = try path("peer/stderr.txt")
        let finished = try Spawn.run(
            python, [yjsScript, "--input", input, "--batch", "500"], stdout: output, stderr: errors, timeoutSeconds: 300
        )
        guard finished.status == 0,
            let result = try? JSONDecoder().decode(
                PeerResult.self, from: Data(contentsOf: URL(fileURLWithPath: output)))
        else {
            let reason =
                ((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")
                .split(separator: "\n").last.map(String.init) ?? "exit \(finished.status)"
            report.unavailable("peer", reason: reason)
            return
        }
        yjs = result
        report.add(
            id: "peer.yjs.merge", "peer (Yjs \(result.version))",
            "merge of \(result.replicas) replicas' updates at one doc",
            result.mergeRate,
            "receipts/s", note: "\(result.receipts.formatted3) receipts in \(result.mergeSeconds.formatted3) s")
        report.add(
            id: "peer.yjs.bytes", "peer (Yjs \(result.version))", "bytes per receipt, 500-receipt update, raw",
            result.batchBytesPerReceipt,
            "B")
        report.add(
            id: "peer.yjs.bytes.gzip", "peer (Yjs \(result.version))", "bytes per receipt, 500-receipt update, gzip -6",
            result.batchGzipBytesPerReceipt,
            "B")
        report.add(
            id: "peer.yjs.doc", "peer (Yjs \(result.version))", "bytes per receipt, whole merged doc, raw / gzip",
            result.documentBytesPerReceipt,
            "B", note: "gzip \(result.documentGzipBytesPerReceipt.formatted3) B")
    }
}
