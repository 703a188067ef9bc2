// Writes kctr's typed Swift messages from protobuf-c's descriptors (run by Protos/generate.sh).
//
// Usage: swift-messages METHODS OUT_DIR
//   METHODS  Protos/kctr-methods: one `package.Service/Method` per line, the RPCs kctr calls.
//   OUT_DIR  Generated/swift: Messages.swift (public structs and enums) and MessageCoding.swift
//            (KctrRPC's internal conversions to and from `Proto`, and the typed methods).
//
// The messages written are those the listed methods reach (requests, replies and every message
// field below them) plus the event payloads kctr decodes (kctr_message_descriptor_at), so the
// Swift types match what kctr sends and receives, and nothing more gets compiled. Every name comes
// from the descriptors: messages and fields as in the .proto file (fields in lowerCamelCase),
// enum cases from the enum value names (CONTAINER_RUNNING -> containerRunning, protoName
// "CONTAINER_RUNNING"). Built against the protoc-c output in Generated/ and kctr's descriptor
// tables (Sources/CGRPCShim/kctr_descriptors.c), linked with -lprotobuf-c.
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kctr_shim.h"

#define MAX_TYPES 1024
#define MAX_METHODS 256

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("swift-messages: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

// ------------------------------------------------------------------ names

/// The Swift namespace of a proto package. Unknown packages stop the generator, so that a new
/// .proto gets a deliberate name.
static const char *namespace_of(const char *package) {
    static const struct { const char *package, *swift; } table[] = {
        {"runtime.v1", "CRI"},
        {"containerd.events", "Containerd.Events"},
        {"containerd.types", "Containerd.Types"},
        {"containerd.v1.types", "Containerd.TaskTypes"},
        {"containerd.services.containers.v1", "Containerd.Containers"},
        {"containerd.services.content.v1", "Containerd.Content"},
        {"containerd.services.diff.v1", "Containerd.Diff"},
        {"containerd.services.events.v1", "Containerd.EventService"},
        {"containerd.services.images.v1", "Containerd.Images"},
        {"containerd.services.introspection.v1", "Containerd.Introspection"},
        {"containerd.services.leases.v1", "Containerd.Leases"},
        {"containerd.services.namespaces.v1", "Containerd.Namespaces"},
        {"containerd.services.snapshots.v1", "Containerd.Snapshots"},
        {"containerd.services.tasks.v1", "Containerd.Tasks"},
        {"containerd.services.version.v1", "Containerd.Version"},
        {"google.protobuf", "Google.Protobuf"},
        {"google.rpc", "Google.RPC"},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(table[i].package, package) == 0) return table[i].swift;
    }
    die("no Swift namespace for proto package %s (add it to namespace_of in scripts/generate/swift-messages.c)", package);
    return NULL;
}

static const char *const swift_keywords[] = {
    "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
    "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public", "rethrows", "static",
    "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue", "default", "defer", "do", "else",
    "fallthrough", "for", "guard", "if", "in", "repeat", "return", "throw", "switch", "where", "while", "as", "false",
    "is", "nil", "self", "super", "throws", "true", "try", "Any", "Self", "Type", "Protocol",
};

static int is_keyword(const char *s) {
    for (size_t i = 0; i < sizeof(swift_keywords) / sizeof(swift_keywords[0]); i++) {
        if (strcmp(swift_keywords[i], s) == 0) return 1;
    }
    return 0;
}

/// snake_case or SCREAMING_CASE -> lowerCamelCase, backquoted when a Swift keyword.
static void camel(const char *in, char *out, size_t cap, int upper_first) {
    char word[256];
    size_t n = 0;
    int upper = upper_first;
    for (const char *p = in; *p && n + 1 < sizeof(word); p++) {
        if (*p == '_') { upper = 1; continue; }
        char c = *p;
        if (n == 0 && !upper_first) c = (char)tolower((unsigned char)c);
        else if (upper) c = (char)toupper((unsigned char)c);
        else if (isupper((unsigned char)*p) && p > in && (isupper((unsigned char)p[-1]) || p[-1] == '_' || isdigit((unsigned char)p[-1])))
            c = (char)tolower((unsigned char)c);
        word[n++] = c;
        upper = 0;
    }
    word[n] = 0;
    if (n == 0) die("empty name from %s", in);
    if (isdigit((unsigned char)word[0])) snprintf(out, cap, "_%s", word);
    else if (is_keyword(word)) snprintf(out, cap, "`%s`", word);
    else snprintf(out, cap, "%s", word);
}

