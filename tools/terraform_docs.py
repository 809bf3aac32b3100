#!/usr/bin/env python3
"""Terraform module docs, terraform-docs style, generated from the .tf files.

    tools/terraform_docs.py MODULE_DIR... [--check]

For each module directory: Requirements, Providers, Modules, Resources,
Inputs and Outputs tables, written into MODULE_DIR/README.md between the
lines <!-- BEGIN_TF_DOCS --> and <!-- END_TF_DOCS -->. `--check` writes
nothing and fails when a README differs (`make terraform-docs` rewrites).

The files are `terraform fmt`-formatted; the parser reads the top-level
blocks and their top-level attributes and refuses, naming file:line, what it
does not understand (a heredoc in a description, say) rather than guess.
"""

import glob
import os
import re
import sys

BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"

BLOCK = re.compile(r'^(variable|output|resource|data|module|terraform)\b(.*)\{\s*$')
EMPTY_BLOCK = re.compile(r'^(resource|data|module)\b(.*)\{\s*\}\s*$')
LABELS = re.compile(r'"([^"]*)"')
ATTR = re.compile(r"^  ([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(.*)$")
NESTED = re.compile(r"^  ([A-Za-z_][A-Za-z0-9_-]*)\s*\{\s*$")


class ParseError(Exception):
    pass


def without_comment(line):
    """The line up to a `#` comment outside strings."""
    in_str, esc = False, False
    for i, ch in enumerate(line):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == "#":
            return line[:i]
    return line


def depth_change(text):
    """Opening minus closing brackets outside strings and comments."""
    depth, in_str, esc = 0, False, False
    for ch in without_comment(text):
        if in_str:
            esc, in_str = (False, True) if esc else (ch == "\\", ch != '"')
        elif ch == '"':
            in_str = True
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
    return depth


def unquote(value, where):
    """An HCL string literal's text."""
    value = value.strip()
    if not (value.startswith('"') and value.endswith('"')) or len(value) < 2:
        raise ParseError(f"{where}: expected a quoted string, found {value[:40]!r}")
    body = value[1:-1]
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    # HCL's escapes of template sequences: `$${` is a literal `${`.
    return "".join(out).replace("$${", "${").replace("%%{", "%{")


def parse_file(path, text):
    """[(kind, labels, {attr: raw value}, {nested block name: {attr: raw}}, line)]"""
    blocks = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        e = EMPTY_BLOCK.match(line)
        if e:
            blocks.append((e.group(1), LABELS.findall(e.group(2)), {}, {}, i + 1))
            i += 1
            continue
        m = BLOCK.match(line)
        if not m:
            i += 1
            continue
        kind, labels, start = m.group(1), LABELS.findall(m.group(2)), i + 1
        attrs, nested = {}, {}
        i += 1
        while i < len(lines) and lines[i] != "}":
            body = lines[i]
            a = ATTR.match(body)
            n = NESTED.match(body)
            where = f"{path}:{i + 1}"
            if a:
                name, value = a.group(1), a.group(2)
                if value.lstrip().startswith("<<"):
                    raise ParseError(f"{where}: heredoc in {kind} {'.'.join(labels)}.{name}: write it as a quoted string")
                depth = depth_change(value)
                while depth > 0:
                    i += 1
                    if i >= len(lines):
                        raise ParseError(f"{where}: unbalanced brackets in {name}")
                    value += "\n" + lines[i]
                    depth += depth_change(lines[i])
                attrs[name] = value
            elif n:
                name, inner, depth = n.group(1), {}, 1
                i += 1
                while i < len(lines) and depth > 0:
                    sub = re.match(r"^    ([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(.*)$", lines[i])
                    if sub and depth == 1:
                        inner[sub.group(1)] = sub.group(2)
                    depth += depth_change(lines[i])
                    if depth > 0:
                        i += 1
                nested.setdefault(name, inner)
            elif body.strip() and not body.strip().startswith(("#", "//")):
                raise ParseError(f"{where}: not understood in {kind} {'.'.join(labels)}: {body.strip()[:60]!r}")
            i += 1
        if i >= len(lines):
            raise ParseError(f"{path}:{start}: {kind} block never closed")
        blocks.append((kind, labels, attrs, nested, start))
        i += 1
    return blocks


def one_line(raw):
    """Source text on one line: comments dropped, whitespace collapsed."""
    parts = [p for p in (without_comment(line).strip() for line in raw.splitlines()) if p]
    # Object members one per line become a comma-separated list.
    text = ""
    for p in parts:
        if text and not text.endswith(("{", "(", "[", ",")) and not p.startswith(("}", ")", "]")):
            text += ", "
        elif text:
            text += " "
        text += p
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"([\[{(]) ", r"\1", re.sub(r" ([\]})])", r"\1", text))


def cell(text):
    return text.replace("|", "\\|").replace("\n", " ").strip()


def required_providers_raw(text):
    """required_providers spans several lines in an object: read it whole."""
    m = re.search(r"required_providers\s*\{(.*?)\n  \}", text, re.S)
    out = {}
    if m:
        for name, body in re.findall(r"^    ([a-z0-9_-]+)\s*=\s*\{(.*?)^    \}", m.group(1), re.S | re.M):
            out[name] = body
    return out


def resource_link(kind, rtype):
    if rtype.startswith("aws_"):
        section = "resources" if kind == "resource" else "data-sources"
        return f"https://registry.terraform.io/providers/hashicorp/aws/latest/docs/{section}/{rtype[4:]}"
    if rtype == "terraform_data":
        return "https://developer.hashicorp.com/terraform/language/resources/terraform-data"
    return None


