import KctrCore
import ArgumentParser
public struct Kctr: AsyncParsableCommand { public init() {} }
