import ArgumentParser
import ShopfloorDomain

/// A code typed on the command line becomes the domain's type as ArgumentParser reads it: any text is taken as it is,
/// and the domain's code rule refuses a bad one when the command is applied, with its own message.
extension ExpressibleByArgument where Self: CodeKey {
    public init?(argument: String) { self.init(argument) }
}

extension SKU: ExpressibleByArgument {}
extension OrderNumber: ExpressibleByArgument {}