/// An enum value name without its enum's prefix is what protoc's other generators use, but CRI's
/// values are read by their full names (crictl prints them); kctr keeps the full name, camel-cased.
static void enum_case(const char *value_name, char *out, size_t cap) {
    // SCREAMING_CASE: lower everything, then camel.
    char lower[256];
    size_t i = 0;
    for (; value_name[i] && i + 1 < sizeof(lower); i++) lower[i] = (char)tolower((unsigned char)value_name[i]);
    lower[i] = 0;
    camel(lower, out, cap, 0);
}

/// The Swift type name of a message or enum: its namespace, then its name inside the package.
static void swift_type(const char *full_name, const char *package, int is_enum, char *out, size_t cap) {
    const char *ns = namespace_of(package);
    const char *rel = full_name + strlen(package) + 1;
    char buf[512];
    snprintf(buf, sizeof(buf), "%s.%s", ns, rel);
    // A type named like a Swift keyword (google.protobuf.Any, runtime.v1.Protocol, which would read
    // as a metatype) gets a suffix: Message for a message, Kind for an enum.
    char *last = strrchr(buf, '.');
    if (last && is_keyword(last + 1)) strncat(buf, is_enum ? "Kind" : "Message", sizeof(buf) - strlen(buf) - 1);
    snprintf(out, cap, "%s", buf);
}

// ------------------------------------------------------------------ the closure

static const ProtobufCMessageDescriptor *messages[MAX_TYPES];
static size_t n_messages;
static const ProtobufCEnumDescriptor *enums[MAX_TYPES];
static size_t n_enums;

static int is_map_entry(const ProtobufCMessageDescriptor *d) {
    size_t len = strlen(d->short_name);
    return d->n_fields == 2 && len > 5 && strcmp(d->short_name + len - 5, "Entry") == 0
        && strcmp(d->fields[0].name, "key") == 0 && strcmp(d->fields[1].name, "value") == 0;
}

static int map_field(const ProtobufCFieldDescriptor *f) {
    return f->type == PROTOBUF_C_TYPE_MESSAGE && f->label == PROTOBUF_C_LABEL_REPEATED
        && is_map_entry((const ProtobufCMessageDescriptor *)f->descriptor);
}

static void add_enum(const ProtobufCEnumDescriptor *e) {
    for (size_t i = 0; i < n_enums; i++) if (enums[i] == e) return;
    if (n_enums == MAX_TYPES) die("more than %d enums", MAX_TYPES);
    enums[n_enums++] = e;
}

static void add_message(const ProtobufCMessageDescriptor *d) {
    for (size_t i = 0; i < n_messages; i++) if (messages[i] == d) return;
    if (n_messages == MAX_TYPES) die("more than %d messages", MAX_TYPES);
    messages[n_messages++] = d;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) add_message(f->descriptor);
        if (f->type == PROTOBUF_C_TYPE_ENUM) add_enum(f->descriptor);
    }
}

static int by_message_name(const void *a, const void *b) {
    return strcmp((*(const ProtobufCMessageDescriptor *const *)a)->name, (*(const ProtobufCMessageDescriptor *const *)b)->name);
}

static int by_enum_name(const void *a, const void *b) {
    return strcmp((*(const ProtobufCEnumDescriptor *const *)a)->name, (*(const ProtobufCEnumDescriptor *const *)b)->name);
}

/// Recursion through singular message fields would make a Swift struct contain itself.
static void check_acyclic(const ProtobufCMessageDescriptor *d, const ProtobufCMessageDescriptor **path, size_t depth) {
    for (size_t i = 0; i < depth; i++) {
        if (path[i] == d) die("%s contains itself; give the generator a box for it", d->name);
    }
    if (depth == 64) die("messages nest deeper than 64 below %s", path[0]->name);
    path[depth] = d;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED) check_acyclic(f->descriptor, path, depth + 1);
    }
}

