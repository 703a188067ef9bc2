import KctrRPC

// KctrRPC walks messages by their descriptors and hands out DocumentValue; these convert it to and from
// kctr's JSON (the same shapes: null, bool, number, string, array, object).
extension JSONValue {
    public init(_ document: DocumentValue) {
        switch document {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let n): self = .number(n)
        case .string(let s): self = .string(s)
        case .array(let items): self = .array(items.map(JSONValue.init))
        case .object(let fields): self = .object(fields.mapValues(JSONValue.init))
        }
    }

    /// The same document as KctrRPC's value (for a message an operator wrote).
    public var document: DocumentValue {
        switch self {
        case .null: .null
        case .bool(let b): .bool(b)
        case .number(let n): .number(n)
        case .string(let s): .string(s)
        case .array(let items): .array(items.map(\.document))
        case .object(let fields): .object(fields.mapValues(\.document))
        }
    }
}
