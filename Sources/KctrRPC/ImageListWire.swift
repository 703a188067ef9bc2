#if canImport(Glibc)
import Glibc
#endif

/// The two image lists `kctr images ls` reads (containerd's Images.List and CRI's ListImages), decoded
/// straight from their wire bytes into `ImageRecord` and `CRIImage`.
///
/// Why not ProtoCodec: with 5,000 names, protobuf-c's unpack, its free and the `Proto` tree in between
/// cost ~300M instructions of the command's ~590M (callgrind), for a reply of 1.7 MB; this reads each
/// field once. What it keeps from the general decoder:
/// - the same results: proto3's last value wins for a scalar, a message field seen twice is merged as
///   protobuf-c merges it (the later copy's numbers, even absent ones, i.e. 0; its strings where it has them,
///   else the earlier ones; the entries of both maps), a map's later entry wins, a string ends at its first NUL (protobuf-c hands
///   out C strings) and ill-formed UTF-8 is repaired (as `String(cString:)` does); ImageListWireTests
///   and the `reply` fuzz target compare the two decoders on the same bytes;
/// - the same refusals: bytes that are not a message, a field kctr reads sent with another wire type,
///   and a reply whose decoded form would pass DecodeBudget's allowance for its size.
/// Fields kctr does not read (CRI's uid, username and spec) are skipped unparsed.
enum ImageListWire {
    /// containerd.services.images.v1.ListImagesResponse.
    static func containerdImages(_ bytes: UnsafeRawBufferPointer) throws(RPCError) -> [ImageRecord] {
        var reader = Reader(bytes, name: "containerd.services.images.v1.ListImagesResponse")
        var out: [ImageRecord] = []
        try reader.fields(0..<bytes.count) { (reader: inout Reader, field, value) throws(RPCError) in
            guard field == 1 else { return }
            var image = ImageRecord(name: "", labels: [:], target: Descriptor(mediaType: "", digest: "", size: 0))
            var created: Timestamp?, updated: Timestamp?
            try reader.charge(MemoryLayout<ImageRecord>.stride)
            try reader.fields(try reader.message(value)) { (reader: inout Reader, field, value) throws(RPCError) in
                switch field {
                case 1: image.name = try reader.string(value)
                case 2: try reader.mapEntry(value, into: &image.labels)
                case 3: try reader.descriptor(value, into: &image.target)
                case 7: try reader.timestamp(value, into: &created)
                case 8: try reader.timestamp(value, into: &updated)
                default: break
                }
            }
            image.createdAt = created?.seconds
            image.updatedAt = updated?.seconds
            out.append(image)
        }
        return out
    }

    /// runtime.v1.ListImagesResponse.
    static func criImages(_ bytes: UnsafeRawBufferPointer) throws(RPCError) -> [CRIImage] {
        var reader = Reader(bytes, name: "runtime.v1.ListImagesResponse")
        var out: [CRIImage] = []
        try reader.fields(0..<bytes.count) { (reader: inout Reader, field, value) throws(RPCError) in
            guard field == 1 else { return }
            var image = CRIImage(id: "", repoTags: [], repoDigests: [], size: 0, pinned: false)
            try reader.charge(MemoryLayout<CRIImage>.stride)
            try reader.fields(try reader.message(value)) { (reader: inout Reader, field, value) throws(RPCError) in
                switch field {
                case 1: image.id = try reader.string(value)
                case 2: image.repoTags.append(try reader.string(value))
                case 3: image.repoDigests.append(try reader.string(value))
                case 4: image.size = try reader.varint(value)
                case 5, 7: _ = try reader.message(value)
                case 6: _ = try reader.bytes(value)
                case 8: image.pinned = try reader.varint(value) != 0
                default: break
                }
            }
            out.append(image)
        }
        return out
    }

    struct Timestamp {
        var wholeSeconds: Int64 = 0
        var nanos: Int32 = 0
        /// As `Proto.timestamp` gives it.
        var seconds: Double { Double(wholeSeconds) + Double(nanos) / 1e9 }
    }

    /// One field's payload, by wire type.
    enum Value {
        case varint(UInt64)
        case fixed64
        case fixed32
        case bytes(Range<Int>)
    }

    struct Reader {
        let bytes: UnsafeRawBufferPointer
        let name: String
        let allowance: Int
        private var cost = 0