// ------------------------------------------------------------------ methods

struct method {
    const ProtobufCServiceDescriptor *service;
    const ProtobufCMethodDescriptor *method;
};
static struct method methods[MAX_METHODS];
static size_t n_methods;

static const ProtobufCServiceDescriptor *service_named(const char *name) {
    for (size_t i = 0;; i++) {
        const ProtobufCServiceDescriptor *s = kctr_service_descriptor_at(i);
        if (s == NULL) return NULL;
        if (strcmp(s->name, name) == 0) return s;
    }
}

static void read_methods(const char *path) {
    FILE *f = fopen(path, "r");
    if (f == NULL) die("cannot open %s", path);
    char line[512];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == 0 || *p == '#') continue;
        char *slash = strchr(p, '/');
        if (slash == NULL) die("%s:%d: want package.Service/Method, got %s", path, lineno, p);
        *slash = 0;
        const ProtobufCServiceDescriptor *s = service_named(p);
        if (s == NULL) die("%s:%d: kctr has no service %s (kctr_services in Sources/CGRPCShim/kctr_descriptors.c)", path, lineno, p);
        const ProtobufCMethodDescriptor *m = protobuf_c_service_descriptor_get_method_by_name(s, slash + 1);
        if (m == NULL) die("%s:%d: %s has no method %s", path, lineno, p, slash + 1);
        for (size_t i = 0; i < n_methods; i++) {
            if (methods[i].method == m) die("%s:%d: %s/%s is listed twice", path, lineno, p, slash + 1);
        }
        if (n_methods == MAX_METHODS) die("more than %d methods", MAX_METHODS);
        methods[n_methods++] = (struct method){s, m};
        add_message(m->input);
        add_message(m->output);
    }
    if (ferror(f)) die("cannot read %s", path);
    fclose(f);
}

// ------------------------------------------------------------------ Swift types of fields

static void scalar_type(const ProtobufCFieldDescriptor *f, char *out, size_t cap) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
        snprintf(out, cap, "Swift.Int32"); break;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(out, cap, "Swift.Int64"); break;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        snprintf(out, cap, "Swift.UInt32"); break;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        snprintf(out, cap, "Swift.UInt64"); break;
    case PROTOBUF_C_TYPE_FLOAT: snprintf(out, cap, "Swift.Float"); break;
    case PROTOBUF_C_TYPE_DOUBLE: snprintf(out, cap, "Swift.Double"); break;
    case PROTOBUF_C_TYPE_BOOL: snprintf(out, cap, "Swift.Bool"); break;
    case PROTOBUF_C_TYPE_STRING: snprintf(out, cap, "Swift.String"); break;
    case PROTOBUF_C_TYPE_BYTES: snprintf(out, cap, "[Swift.UInt8]"); break;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *e = f->descriptor;
        swift_type(e->name, e->package_name, 1, out, cap);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *m = f->descriptor;
        swift_type(m->name, m->package_name, 0, out, cap);
        break;
    }
    default: die("field %s has a type kctr does not know (%d)", f->name, (int)f->type);
    }
}

/// The zero value of a scalar field's Swift type.
static const char *scalar_zero(const ProtobufCFieldDescriptor *f) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: return "\"\"";
    case PROTOBUF_C_TYPE_BYTES: return "[]";
    case PROTOBUF_C_TYPE_BOOL: return "false";
    case PROTOBUF_C_TYPE_ENUM: {
        // The case numbered 0, proto3's default.
        static char zero[256];
        const ProtobufCEnumDescriptor *e = f->descriptor;
        for (unsigned i = 0; i < e->n_values; i++) {
            if (e->values[i].value == 0) {
                char c[200];
                enum_case(e->values[i].name, c, sizeof(c));
                snprintf(zero, sizeof(zero), ".%s", c);
                return zero;
            }
        }
        return ".init(rawValue: 0)";
    }
    case PROTOBUF_C_TYPE_MESSAGE: return ".init()";
    default: return "0";
    }
}

