/// Reads one `bytes` field straight from a message's wire encoding.
///
/// For the one hot stream whose payload is a single bytes field (Content.Read: 1 MiB chunks), this skips
/// protobuf-c's unpacked copy of the chunk and the Proto around it: the chunk goes from the received
/// buffer to the Swift array in one copy (export's peak RSS holds one 1 MiB copy fewer).
enum WireBytes {
    /// The last value of length-delimited field `number` (proto3: the last one wins), [] when absent,
    /// nil when `bytes` is not a well-formed message.
    static func field(_ number: UInt64, in bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        var i = 0
        var found: Range<Int>?
        func varint() -> UInt64? { WireBytes.varint(bytes, at: &i, end: bytes.count) }
        while i < bytes.count {
            guard let key = varint(), key >> 3 != 0 else { return nil }
            switch key & 7 {
            case 0:
                guard varint() != nil else { return nil }
            case 1:
                guard bytes.count - i >= 8 else { return nil }
                i += 8
            case 5:
                guard bytes.count - i >= 4 else { return nil }
                i += 4
            case 2:
                guard let n = varint(), n <= UInt64(bytes.count - i) else { return nil }
                if key >> 3 == number { found = i..<(i + Int(n)) }
                i += Int(n)
            default:
                return nil
            }
        }
        guard let found else { return [] }
        return Array(bytes[found])
    }

    /// The varint at `i` (at most 10 bytes, before `end`), `i` moved past it; nil when it does not end in time.
    static func varint(_ bytes: UnsafeRawBufferPointer, at i: inout Int, end: Int) -> UInt64? {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while i < end, shift < 64 {
            let b = bytes[i]
            i += 1
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
        }
        return nil
    }
}