        init(_ bytes: UnsafeRawBufferPointer, name: String) {
            self.bytes = bytes
            self.name = name
            self.allowance = DecodeBudget.allowance(wireBytes: bytes.count)
        }

        var malformed: RPCError { RPCError.codec("cannot decode a \(name) from \(bytes.count) bytes") }

        /// Counts what the decoded form takes; refuses the reply past DecodeBudget's allowance.
        mutating func charge(_ n: Int) throws(RPCError) {
            cost += n
            if cost > allowance { throw DecodeBudget.tooLarge(name, wireBytes: bytes.count, allowance: allowance) }
        }

        /// `body` for each field of the message in `range`, in order.
        mutating func fields(_ range: Range<Int>,
                             _ body: (inout Reader, UInt64, Value) throws(RPCError) -> Void) throws(RPCError) {
            var i = range.lowerBound
            let end = range.upperBound
            while i < end {
                guard let key = WireBytes.varint(bytes, at: &i, end: end), key >> 3 != 0 else { throw malformed }
                let value: Value
                switch key & 7 {
                case 0:
                    guard let v = WireBytes.varint(bytes, at: &i, end: end) else { throw malformed }
                    value = .varint(v)
                case 1:
                    guard end - i >= 8 else { throw malformed }
                    i += 8
                    value = .fixed64
                case 5:
                    guard end - i >= 4 else { throw malformed }
                    i += 4
                    value = .fixed32
                case 2:
                    guard let n = WireBytes.varint(bytes, at: &i, end: end), n <= UInt64(end - i) else { throw malformed }
                    value = .bytes(i..<(i + Int(n)))
                    i += Int(n)
                default:
                    throw malformed
                }
                try body(&self, key >> 3, value)
            }
        }

        func message(_ v: Value) throws(RPCError) -> Range<Int> { try bytes(v) }

        func bytes(_ v: Value) throws(RPCError) -> Range<Int> {
            guard case .bytes(let r) = v else { throw malformed }
            return r
        }

        func varint(_ v: Value) throws(RPCError) -> UInt64 {
            guard case .varint(let x) = v else { throw malformed }
            return x
        }

        /// A string field: up to its first NUL, ill-formed UTF-8 repaired (String(cString:)'s result).
        mutating func string(_ v: Value) throws(RPCError) -> String {
            let r = try bytes(v)
            try charge(r.count + 16)
            guard let base = bytes.baseAddress, !r.isEmpty else { return "" }
            let start = base.advanced(by: r.lowerBound)
            let count = memchr(start, 0, r.count).map { start.distance(to: UnsafeRawPointer($0)) } ?? r.count
            return String(decoding: UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self), count: count), as: UTF8.self)
        }

        /// One entry of a `map<string, string>`: fields key = 1, value = 2; a later entry wins.
        mutating func mapEntry(_ v: Value, into map: inout [String: String]) throws(RPCError) {
            var key = "", value = ""
            try charge(64)
            try fields(try message(v)) { (reader: inout Reader, field, v) throws(RPCError) in
                switch field {
                case 1: key = try reader.string(v)
                case 2: value = try reader.string(v)
                default: break
                }
            }
            map[key] = value
        }

        /// containerd.types.Descriptor, merged into `d` as protobuf-c merges a message field sent twice.
        mutating func descriptor(_ v: Value, into d: inout Descriptor) throws(RPCError) {
            d.size = 0
            try fields(try message(v)) { (reader: inout Reader, field, v) throws(RPCError) in
                switch field {
                case 1: d.mediaType = try reader.string(v)
                case 2: d.digest = try reader.string(v)
                case 3: d.size = Int64(bitPattern: try reader.varint(v))
                case 5: try reader.mapEntry(v, into: &d.annotations)
                default: break
                }
            }
        }

        /// google.protobuf.Timestamp; sent twice, the later copy (protobuf-c's merge keeps no number of the earlier).
        mutating func timestamp(_ v: Value, into t: inout Timestamp?) throws(RPCError) {
            var merged = Timestamp()
            try fields(try message(v)) { (reader: inout Reader, field, v) throws(RPCError) in
                switch field {
                case 1: merged.wholeSeconds = Int64(bitPattern: try reader.varint(v))
                case 2: merged.nanos = Int32(truncatingIfNeeded: try reader.varint(v))
                default: break
                }
            }
            t = merged
        }
    }
}