/// The accessor of `ProtoValue?` (MessageCoding helpers in Sources/KctrRPC/Proto.swift) that reads one value.
static void decode_expr(const ProtobufCFieldDescriptor *f, const char *value, char *out, size_t cap) {
    char type[256];
    scalar_type(f, type, sizeof(type));
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
        snprintf(out, cap, "%s.int32", value); break;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(out, cap, "%s.int64", value); break;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        snprintf(out, cap, "%s.uint32", value); break;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        snprintf(out, cap, "%s.uint64", value); break;
    case PROTOBUF_C_TYPE_FLOAT: snprintf(out, cap, "%s.float", value); break;
    case PROTOBUF_C_TYPE_DOUBLE: snprintf(out, cap, "%s.double", value); break;
    case PROTOBUF_C_TYPE_BOOL: snprintf(out, cap, "%s.bool", value); break;
    case PROTOBUF_C_TYPE_STRING: snprintf(out, cap, "%s.string", value); break;
    case PROTOBUF_C_TYPE_BYTES: snprintf(out, cap, "%s.bytes", value); break;
    case PROTOBUF_C_TYPE_ENUM: snprintf(out, cap, "%s(rawValue: %s.enumeration)", type, value); break;
    case PROTOBUF_C_TYPE_MESSAGE: snprintf(out, cap, "%s(proto: %s.message ?? Proto())", type, value); break;
    default: die("field %s has a type kctr does not know", f->name);
    }
}

/// The `ProtoValue` of one Swift value.
static void encode_expr(const ProtobufCFieldDescriptor *f, const char *value, char *out, size_t cap) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
        snprintf(out, cap, ".int(Swift.Int64(%s))", value); break;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(out, cap, ".int(%s)", value); break;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        snprintf(out, cap, ".uint(Swift.UInt64(%s))", value); break;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        snprintf(out, cap, ".uint(%s)", value); break;
    case PROTOBUF_C_TYPE_FLOAT: snprintf(out, cap, ".double(Swift.Double(%s))", value); break;
    case PROTOBUF_C_TYPE_DOUBLE: snprintf(out, cap, ".double(%s)", value); break;
    case PROTOBUF_C_TYPE_BOOL: snprintf(out, cap, ".bool(%s)", value); break;
    case PROTOBUF_C_TYPE_STRING: snprintf(out, cap, ".string(%s)", value); break;
    case PROTOBUF_C_TYPE_BYTES: snprintf(out, cap, ".bytes(%s)", value); break;
    case PROTOBUF_C_TYPE_ENUM: snprintf(out, cap, ".enumeration(%s.rawValue)", value); break;
    case PROTOBUF_C_TYPE_MESSAGE: snprintf(out, cap, ".message(%s.proto)", value); break;
    default: die("field %s has a type kctr does not know", f->name);
    }
}

static int is_oneof(const ProtobufCFieldDescriptor *f) {
    return (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
}

/// Set or not, as the wire tells: singular messages, proto3 `optional` scalars and oneof members.
static int has_presence(const ProtobufCFieldDescriptor *f) {
    if (f->label == PROTOBUF_C_LABEL_REPEATED) return 0;
    return f->type == PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_OPTIONAL || is_oneof(f);
}

/// The Swift type and zero of a field.
static void field_type(const ProtobufCFieldDescriptor *f, char *type, size_t cap, const char **zero) {
    char t[256];
    if (map_field(f)) {
        const ProtobufCMessageDescriptor *entry = f->descriptor;
        char k[256], v[256];
        scalar_type(&entry->fields[0], k, sizeof(k));
        scalar_type(&entry->fields[1], v, sizeof(v));
        if (strcmp(k, "Swift.String") != 0 && strncmp(k, "Swift.Int", 9) != 0 && strncmp(k, "Swift.UInt", 10) != 0)
            die("map field %s has keys of type %s, which kctr does not sort", f->name, k);
        snprintf(type, cap, "[%s: %s]", k, v);
        *zero = "[:]";
        return;
    }
    scalar_type(f, t, sizeof(t));
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        snprintf(type, cap, "[%s]", t);
        *zero = "[]";
    } else if (has_presence(f)) {
        snprintf(type, cap, "%s?", t);
        *zero = "nil";
    } else {
        snprintf(type, cap, "%s", t);
        *zero = scalar_zero(f);
    }
}

