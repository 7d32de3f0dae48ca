/// Runs exact arithmetic, turning an overflow into a refusal.
func arithmetic<T>(_ body: () throws -> T) throws(DomainError) -> T {
    do {
        return try body()
    } catch let error as AmountError {
        throw .arithmetic(error)
    } catch let error as DomainError {
        throw error
    } catch {
        preconditionFailure("unexpected error \(error)")
    }
}
