import ArgumentParser
import ShopfloorStore
import ShopfloorSync

/// `shopfloor enroll`: stores HQ's address and this device's credentials in the replica.
struct EnrollCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Enrol this device with HQ (credentials from `shopfloor-hq device add`).",
        discussion: "Give either --token, or --hq, --device-id and --secret. Nothing is sent until `shopfloor sync`.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "HQ address, e.g. http://127.0.0.1:8080.") var hq: String?
    @Option(help: "The device id HQ issued.") var deviceId: String?
    @Option(help: "The device secret HQ issued.") var secret: String?
    @Option(help: "The one-line enrolment token (instead of the three options above).") var token: String?

    struct Enrolled: Encodable {
        var hq: String?
        var deviceID: String
        var replica: String
        enum CodingKeys: String, CodingKey {
            case hq
            case deviceID = "device_id"
            case replica
        }
    }

    func validate() throws {
        if token == nil, deviceId == nil || secret == nil {
            throw ValidationError("give --token, or both --device-id and --secret")
        }
    }

    func run(replica: Replica, output: Output) throws {
        var settings = try SyncSettings.load(from: replica)
        if let token {
            let decoded = try SyncSettings.decodeToken(token)
            settings.deviceID = decoded.deviceID
            settings.secret = decoded.secret
            settings.hq = hq ?? decoded.hq ?? settings.hq
        } else {
            settings.deviceID = deviceId
            settings.secret = secret
            settings.hq = hq ?? settings.hq
        }
        if let address = settings.hq {
            // Fails early on a malformed address.
            _ = try SyncClient(replica: replica, hq: address, deviceID: settings.deviceID!, secret: settings.secret!)
        }
        try settings.save(to: replica)
        let enrolled = Enrolled(hq: settings.hq, deviceID: settings.deviceID!, replica: replica.id)
        try output.show(enrolled) {
            "enrolled replica \(replica.id) as device \(enrolled.deviceID)"
                + (enrolled.hq.map { " with HQ \($0)" } ?? "")
        }
    }
}
