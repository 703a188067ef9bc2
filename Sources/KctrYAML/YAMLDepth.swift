internal import CYaml

/// How deep a YAML stream nests, measured on libyaml's own events (the parser Yams runs), so that
/// the text is refused before Yams composes it: Yams builds nodes by recursion, one stack frame per
/// level, and a few hundred thousand '[' overflow the stack (SIGSEGV). libyaml keeps its state on
/// the heap, so walking its events is safe at any depth; the walk stops at the first event past
/// `maxDepth`, before libyaml has read further.
///
/// Yams' `Parser` keeps its events private, hence this second pass over the same bytes. A text
/// libyaml rejects is not judged here: Yams reports the same syntax error, at a depth this walk has
/// already bounded.
public enum YAMLDepth {
    /// Where the stream first nests deeper than `maxDepth`.
    public struct TooDeep: Sendable, Equatable {
        /// 1-based line of the first node at depth `maxDepth + 1`.
        public var line: Int
    }

    /// nil when every node of `text` (UTF-8) is at most `maxDepth` deep: a document's root is at
    /// depth 1, the items, keys and values of a collection one deeper than the collection.
    public static func check(_ text: String, maxDepth: Int) -> TooDeep? {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { buffer in
            EventWalk(buffer).firstTooDeep(maxDepth: maxDepth)
        }
    }
}

/// One libyaml parser over a buffer, freed in `deinit`; the buffer outlives it (`check` holds it).
private final class EventWalk {
    private var parser = yaml_parser_t()
    private let ready: Bool

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        ready = yaml_parser_initialize(&parser) == 1
        guard ready else { return }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        // libyaml does not read from an empty buffer's (possibly nil) base address.
        yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
    }

    deinit {
        if ready { yaml_parser_delete(&parser) }
    }

    func firstTooDeep(maxDepth: Int) -> YAMLDepth.TooDeep? {
        // Out of memory in yaml_parser_initialize: Yams' own parser fails the same way.
        guard ready else { return nil }
        var open = 0  // sequences and mappings started and not ended
        while true {
            var event = yaml_event_t()
            // 0: a syntax error (Yams reports it) or no memory; either way, nothing deeper was read.
            guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
            defer { yaml_event_delete(&event) }
            switch event.type {
            case YAML_SCALAR_EVENT, YAML_ALIAS_EVENT, YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                if open + 1 > maxDepth { return .init(line: Int(event.start_mark.line) + 1) }
                if event.type == YAML_SEQUENCE_START_EVENT || event.type == YAML_MAPPING_START_EVENT { open += 1 }
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                open -= 1
            case YAML_STREAM_END_EVENT:
                return nil
            default:
                break
            }
        }
    }
}