def generate(module_dir):
    files = sorted(f for f in glob.glob(os.path.join(module_dir, "*.tf")))
    blocks = []
    providers, tf_version = {}, None
    for f in files:
        with open(f, encoding="utf-8") as fh:
            text = fh.read()
        rel = os.path.relpath(f)
        parsed = parse_file(rel, text)
        blocks += parsed
        if any(k == "terraform" for k, *_ in parsed):
            for name, body in required_providers_raw(text).items():
                source = re.search(r'source\s*=\s*"([^"]*)"', body)
                version = re.search(r'version\s*=\s*"([^"]*)"', body)
                providers[name] = (source.group(1) if source else "", version.group(1) if version else "")
            for kind, _l, attrs, _n, _line in parsed:
                if kind == "terraform" and "required_version" in attrs:
                    tf_version = unquote(attrs["required_version"], f"{rel}: required_version")

    out = ["## Requirements", ""]
    out += ["| Name | Version |", "|------|---------|"]
    if tf_version:
        out.append(f"| terraform | `{tf_version}` |")
    for name, (_source, version) in sorted(providers.items()):
        out.append(f"| {name} | `{version}` |" if version else f"| {name} | n/a |")

    used = sorted({labels[0].split("_")[0] for kind, labels, *_ in blocks if kind in ("resource", "data") and labels})
    out += ["", "## Providers", ""]
    provider_rows = [p for p in used if p in providers]
    if provider_rows:
        out += ["| Name | Version |", "|------|---------|"]
        for p in provider_rows:
            version = providers[p][1]
            out.append(f"| {p} | `{version}` |" if version else f"| {p} | n/a |")
    else:
        out.append("No providers.")

    modules = [(labels[0], attrs) for kind, labels, attrs, *_ in blocks if kind == "module"]
    out += ["", "## Modules", ""]
    if modules:
        out += ["| Name | Source |", "|------|--------|"]
        for name, attrs in sorted(modules, key=lambda m: m[0]):
            source = unquote(attrs.get("source", '""'), f"module {name}")
            out.append(f"| {name} | `{source}` |")
    else:
        out.append("No modules.")

    resources = sorted(
        {(labels[0], labels[1], kind) for kind, labels, *_ in blocks if kind in ("resource", "data") and len(labels) == 2}
    )
    out += ["", "## Resources", ""]
    if resources:
        out += ["| Name | Type |", "|------|------|"]
        for rtype, name, kind in resources:
            address = f"{'data.' if kind == 'data' else ''}{rtype}.{name}"
            link = resource_link(kind, rtype)
            shown = f"[{address}]({link})" if link else f"`{address}`"
            out.append(f"| {shown} | {'resource' if kind == 'resource' else 'data source'} |")
    else:
        out.append("No resources.")

    variables = sorted((labels[0], attrs, line) for kind, labels, attrs, _n, line in blocks if kind == "variable")
    out += ["", "## Inputs", ""]
    if variables:
        out += ["| Name | Description | Type | Default | Required |", "|------|-------------|------|---------|:--------:|"]
        for name, attrs, _line in variables:
            desc = unquote(attrs["description"], f"variable {name}") if "description" in attrs else ""
            vtype = f"`{one_line(attrs['type'])}`" if "type" in attrs else "`any`"
            if "default" in attrs:
                default, required = f"`{one_line(attrs['default'])}`", "no"
            else:
                default, required = "n/a", "yes"
            out.append(f"| {name} | {cell(desc)} | {cell(vtype)} | {cell(default)} | {required} |")
    else:
        out.append("No inputs.")

    outputs = sorted((labels[0], attrs) for kind, labels, attrs, *_ in blocks if kind == "output")
    out += ["", "## Outputs", ""]
    if outputs:
        out += ["| Name | Description |", "|------|-------------|"]
        for name, attrs in outputs:
            desc = unquote(attrs["description"], f"output {name}") if "description" in attrs else ""
            if one_line(attrs.get("sensitive", "false")) == "true":
                desc += " (sensitive)"
            out.append(f"| {name} | {cell(desc)} |")
    else:
        out.append("No outputs.")
    return "\n".join(out) + "\n"


def replace_between_markers(readme_text, docs, readme_path):
    if BEGIN not in readme_text or END not in readme_text:
        raise ParseError(f"{readme_path}: no {BEGIN} / {END} markers: add them where the generated tables go")
    head, rest = readme_text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{docs}{END}{tail}"


def main(argv):
    check = "--check" in argv
    dirs = [a for a in argv if a != "--check"]
    if not dirs:
        print(__doc__.strip().splitlines()[2].strip())
        return 2
    stale = []
    try:
        for d in dirs:
            readme = os.path.join(d, "README.md")
            with open(readme, encoding="utf-8") as fh:
                text = fh.read()
            new = replace_between_markers(text, generate(d), readme)
            if new != text:
                stale.append(readme)
                if not check:
                    with open(readme, "w", encoding="utf-8") as fh:
                        fh.write(new)
    except (ParseError, OSError) as e:
        print(f"terraform docs: {e}", file=sys.stderr)
        return 1
    if check and stale:
        for r in stale:
            print(f"{r}: the generated Terraform docs are stale: run `make terraform-docs`", file=sys.stderr)
        return 1
    if not check:
        print(f"terraform docs: {len(stale)} of {len(dirs)} READMEs rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
