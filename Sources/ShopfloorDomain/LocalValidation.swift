/// The policy of the device recording a command: everything it can see is wrong is refused, and the command
/// changes nothing. Nothing it refuses is ever written to the op log.
struct LocalValidation: ApplyPolicy {
    func admit(_ command: Command) throws(DomainError) {
        if let violation = command.boundsViolation() { throw .outOfBounds(violation) }
    }

    func tolerate(_ refusal: @autoclosure () -> DomainError) throws(DomainError) {
        throw refusal()
    }

    var keepsFirstDefinition: Bool { false }

    var reportsUnseenReceipts: Bool { false }
}
