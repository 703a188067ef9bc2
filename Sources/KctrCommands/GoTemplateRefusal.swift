import KctrCore

/// crictl's `-o go-template --template T` (inspect, inspectp, inspecti, ps, pods, images, info), refused
/// before parsing with the reason and what to use instead. Go's text/template has no maintained Swift
/// implementation to build on, and a partial one would print something else than crictl for the
/// same template (README.md, "No `-o go-template`"). Without this, ArgumentParser would call the
/// value merely invalid, or `--template` unknown.
enum GoTemplateRefusal {
    static let hint = "print crictl's document with -o json and query it with jq, e.g. `kctr inspect ID -o json | jq -r .status.state`"
        + " or `kctr ps -o json | jq -r '.containers[].id'` (the documents have crictl's keys)"

    /// The refusal when the (hoisted) arguments ask for a Go template; nil otherwise. exec's
    /// arguments after the container are the process's, and nothing after `--` is kctr's.
    static func check(_ args: [String]) -> KctrError? {
        guard args.first != "exec" else { return nil }
        for (i, a) in args.enumerated() {
            if a == "--" { break }
            let template = a == "--template" || a.hasPrefix("--template=")
            let output = ["-ogo-template", "-o=go-template", "--output=go-template"].contains(a)
                || (["-o", "--output"].contains(a) && i + 1 < args.count && args[i + 1] == "go-template")
            if template || output {
                return KctrError.usage("\(template ? "--template (crictl's -o go-template)" : "-o go-template") is not supported: "
                    + "kctr has no implementation of Go's text/template (no maintained Swift library implements it); -o takes table, json or yaml",
                    hint: hint)
            }
        }
        return nil
    }
}
