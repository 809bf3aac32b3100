#!/usr/bin/env python3
"""Terraform module docs, terraform-docs style, generated from the .tf files.

    tools/terraform_docs.py MODULE_DIR... [--check]

For each module directory: the Requirements, Providers, Modules, Resources,
Inputs and Outputs tables of terraform-docs' "markdown table" format, written
into MODULE_DIR/README.md between the lines <!-- BEGIN_TF_DOCS --> and
<!-- END_TF_DOCS -->. `--check` writes nothing and fails when a README
differs (`make terraform-docs` rewrites them).

The .tf files of the directory itself are read (not tests/ or any other
subdirectory). The reader tokenizes HCL (strings with their interpolations,
comments, heredocs) and parses its structure: blocks, labels, attributes. It
refuses, naming file:line, what it cannot read exactly rather than guess: a
syntax error, a heredoc or a template where the docs need a literal (a
description, a module source, a version), a variable or output declared twice.
"""

import bisect
import glob
import os
import re
import sys

BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
MAKE_TARGET = "make terraform-docs"

# The top-level blocks the docs read, with their number of labels; the other
# blocks Terraform knows are read (their syntax checked) and left out.
DOCUMENTED = {"terraform": 0, "variable": 1, "output": 1, "resource": 2, "data": 2, "module": 1}
UNDOCUMENTED = {"locals", "provider", "moved", "import", "check", "removed"}

# Resource types of the built-in `terraform` provider, and their docs.
BUILTIN_DOCS = {
    ("resource", "terraform_data"): "https://developer.hashicorp.com/terraform/language/resources/terraform-data",
    ("data", "terraform_remote_state"): "https://developer.hashicorp.com/terraform/language/state/remote-state-data",
}

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
HEREDOC = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n")
OPERATORS = ("...", "==", "!=", "<=", ">=", "&&", "||", "=>", "::")
PUNCTUATION = "=+-*/%<>!?:.,()[]{}~"
OPEN, CLOSE = "([{", ")]}"


class ParseError(Exception):
    pass


class Token:
    __slots__ = ("kind", "text", "start", "end", "line")

    def __init__(self, kind, text, start, end, line):
        self.kind, self.text, self.start, self.end, self.line = kind, text, start, end, line

    def is_punct(self, chars):
        return self.kind == "punct" and self.text in chars

    def shown(self):
        return "a new line" if self.kind == "nl" else repr(self.text[:40])

    def __repr__(self):
        return f"Token({self.kind}, {self.text!r}, line {self.line})"


class Expr:
    """An attribute's value: its tokens, and where it starts."""

    def __init__(self, tokens, path, line):
        self.tokens, self.path, self.line = tokens, path, line

    @property
    def where(self):
        return f"{self.path}:{self.line}"


class Block:
    def __init__(self, kind, labels, attrs, blocks, path, line):
        self.kind, self.labels, self.attrs, self.blocks = kind, labels, attrs, blocks
        self.path, self.line = path, line

    @property
    def where(self):
        return f"{self.path}:{self.line}"

    @property
    def address(self):
        return ".".join([self.kind] + self.labels)


# --------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------