// ------------------------------------------------------------------ output

static FILE *open_out(const char *dir, const char *name) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) die("cannot write %s", path);
    return f;
}

static void close_out(FILE *f, const char *name) {
    if (ferror(f) || fclose(f) != 0) die("cannot write %s", name);
}

/// `Containerd.Images.Image` -> prefix "Containerd.Images", last "Image".
static void split_type(const char *type, char *prefix, size_t cap, const char **last) {
    const char *dot = strrchr(type, '.');
    size_t n = (size_t)(dot - type);
    if (n >= cap) die("type name %s too long", type);
    memcpy(prefix, type, n);
    prefix[n] = 0;
    *last = dot + 1;
}

static void write_namespaces(FILE *out) {
    // Every namespace any package maps to, each declared once, parents first.
    const char *seen[64];
    size_t n_seen = 0;
    const char *packages[MAX_TYPES * 2];
    size_t n_packages = 0;
    for (size_t i = 0; i < n_messages; i++) packages[n_packages++] = messages[i]->package_name;
    for (size_t i = 0; i < n_enums; i++) packages[n_packages++] = enums[i]->package_name;
    char names[64][128];
    for (size_t i = 0; i < n_packages; i++) {
        const char *ns = namespace_of(packages[i]);
        int dup = 0;
        for (size_t j = 0; j < n_seen; j++) if (strcmp(seen[j], ns) == 0) dup = 1;
        if (dup) continue;
        if (n_seen == 64) die("more than 64 namespaces");
        snprintf(names[n_seen], sizeof(names[n_seen]), "%s", ns);
        seen[n_seen] = names[n_seen];
        n_seen++;
    }
    qsort(names, n_seen, sizeof(names[0]), (int (*)(const void *, const void *))strcmp);
    // Roots (no dot) first, then the nested ones (whose parents are roots here).
    const char *last_root = "";
    char roots[64][128];
    size_t n_roots = 0;
    for (size_t i = 0; i < n_seen; i++) {
        char root[128];
        snprintf(root, sizeof(root), "%s", names[i]);
        char *dot = strchr(root, '.');
        if (dot) *dot = 0;
        if (strcmp(root, last_root) != 0) {
            snprintf(roots[n_roots], sizeof(roots[n_roots]), "%s", root);
            last_root = roots[n_roots++];
        }
    }
    for (size_t i = 0; i < n_roots; i++) fprintf(out, "public enum %s {}\n", roots[i]);
    for (size_t i = 0; i < n_seen; i++) {
        const char *dot = strchr(names[i], '.');
        if (dot == NULL) continue;
        if (strchr(dot + 1, '.')) die("namespace %s nests deeper than two", names[i]);
        fprintf(out, "extension %.*s { public enum %s {} }\n", (int)(dot - names[i]), names[i], dot + 1);
    }
    fputc('\n', out);
}

