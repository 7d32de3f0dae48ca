import ShopfloorReplication

/// A device: an author working through its floor activity.
struct DeviceStream: Sendable {
    var author: Author
    var activity: FloorActivity

    init(id: String, workload: Workload, seed: UInt64, seen: VersionVector, lamport: UInt64) {
        author = Author(id: id, seen: seen, lamport: lamport)
        activity = FloorActivity(author: id, workload: workload, seed: seed)
    }

    mutating func next() -> ShopOperation { author.stamp(activity.next()) }
}
