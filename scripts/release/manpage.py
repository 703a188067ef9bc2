#!/usr/bin/env python3
"""Writes kctr(1), a man page, from the command tree the binary describes itself.

swift-argument-parser's generate-manual plugin rebuilds the whole package in its own configuration;
this reads the same data (`kctr --experimental-dump-help`, ArgumentParser's ToolInfo JSON) from the
binary `make dist` already built, so the page always matches the binary it is installed with.

Usage: scripts/release/manpage.py KCTR_BINARY [-o kctr.1]
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys


def esc(text):
    """Escapes text for roff: backslashes, and a leading dot or quote that would start a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def flag_names(arg):
    names = []
    for n in arg.get("names", []):
        prefix = "-" if n["kind"] in ("short", "longWithSingleDash") else "--"
        names.append(f"\\fB{esc(prefix + n['name'])}\\fR")
    return names


def arg_head(arg):
    value = arg.get("valueName", "value")
    if arg["kind"] == "positional":
        head = f"\\fI{esc(value)}\\fR"
        return head + " ..." if arg.get("isRepeating") else head
    head = ", ".join(flag_names(arg))
    if arg["kind"] == "option":
        head += f" \\fI{esc(value)}\\fR"
    return head


BEFORE = re.compile(r" (-\w|-\w or --[\w-]+) before the command\.$")


def arg_key(arg):
    """The same option whatever its short name: global options drop -a/-n after crictl's commands (FlagFamily)."""
    longs = [n["name"] for n in arg.get("names", []) if n["kind"] != "short"]
    return json.dumps([arg["kind"], longs, arg.get("valueName"), BEFORE.sub("", arg.get("abstract", ""))], sort_keys=True)


# What kctr takes before the command (GlobalArguments.withValue and .flags in GlobalOptions.swift).
LEADING = {"address", "namespace", "timeout", "crictl-config", "max-recv-size", "debug"}


def shorts(arg):
    return [n["name"] for n in arg.get("names", []) if n["kind"] == "short"]


def describe(arg):
    text = arg.get("abstract", "")
    if arg.get("defaultValue") not in (None, "", "false") and arg["kind"] != "flag":
        text += f" (default: {arg['defaultValue']})"
    return esc(text)


def visible(args):
    return [a for a in args if a.get("shouldDisplay", True) and not is_builtin(a)]


def is_builtin(arg):
    return any(n["name"] in ("help", "version") and n["kind"] == "long" for n in arg.get("names", []))


def leaves(cmd, path):
    subs = [s for s in cmd.get("subcommands", []) if s.get("shouldDisplay", True) and s["commandName"] != "help"]
    if not subs or cmd.get("arguments") and len(visible(cmd["arguments"])) > 0:
        yield path, cmd
    for s in subs:
        yield from leaves(s, path + [s["commandName"]])