static void write_enum(FILE *out, const ProtobufCEnumDescriptor *e) {
    char type[512], prefix[512];
    const char *last;
    swift_type(e->name, e->package_name, 1, type, sizeof(type));
    split_type(type, prefix, sizeof(prefix), &last);
    char cases[128][256];
    if (e->n_values > 128) die("enum %s has more than 128 values", e->name);
    for (unsigned i = 0; i < e->n_values; i++) enum_case(e->values[i].name, cases[i], sizeof(cases[i]));

    fprintf(out, "extension %s {\n", prefix);
    fprintf(out, "    /// `%s`. Numbers this build does not know stay as `unrecognized`.\n", e->name);
    fprintf(out, "    public enum %s: Sendable, Hashable, CustomStringConvertible {\n", last);
    for (unsigned i = 0; i < e->n_values; i++) {
        fprintf(out, "        /// %s = %d\n        case %s\n", e->values[i].name, e->values[i].value, cases[i]);
    }
    fprintf(out, "        case unrecognized(Swift.Int32)\n\n");
    fprintf(out, "        /// Every named value, in the order of the .proto file.\n");
    fprintf(out, "        public static let known: [%s] = [", type);
    for (unsigned i = 0; i < e->n_values; i++) fprintf(out, "%s.%s", i ? ", " : "", cases[i]);
    fprintf(out, "]\n\n");
    fprintf(out, "        public init(rawValue: Swift.Int32) {\n            switch rawValue {\n");
    for (unsigned i = 0; i < e->n_values; i++) {
        int dup = 0;
        for (unsigned j = 0; j < i; j++) if (e->values[j].value == e->values[i].value) dup = 1;
        if (!dup) fprintf(out, "            case %d: self = .%s\n", e->values[i].value, cases[i]);
    }
    fprintf(out, "            default: self = .unrecognized(rawValue)\n            }\n        }\n\n");
    fprintf(out, "        public var rawValue: Swift.Int32 {\n            switch self {\n");
    for (unsigned i = 0; i < e->n_values; i++) fprintf(out, "            case .%s: %d\n", cases[i], e->values[i].value);
    fprintf(out, "            case .unrecognized(let n): n\n            }\n        }\n\n");
    fprintf(out, "        /// The value's name in the .proto file (\"%s\"); the number when it has none.\n",
            e->n_values ? e->values[0].name : "");
    fprintf(out, "        public var protoName: Swift.String {\n            switch self {\n");
    for (unsigned i = 0; i < e->n_values; i++) fprintf(out, "            case .%s: \"%s\"\n", cases[i], e->values[i].name);
    fprintf(out, "            case .unrecognized(let n): \"\\(n)\"\n            }\n        }\n\n");
    fprintf(out, "        /// The value named `protoName` in the .proto file, or nil.\n");
    fprintf(out, "        public init?(protoName: Swift.String) {\n            switch protoName {\n");
    for (unsigned i = 0; i < e->n_values; i++) fprintf(out, "            case \"%s\": self = .%s\n", e->values[i].name, cases[i]);
    fprintf(out, "            default: return nil\n            }\n        }\n\n");
    fprintf(out, "        public var description: Swift.String { protoName }\n");
    fprintf(out, "    }\n}\n\n");
}

static void write_message(FILE *out, const ProtobufCMessageDescriptor *d) {
    char type[512], prefix[512];
    const char *last;
    swift_type(d->name, d->package_name, 0, type, sizeof(type));
    split_type(type, prefix, sizeof(prefix), &last);
    fprintf(out, "extension %s {\n", prefix);
    fprintf(out, "    /// `%s`.\n", d->name);
    fprintf(out, "    public struct %s: GeneratedMessage {\n", last);
    fprintf(out, "        public static let protoName = \"%s\"\n\n", d->name);
    char names[256][128];
    char zeros[256][256];
    char types[256][256];
    if (d->n_fields > 256) die("%s has more than 256 fields", d->name);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        camel(f->name, names[i], sizeof(names[i]), 0);
        if (strcmp(names[i], "proto") == 0 || strcmp(names[i], "protoName") == 0)
            die("%s.%s clashes with a member the generator writes", d->name, f->name);
        const char *zero;
        field_type(f, types[i], sizeof(types[i]), &zero);
        snprintf(zeros[i], sizeof(zeros[i]), "%s", zero);
        fprintf(out, "        /// `%s` = %u%s\n", f->name, f->id, is_oneof(f) ? " (oneof: set when this member is the one)" : "");
        fprintf(out, "        public var %s: %s\n", names[i], types[i]);
    }
    if (d->n_fields) fputc('\n', out);
    fprintf(out, "        public init(");
    for (unsigned i = 0; i < d->n_fields; i++) {
        fprintf(out, "%s%s: %s = %s", i ? ", " : "", names[i], types[i], zeros[i]);
    }
    fprintf(out, ") {\n");
    for (unsigned i = 0; i < d->n_fields; i++) fprintf(out, "            self.%s = %s\n", names[i], names[i]);
    fprintf(out, "        }\n    }\n}\n\n");
}

