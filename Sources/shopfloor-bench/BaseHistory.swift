import ShopfloorReplication

/// What every benchmark starts from: the catalog authored by an office replica, then small op sets from 20 other
/// replicas, so causal contexts carry 20+ entries (a shop with many devices).
struct BaseHistory: Sendable {
    static let officeID = "office01"

    let workload: Workload
    /// In canonical order.
    let operations: [ShopOperation]
    let officeOperations: [ShopOperation]
    let peerOperations: [ShopOperation]
    let vector: VersionVector
    let lamport: UInt64

    init(workload: Workload, peers: Int = 20, operationsPerPeer: Int = 6) {
        self.workload = workload
        var office = Author(id: Self.officeID)
        officeOperations = workload.catalogCommands.map { office.stamp($0) }
        var vector = office.vector
        var lamport = office.lamport
        var peerOperations: [ShopOperation] = []
        for peer in 1...peers {
            var stream = DeviceStream(
                id: "peer\(pad(peer, 4))", workload: workload, seed: 1000 + UInt64(peer), seen: office.vector,
                lamport: office.lamport)
            for _ in 0..<operationsPerPeer { peerOperations.append(stream.next()) }
            vector = vector.merged(with: stream.author.vector)
            lamport = max(lamport, stream.author.lamport)
        }
        peerOperations.sort { $0.key < $1.key }
        self.peerOperations = peerOperations
        self.operations = officeOperations + peerOperations
        self.vector = vector
        self.lamport = lamport
    }

    /// `count` devices that start from this history, each offline with its own backlog (lamports overlap).
    func devices(_ count: Int, prefix: String = "dev") -> [DeviceStream] {
        (1...count).map { index in
            DeviceStream(
                id: "\(prefix)\(pad(index, 8 - prefix.count))", workload: workload, seed: 7000 + UInt64(index),
                seen: vector, lamport: lamport)
        }
    }
}