def tokenize(text, path):
    """HCL tokens: ident, number, string (a whole quoted template, its
    interpolations included), heredoc, punct and nl (a newline); comments
    are dropped."""
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(offset):
        return bisect.bisect_right(newlines, offset - 1) + 1

    def fail(offset, what):
        raise ParseError(f"{path}:{line_of(offset)}: {what}")

    def string_end(i):
        """Index after the quoted template starting at text[i] == '"'."""
        j = i + 1
        while j < len(text):
            c = text[j]
            if c == "\\":
                j += 2
            elif c == '"':
                return j + 1
            elif c == "\n":
                fail(i, "a quoted string is not closed on its line")
            elif text.startswith(("$${", "%%{"), j):
                j += 3
            elif text.startswith(("${", "%{"), j):
                j = interpolation_end(j + 2, i)
            else:
                j += 1
        fail(i, "a quoted string is never closed")

    def interpolation_end(j, opened):
        depth = 0
        while j < len(text):
            c = text[j]
            if c == '"':
                j = string_end(j)
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                if depth == 0:
                    return j + 1
                depth -= 1
            j += 1
        fail(opened, "a ${ ... } in a string is never closed")

    tokens, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r":
            i += 1
            continue
        if c == "\n":
            tokens.append(Token("nl", "\n", i, i + 1, line_of(i)))
            i += 1
            continue
        if c == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                fail(i, "a /* comment is never closed")
            if "\n" in text[i:end]:
                tokens.append(Token("nl", "\n", i, end + 2, line_of(i)))
            i = end + 2
            continue
        if c == '"':
            end = string_end(i)
            tokens.append(Token("string", text[i:end], i, end, line_of(i)))
            i = end
            continue
        if text.startswith("<<", i):
            m = HEREDOC.match(text, i)
            if not m:
                fail(i, "'<<' that does not open a heredoc (<<EOT or <<-EOT, then a new line)")
            closing = re.compile(r"^[ \t]*" + re.escape(m.group(2)) + r"[ \t]*$", re.M).search(text, m.end())
            if not closing:
                fail(i, f"the heredoc <<{m.group(1)}{m.group(2)} is never closed")
            end = closing.end()
            tokens.append(Token("heredoc", text[i:end], i, end, line_of(i)))
            i = end
            continue
        m = IDENT.match(text, i) or NUMBER.match(text, i)
        if m:
            kind = "ident" if IDENT.match(text, i) else "number"
            tokens.append(Token(kind, m.group(0), i, m.end(), line_of(i)))
            i = m.end()
            continue
        op = next((o for o in OPERATORS if text.startswith(o, i)), None) or (c if c in PUNCTUATION else None)
        if op is None:
            fail(i, f"unexpected character {c!r}")
        tokens.append(Token("punct", op, i, i + len(op), line_of(i)))
        i += len(op)
    return tokens


# --------------------------------------------------------------------------
# Structure: blocks and attributes
# --------------------------------------------------------------------------


class Parser:
    def __init__(self, path, text):
        self.path = path
        self.tokens = tokenize(text, path)
        self.i = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def fail(self, token, what):
        line = token.line if token else (self.tokens[-1].line if self.tokens else 1)
        raise ParseError(f"{self.path}:{line}: {what}")

    def parse(self):
        attrs, blocks = self.body(None)
        if attrs:
            first = min(attrs.values(), key=lambda e: e.line)
            raise ParseError(f"{first.where}: an attribute outside any block")
        return blocks

    def body(self, opener):
        """Attributes and blocks up to the `}` closing `opener` (None: the file)."""
        attrs, blocks = {}, []
        while True:
            t = self.peek()
            if t is None:
                if opener is not None:
                    self.fail(opener, "this block is never closed")
                return attrs, blocks
            if t.kind == "nl":
                self.i += 1
                continue
            if t.is_punct("}") and opener is not None:
                return attrs, blocks
            if t.kind != "ident":
                self.fail(t, f"expected an attribute or a block, found {t.shown()}")
            self.i += 1
            nxt = self.peek()
            if nxt is not None and nxt.is_punct("="):
                self.i += 1
                if t.text in attrs:
                    self.fail(t, f"attribute {t.text} set twice")
                attrs[t.text] = self.expression(t)
            else:
                blocks.append(self.block(t))
            self.end_of_item()

    def block(self, kind):
        labels = []
        while True:
            t = self.peek()
            if t is not None and t.kind == "ident":
                labels.append(t.text)
            elif t is not None and t.kind == "string":
                labels.append(literal(t, self.path, f"a label of {kind.text}"))
            else:
                break
            self.i += 1
        t = self.peek()
        if t is None or not t.is_punct("{"):
            found = t.shown() if t else "the end of the file"
            self.fail(t or kind, f"expected '{{' to open the {kind.text} block, found {found}")
        self.i += 1
        attrs, blocks = self.body(t)
        self.i += 1  # the closing brace
        return Block(kind.text, labels, attrs, blocks, self.path, kind.line)

    def expression(self, name):
        """The tokens up to the end of the line (brackets may span lines) or
        the `}` of a one-line block."""
        depth, start = 0, self.i
        while True:
            t = self.peek()
            if t is None:
                if depth:
                    self.fail(name, f"a bracket opened in {name.text} is never closed")
                break
            if t.kind == "nl" and depth == 0:
                break
            if t.is_punct(OPEN):
                depth += 1
            elif t.is_punct(CLOSE):
                if depth == 0:
                    if t.text == "}":
                        break
                    self.fail(t, f"an unmatched {t.text!r}")
                depth -= 1
            self.i += 1
        tokens = self.tokens[start : self.i]
        if not tokens:
            self.fail(name, f"{name.text} has no value")
        return Expr(tokens, self.path, name.line)

    def end_of_item(self):
        t = self.peek()
        if t is None or t.kind == "nl" or t.is_punct("}"):
            return
        self.fail(t, f"expected a new line, found {t.shown()}")