/// Reads `ProtoValue?` named `v` into field `f` of `self`.
static void write_decode_field(FILE *out, const ProtobufCFieldDescriptor *f, const char *name) {
    char expr[768];
    if (map_field(f)) {
        const ProtobufCMessageDescriptor *entry = f->descriptor;
        char k[384], v[384];
        decode_expr(&entry->fields[0], "$0[\"key\"]", k, sizeof(k));
        decode_expr(&entry->fields[1], "$0[\"value\"]", v, sizeof(v));
        fprintf(out, "            case \"%s\": %s = f.value.entries { (%s, %s) }\n", f->name, name, k, v);
    } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        decode_expr(f, "Optional($0)", expr, sizeof(expr));
        fprintf(out, "            case \"%s\": %s = f.value.list.map { %s }\n", f->name, name, expr);
    } else {
        decode_expr(f, "Optional(f.value)", expr, sizeof(expr));
        fprintf(out, "            case \"%s\": %s = %s\n", f->name, name, expr);
    }
}

static void write_encode_field(FILE *out, const ProtobufCFieldDescriptor *f, const char *name) {
    char expr[768];
    if (map_field(f)) {
        const ProtobufCMessageDescriptor *entry = f->descriptor;
        char k[384], v[384];
        encode_expr(&entry->fields[0], "$0.key", k, sizeof(k));
        encode_expr(&entry->fields[1], "$0.value", v, sizeof(v));
        fprintf(out, "        if !%s.isEmpty { p.append(ProtoField(name: \"%s\", value: .entries(%s.sorted { $0.key < $1.key }.map { (%s, %s) }))) }\n",
                name, f->name, name, k, v);
    } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        encode_expr(f, "$0", expr, sizeof(expr));
        fprintf(out, "        if !%s.isEmpty { p.append(ProtoField(name: \"%s\", value: .list(%s.map { %s }))) }\n", name, f->name, name, expr);
    } else if (has_presence(f)) {
        encode_expr(f, "v", expr, sizeof(expr));
        fprintf(out, "        if let v = %s { p.append(ProtoField(name: \"%s\", value: %s)) }\n", name, f->name, expr);
    } else {
        encode_expr(f, name, expr, sizeof(expr));
        fprintf(out, "        p.append(ProtoField(name: \"%s\", value: %s))\n", f->name, expr);
    }
}

static void write_coding(FILE *out, const ProtobufCMessageDescriptor *d) {
    char type[512];
    swift_type(d->name, d->package_name, 0, type, sizeof(type));
    fprintf(out, "extension %s: ProtoMessage {\n", type);
    fprintf(out, "    init(proto: Proto) {\n        self.init()\n");
    if (d->n_fields) {
        fprintf(out, "        for f in proto.fields {\n            switch f.name {\n");
        for (unsigned i = 0; i < d->n_fields; i++) {
            char name[128], self_name[160];
            camel(d->fields[i].name, name, sizeof(name), 0);
            snprintf(self_name, sizeof(self_name), "self.%s", name);
            write_decode_field(out, &d->fields[i], self_name);
        }
        fprintf(out, "            default: break\n            }\n        }\n");
    }
    fprintf(out, "    }\n\n");
    fprintf(out, "    var proto: Proto {\n");
    if (d->n_fields == 0) {
        fprintf(out, "        Proto()\n    }\n}\n\n");
        return;
    }
    fprintf(out, "        var p: [ProtoField] = []\n");
    for (unsigned i = 0; i < d->n_fields; i++) {
        char name[128], self_name[160];
        camel(d->fields[i].name, name, sizeof(name), 0);
        snprintf(self_name, sizeof(self_name), "self.%s", name);
        write_encode_field(out, &d->fields[i], self_name);
    }
    fprintf(out, "        return Proto(unique: p)\n    }\n}\n\n");
}

static int by_method(const void *a, const void *b) {
    const struct method *x = a, *y = b;
    int c = strcmp(x->service->name, y->service->name);
    return c ? c : strcmp(x->method->name, y->method->name);
}

