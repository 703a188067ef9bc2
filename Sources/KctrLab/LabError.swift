/// A fixture that could not be made: what failed, on which object, and what to do (the tests' SetupError).
public struct LabError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}