def render(root):
    commands = [(p, c) for p, c in leaves(root, []) if p]
    # Options (nearly) every command takes (kctr's GlobalOptions) are described once, with the names they have
    # before the command (the most names any command gives them).
    counts = {}
    widest = {}
    for _, c in commands:
        for a in visible(c.get("arguments", [])):
            k = arg_key(a)
            counts[k] = counts.get(k, 0) + 1
            if len(a.get("names", [])) > len(widest.get(k, {}).get("names", [])):
                widest[k] = a
    common = {k for k, n in counts.items() if n * 2 > len(commands) and set(json.loads(k)[1]) & LEADING}
    global_args = [widest[k] for k in widest if k in common]
    global_args = [dict(a, abstract=BEFORE.sub("", a.get("abstract", ""))) for a in global_args]

    date = datetime.date.today().isoformat()
    if os.environ.get("SOURCE_DATE_EPOCH"):
        date = datetime.datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), datetime.timezone.utc).date().isoformat()
    out = [f'.TH KCTR 1 "{date}" "kctr" "User Commands"', ".SH NAME",
           f"kctr \\- {esc(root.get('abstract', ''))}", ".SH SYNOPSIS",
           "\\fBkctr\\fR [\\fIglobal options\\fR] \\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]",
           ".br", "\\fBkctr\\fR \\fB\\-\\-version\\fR | \\fB\\-\\-help\\fR", ".SH DESCRIPTION"]
    for para in root.get("discussion", "").split("\n\n"):
        out += [".PP", esc(para)]
    out += [".SH GLOBAL OPTIONS",
            "Taken by every command before its name, as ctr takes them. After the name, a command crictl also has "
            "takes them by their long names only, and its short flags mean what they mean to crictl "
            "(\\fBps \\-a\\fR is \\fB\\-\\-all\\fR, \\fBpods \\-n\\fR is \\fB\\-\\-last\\fR); after every other "
            "command \\fB\\-a\\fR and \\fB\\-n\\fR are the address and the namespace. Each command below says which."]
    for a in global_args:
        out += [".TP", arg_head(a), describe(a)]
    out += [".TP", "\\fB\\-h\\fR, \\fB\\-\\-help\\fR", "Show help for kctr or a command.",
            ".TP", "\\fB\\-\\-version\\fR", "Show kctr's version and the commit it was built from."]
    out += [".SH COMMANDS"]
    for path, c in commands:
        own = [a for a in visible(c.get("arguments", [])) if arg_key(a) not in common]
        positional = [a for a in own if a["kind"] == "positional"]
        synopsis = " ".join(f"[{arg_head(a)}]" if a.get("isOptional") else arg_head(a) for a in positional)
        out += [".SS " + esc("kctr " + " ".join(path)) + (" " + synopsis if synopsis else ""),
                esc(c.get("abstract", ""))]
        for para in c.get("discussion", "").split("\n\n"):
            if para.strip():
                out += [".PP", esc(para)]
        globals_here = [a for a in visible(c.get("arguments", [])) if arg_key(a) in common]
        short_globals = sorted(f"\\fB\\-{esc(n)}\\fR" for a in globals_here for n in shorts(a))
        missing = len(common) - len({arg_key(a) for a in globals_here})
        if short_globals:
            out += [".PP", "After its name: global options by their long names, and " + ", ".join(short_globals) + " as above."]
        elif globals_here:
            out += [".PP", "After its name: global options by their long names only"
                    + (" (some under another name, below)." if missing else ".")]
        for a in own:
            out += [".TP", arg_head(a), describe(a)]
    out += [".SH ENVIRONMENT",
            ".TP", "\\fBCONTAINERD_ADDRESS\\fR, \\fBCONTAINER_RUNTIME_ENDPOINT\\fR",
            "containerd's socket when \\fB\\-\\-address\\fR is not given.",
            ".TP", "\\fBCONTAINERD_NAMESPACE\\fR", "The namespace when \\fB\\-\\-namespace\\fR is not given (else k8s.io).",
            ".SH FILES",
            ".TP", "/etc/crictl.yaml", "runtime\\-endpoint is read from it when neither flag nor environment names a socket.",
            ".TP", "/run/containerd/containerd.sock", "The default socket (k3s: /run/k3s/containerd/containerd.sock).",
            ".SH EXIT STATUS",
            "0 success, 1 failure (the message says what failed and what to do), 64 usage error, "
            "128+N stopped by signal N (130 for Ctrl\\-C).",
            ".SH SEE ALSO", "\\fBctr\\fR(8), \\fBcrictl\\fR(1), \\fBcontainerd\\fR(8)", ""]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("-o", "--output", default="-")
    a = ap.parse_args()
    try:
        dump = subprocess.run([a.binary, "--experimental-dump-help"], check=True, text=True,
                              stdout=subprocess.PIPE).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"manpage: cannot read the command tree from {a.binary}: {e}")
    page = render(json.loads(dump)["command"])
    if a.output == "-":
        sys.stdout.write(page)
    else:
        with open(a.output, "w") as f:
            f.write(page)


if __name__ == "__main__":
    main()