def parse_file(path, text):
    """The top-level blocks of one .tf file."""
    return Parser(path, text).parse()


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------

ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def literal(token, path, what):
    """The text of a string token without interpolation, or ParseError."""
    if token.kind == "heredoc":
        raise ParseError(f"{path}:{token.line}: {what} is a heredoc: write it as a quoted string")
    if token.kind != "string":
        raise ParseError(f"{path}:{token.line}: {what} must be a quoted string, found {token.text[:40]!r}")
    body, out, i = token.text[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            nxt = body[i + 1 : i + 2]
            if nxt in ESCAPES:
                out.append(ESCAPES[nxt])
                i += 2
            elif nxt in ("u", "U"):
                size = 4 if nxt == "u" else 8
                digits = body[i + 2 : i + 2 + size]
                if not re.fullmatch(r"[0-9A-Fa-f]{%d}" % size, digits):
                    raise ParseError(f"{path}:{token.line}: {what}: a bad \\{nxt} escape")
                out.append(chr(int(digits, 16)))
                i += 2 + size
            else:
                raise ParseError(f"{path}:{token.line}: {what}: unknown escape \\{nxt}")
        elif body.startswith(("$${", "%%{"), i):
            out.append(body[i + 1 : i + 3])
            i += 3
        elif body.startswith(("${", "%{"), i):
            raise ParseError(f"{path}:{token.line}: {what} is a template ({body[i:i + 2]} ... }}): the docs need a literal")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def literal_value(expr, what):
    if len(expr.tokens) != 1:
        raise ParseError(f"{expr.where}: {what} must be a quoted string, found {one_line(expr)[:40]!r}")
    return literal(expr.tokens[0], expr.path, what)


def one_line(expr):
    """The source text of an expression on one line: comments dropped, the
    space between tokens made one space, object members on their own lines
    joined with commas, no space inside brackets, strings untouched."""
    out, stack, prev, newline = "", [], None, False
    for t in expr.tokens:
        if t.kind == "heredoc":
            raise ParseError(f"{expr.path}:{t.line}: a heredoc in a type or default: not supported, write it on one line")
        if t.kind == "nl":
            newline = True
            continue
        if prev is not None:
            closing = t.is_punct(CLOSE)
            if closing and out.endswith(","):
                out = out[:-1]  # a trailing comma
            elif out.endswith(tuple(OPEN)) or closing:
                pass
            elif newline and stack and stack[-1] == "{" and not out.endswith(","):
                out += ", "
            elif newline or t.start > prev.end:
                out += " "
        out += t.text
        if t.is_punct(OPEN):
            stack.append(t.text)
        elif t.is_punct(CLOSE) and stack:
            stack.pop()
        prev, newline = t, False
    return out


def object_members(expr, what):
    """{ key = value ... } as {key: Expr}."""
    tokens = expr.tokens
    if not (tokens[0].is_punct("{") and tokens[-1].is_punct("}")):
        raise ParseError(f"{expr.where}: {what} must be an object {{ ... }}")
    inner, members, i = tokens[1:-1], {}, 0
    while i < len(inner):
        t = inner[i]
        if t.kind == "nl" or t.is_punct(","):
            i += 1
            continue
        key = t.text if t.kind == "ident" else literal(t, expr.path, f"a key of {what}")
        if i + 1 >= len(inner) or not inner[i + 1].is_punct("=:"):
            raise ParseError(f"{expr.path}:{t.line}: {what}: expected '=' after {key}")
        j, depth = i + 2, 0
        while j < len(inner) and not (depth == 0 and (inner[j].kind == "nl" or inner[j].is_punct(","))):
            depth += inner[j].is_punct(OPEN) - inner[j].is_punct(CLOSE)
            j += 1
        if j == i + 2:
            raise ParseError(f"{expr.path}:{t.line}: {what}: {key} has no value")
        members[key] = Expr(inner[i + 2 : j], expr.path, t.line)
        i = j
    return members


# --------------------------------------------------------------------------
# The module
# --------------------------------------------------------------------------


class Module:
    def __init__(self):
        self.required_version = []  # constraint strings
        self.required_providers = {}  # name: (source, version)
        self.variables, self.outputs, self.modules = {}, {}, {}
        self.resources = {}  # (mode, type, name): Block


def load_module(module_dir):
    module = Module()
    for path in sorted(glob.glob(os.path.join(module_dir, "*.tf"))):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        shown = os.path.join(module_dir, os.path.basename(path))
        for block in parse_file(shown, text):
            add_block(module, block)
    return module


def add_block(module, block):
    if block.kind in UNDOCUMENTED:
        return
    if block.kind not in DOCUMENTED:
        raise ParseError(f"{block.where}: a top-level {block.kind} block: not a Terraform block this reader knows")
    if len(block.labels) != DOCUMENTED[block.kind]:
        raise ParseError(f"{block.where}: a {block.kind} block takes {DOCUMENTED[block.kind]} label(s), found {len(block.labels)}")

    def add(table, key, what):
        if key in table:
            raise ParseError(f"{block.where}: {what} is declared twice (also {table[key].where})")
        table[key] = block

    if block.kind == "terraform":
        if "required_version" in block.attrs:
            module.required_version.append(literal_value(block.attrs["required_version"], "required_version"))
        for inner in block.blocks:
            if inner.kind == "required_providers":
                for name, expr in inner.attrs.items():
                    module.required_providers[name] = provider_requirement(name, expr)
    elif block.kind == "variable":
        add(module.variables, block.labels[0], f"variable {block.labels[0]}")
    elif block.kind == "output":
        add(module.outputs, block.labels[0], f"output {block.labels[0]}")
    elif block.kind == "module":
        add(module.modules, block.labels[0], f"module {block.labels[0]}")
    else:
        mode = "resource" if block.kind == "resource" else "data"
        add(module.resources, (mode, block.labels[0], block.labels[1]), block.address)


def provider_requirement(name, expr):
    """(source, version constraint) of a required_providers entry."""
    what = f"required_providers.{name}"
    if len(expr.tokens) == 1 and expr.tokens[0].kind == "string":
        return f"hashicorp/{name}", literal_value(expr, what)  # the legacy `name = "version"`
    members = object_members(expr, what)
    source = literal_value(members["source"], f"{what}.source") if "source" in members else f"hashicorp/{name}"
    version = literal_value(members["version"], f"{what}.version") if "version" in members else ""
    return source, version


def resource_provider(block):
    """The provider a resource uses: its `provider` argument, else its type's prefix."""
    if "provider" in block.attrs:
        return one_line(block.attrs["provider"])
    return block.labels[0].split("_", 1)[0]


def resource_url(module, mode, rtype):
    if (mode, rtype) in BUILTIN_DOCS:
        return BUILTIN_DOCS[(mode, rtype)]
    provider = rtype.split("_", 1)[0]
    source = module.required_providers.get(provider, (f"hashicorp/{provider}", ""))[0]
    if provider == "terraform" or source.count("/") != 1 or "_" not in rtype:
        return None
    kind = "resources" if mode == "resource" else "data-sources"
    return f"https://registry.terraform.io/providers/{source}/latest/docs/{kind}/{rtype.split('_', 1)[1]}"


# --------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------


def anchored(prefix, name):
    """terraform-docs' name cell: an anchor, and a link to it."""
    escaped = name.replace("_", "\\_")
    return f'<a name="{prefix}_{name}"></a> [{escaped}](#{prefix}\\_{escaped})'


def text_cell(text):
    """Prose for a table cell: one line; outside `code`, the characters
    Markdown would take for emphasis or HTML escaped; pipes escaped."""
    text = " ".join(text.replace("\r", "\n").split("\n")).strip()
    if not text:
        return "n/a"
    parts = re.split(r"(`[^`]+`)", text)
    for k in range(0, len(parts), 2):
        parts[k] = re.sub(r"([\\*<])", r"\\\1", parts[k])
    return "".join(parts).replace("|", "\\|")


def code_cell(text):
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def table(headers, separators, rows, empty):
    if not rows:
        return [empty]
    return ["| " + " | ".join(headers) + " |", "|" + "|".join(separators) + "|"] + [
        "| " + " | ".join(row) + " |" for row in rows
    ]


def generate(module_dir):
    """The Markdown that goes between the markers, for one module directory."""
    m = load_module(module_dir)
    out = []

    def section(title, lines):
        if out:
            out.append("")
        out.extend([f"## {title}", ""] + lines)

    requirements = [(anchored("requirement", "terraform"), v) for v in m.required_version]
    requirements += [
        (anchored("requirement", name), version or "n/a") for name, (_s, version) in sorted(m.required_providers.items())
    ]
    section("Requirements", table(["Name", "Version"], ["------", "---------"], requirements, "No requirements."))

    used = {resource_provider(b) for b in m.resources.values()}
    providers = []
    for full in sorted(used):
        version = m.required_providers.get(full.split(".", 1)[0], ("", ""))[1]
        providers.append((anchored("provider", full), version or "n/a"))
    section("Providers", table(["Name", "Version"], ["------", "---------"], providers, "No providers."))

    modules = []
    for name, block in sorted(m.modules.items()):
        if "source" not in block.attrs:
            raise ParseError(f"{block.where}: module {name} has no source")
        source = literal_value(block.attrs["source"], f"module {name}'s source")
        version = literal_value(block.attrs["version"], f"module {name}'s version") if "version" in block.attrs else "n/a"
        modules.append((anchored("module", name), text_cell(source), text_cell(version)))
    section("Modules", table(["Name", "Source", "Version"], ["------", "--------", "---------"], modules, "No modules."))

    # terraform-docs' order: resources, then data sources, each by type.name.
    resources = []
    for mode, rtype, name in sorted(m.resources, key=lambda k: (k[0] != "resource", f"{k[1]}.{k[2]}")):
        url = resource_url(m, mode, rtype)
        spec = f"{rtype}.{name}"
        resources.append((f"[{spec}]({url})" if url else spec, "resource" if mode == "resource" else "data source"))
    section("Resources", table(["Name", "Type"], ["------", "------"], resources, "No resources."))

    inputs = []
    for name, block in sorted(m.variables.items()):
        attrs = block.attrs
        desc = literal_value(attrs["description"], f"variable {name}'s description") if "description" in attrs else ""
        vtype = code_cell(one_line(attrs["type"])) if "type" in attrs else "`any`"
        if "default" in attrs:
            default, required = code_cell(one_line(attrs["default"])), "no"
        else:
            default, required = "n/a", "yes"
        inputs.append((anchored("input", name), text_cell(desc), vtype, default, required))
    section(
        "Inputs",
        table(
            ["Name", "Description", "Type", "Default", "Required"],
            ["------", "-------------", "------", "---------", ":--------:"],
            inputs,
            "No inputs.",
        ),
    )

    outputs = []
    for name, block in sorted(m.outputs.items()):
        attrs = block.attrs
        desc = literal_value(attrs["description"], f"output {name}'s description") if "description" in attrs else ""
        cell = text_cell(desc)
        if "sensitive" in attrs and one_line(attrs["sensitive"]) == "true":
            cell += " (sensitive)"
        outputs.append((anchored("output", name), cell))
    section("Outputs", table(["Name", "Description"], ["------", "-------------"], outputs, "No outputs."))
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# READMEs
# --------------------------------------------------------------------------


def replace_between_markers(readme_text, docs, readme_path):
    """The README with `docs` between its markers (each once, on its own line)."""
    lines = readme_text.split("\n")
    begins = [i for i, line in enumerate(lines) if line.strip() == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if not begins or not ends:
        raise ParseError(f"{readme_path}: no {BEGIN} / {END} lines: add them where the generated tables go")
    if len(begins) > 1 or len(ends) > 1 or ends[0] < begins[0]:
        raise ParseError(f"{readme_path}: {BEGIN} and then {END} must each appear once, on a line of their own")
    head = "\n".join(lines[: begins[0] + 1])
    tail = "\n".join(lines[ends[0] :])
    return f"{head}\n{docs}{tail}"


def main(argv):
    check = "--check" in argv
    options = [a for a in argv if a.startswith("-")]
    dirs = [a for a in argv if not a.startswith("-")]
    if set(options) - {"--check"} or not dirs:
        print("usage: tools/terraform_docs.py MODULE_DIR... [--check]", file=sys.stderr)
        return 2
    stale, failed, written = [], False, 0
    for d in dirs:
        readme = os.path.join(d, "README.md")
        try:
            if not os.path.isdir(d):
                raise ParseError(f"{d}: not a directory")
            if not os.path.isfile(readme):
                raise ParseError(f"{readme}: no such file: create it with the {BEGIN} / {END} lines")
            with open(readme, encoding="utf-8") as f:
                text = f.read()
            new = replace_between_markers(text, generate(d), readme)
        except (ParseError, OSError, UnicodeDecodeError) as e:
            print(f"terraform docs: {e}", file=sys.stderr)
            failed = True
            continue
        if new != text:
            stale.append(readme)
            if not check:
                with open(readme, "w", encoding="utf-8") as f:
                    f.write(new)
                written += 1
    if check:
        for r in stale:
            print(f"{r}: the generated Terraform docs are stale: run `{MAKE_TARGET}`", file=sys.stderr)
        return 1 if stale or failed else 0
    print(f"terraform docs: {written} of {len(dirs)} READMEs rewritten")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
