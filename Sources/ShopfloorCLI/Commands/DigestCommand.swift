import ArgumentParser
import ShopfloorStore

/// `shopfloor digest`: the state digest; two replicas with the same operations print the same one.
struct DigestCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "digest", abstract: "Print the SHA-256 digest of the projections.")

    @OptionGroup var global: GlobalOptions

    struct Digest: Encodable {
        var digest: String
        var operations: Int
    }

    func run(replica: Replica, output: Output) throws {
        let digest = Digest(digest: try replica.digest(), operations: replica.operationCount)
        try output.show(digest) { digest.digest }
    }
}