static void write_methods(FILE *out) {
    qsort(methods, n_methods, sizeof(methods[0]), by_method);
    for (size_t i = 0; i < n_methods;) {
        const ProtobufCServiceDescriptor *s = methods[i].service;
        char ns_type[512];
        // The service's table sits in its package's namespace: CRI.RuntimeService, Containerd.Images.ImagesService.
        snprintf(ns_type, sizeof(ns_type), "%s", namespace_of(s->package));
        size_t len = strlen(s->short_name);
        int has_suffix = len > 7 && strcmp(s->short_name + len - 7, "Service") == 0;
        fprintf(out, "extension %s {\n", ns_type);
        fprintf(out, "    /// The methods of `%s` that kctr calls (Protos/kctr-methods).\n", s->name);
        fprintf(out, "    public enum %s%s {\n", s->short_name, has_suffix ? "" : "Service");
        for (; i < n_methods && methods[i].service == s; i++) {
            const ProtobufCMethodDescriptor *m = methods[i].method;
            char name[128], in[512], outt[512];
            // The method's name with its first letter lowered: CloseIO -> closeIO.
            snprintf(name, sizeof(name), "%c%s", tolower((unsigned char)m->name[0]), m->name + 1);
            if (is_keyword(name)) die("method %s reads as a Swift keyword", m->name);
            swift_type(m->input->name, m->input->package_name, 0, in, sizeof(in));
            swift_type(m->output->name, m->output->package_name, 0, outt, sizeof(outt));
            fprintf(out, "        public static let %s = TypedMethod<%s, %s>(\"%s\", \"%s\")\n", name, in, outt, s->name, m->name);
        }
        fprintf(out, "    }\n}\n\n");
    }
    fprintf(out, "/// Every method kctr calls, as Protos/kctr-methods lists them, with the types the tables above give it.\n");
    fprintf(out, "enum KctrMethods {\n");
    fprintf(out, "    static var all: [(method: RPCMethod, request: any GeneratedMessage.Type, reply: any GeneratedMessage.Type)] {\n        [\n");
    for (size_t i = 0; i < n_methods; i++) {
        char in[512], outt[512];
        const ProtobufCMethodDescriptor *m = methods[i].method;
        swift_type(m->input->name, m->input->package_name, 0, in, sizeof(in));
        swift_type(m->output->name, m->output->package_name, 0, outt, sizeof(outt));
        fprintf(out, "            (RPCMethod(\"%s\", \"%s\"), %s.self, %s.self),\n", methods[i].service->name, m->name, in, outt);
    }
    fprintf(out, "        ]\n    }\n}\n");
}

int main(int argc, char **argv) {
    if (argc != 3) die("usage: swift-messages METHODS OUT_DIR");
    read_methods(argv[1]);
    for (size_t i = 0;; i++) {
        const ProtobufCMessageDescriptor *m = kctr_message_descriptor_at(i);
        if (m == NULL) break;
        add_message(m);
    }
    // Map entries become dictionaries, not types.
    size_t kept = 0;
    for (size_t i = 0; i < n_messages; i++) if (!is_map_entry(messages[i])) messages[kept++] = messages[i];
    n_messages = kept;
    qsort(messages, n_messages, sizeof(messages[0]), by_message_name);
    qsort(enums, n_enums, sizeof(enums[0]), by_enum_name);
    const ProtobufCMessageDescriptor *path[64];
    for (size_t i = 0; i < n_messages; i++) check_acyclic(messages[i], path, 0);

    const char *header = "// Generated by scripts/generate/swift-messages.c from protobuf-c's descriptors (make generate). Do not edit.\n\n";
    FILE *out = open_out(argv[2], "Messages.swift");
    fputs(header, out);
    write_namespaces(out);
    for (size_t i = 0; i < n_enums; i++) write_enum(out, enums[i]);
    for (size_t i = 0; i < n_messages; i++) write_message(out, messages[i]);
    close_out(out, "Messages.swift");

    out = open_out(argv[2], "MessageCoding.swift");
    fputs(header, out);
    for (size_t i = 0; i < n_messages; i++) write_coding(out, messages[i]);
    write_methods(out);
    close_out(out, "MessageCoding.swift");

    fprintf(stderr, "swift-messages: %zu messages, %zu enums, %zu methods\n", n_messages, n_enums, n_methods);
    return 0;
}
