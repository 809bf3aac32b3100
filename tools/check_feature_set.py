#!/usr/bin/env python3
"""One feature set for the workspace's builds.

Cargo enables a dependency's features from the packages one command selects,
so `cargo build -p appflow-retry-cli` (make policies, make example),
`cargo build -p appflow-retry-demo` (make demo) and `cargo build --workspace`
(make deploy-local) would each compile the AWS SDK again with features of
their own. crates/workspace-hack pins the features `cargo test --workspace`
uses; this check builds each selection and fails, naming the package and the
features to add, when one of them compiles a unit the test build did not.

Run after `cargo test --workspace --no-run` (make test runs it after the
tests): each selection is then already built and the check takes seconds.
"""

import json
import subprocess
import sys

CARGO = "cargo"

# The selections the Makefile builds besides the tests.
SELECTIONS = [
    ["build", "--workspace"],
    ["build", "-p", "appflow-retry-cli"],
    ["build", "-p", "appflow-retry-demo"],
]
REFERENCE = ["test", "--workspace", "--no-run"]


def artifacts(lines):
    """{file name: (package name, features)} from cargo's JSON messages."""
    found = {}
    for line in lines:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("reason") != "compiler-artifact" or not msg.get("filenames"):
            continue
        # The hashed file under deps/ names the unit (a member's rlib is
        # also copied out of deps/ without its hash).
        files = msg["filenames"]
        path = next((f for f in files if "/deps/" in f), files[0])
        name = path.rsplit("/", 1)[-1].split(".", 1)[0]
        found[name] = (msg["target"]["name"], tuple(msg.get("features", [])))
    return found


def drift(reference, selection):
    """The units `selection` built that `reference` did not: one line each,
    with the features the test build gives that package."""
    ref_features = {}
    for pkg, features in reference.values():
        ref_features.setdefault(pkg, set()).add(features)
    lines = []
    for name, (pkg, features) in sorted(selection.items(), key=lambda kv: kv[1]):
        if name in reference:
            continue
        theirs = sorted(ref_features.get(pkg, set()))
        if not theirs:
            lines.append(f"{pkg}: not in the tests' build")
        elif tuple(features) not in theirs:
            missing = sorted(set().union(*map(set, theirs)) - set(features))
            lines.append(f"{pkg}: features [{', '.join(features)}]; the test build adds [{', '.join(missing)}]")
        else:
            lines.append(f"{pkg}: same features, a dependency differs")
    # The packages whose features differ first: they are the fix.
    return sorted(lines, key=lambda line: "same features" in line)


def run(args):
    out = subprocess.run(
        [CARGO, *args, "--locked", "--message-format=json"],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return artifacts(out.stdout.splitlines())


def main():
    print("one feature set: cargo " + " ".join(REFERENCE), flush=True)
    reference = run(REFERENCE)
    failed = False
    for args in SELECTIONS:
        lines = drift(reference, run(args))
        if lines:
            failed = True
            print(f"cargo {' '.join(args)} compiles {len(lines)} units the tests' build does not:")
            for line in lines:
                print("  " + line)
        else:
            print(f"  cargo {' '.join(args)}: same units")
    if failed:
        print(
            "add the features named above to crates/workspace-hack/Cargo.toml "
            "(the line 'a dependency differs' follows from another one)"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
