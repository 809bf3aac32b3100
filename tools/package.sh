#!/usr/bin/env bash
# Package the appflow-retry Lambda functions for AWS Lambda's provided.al2023
# runtime.
#
#   tools/package.sh                  build, zip and check (x86_64; arm64 too
#                                     when its Rust target is installed)
#   ARCH=x86_64 tools/package.sh      x86_64 only (so does --no-arm64)
#   ARCH=arm64 tools/package.sh       arm64 only; fails if the
#                                     aarch64-unknown-linux-gnu target is missing
#   tools/package.sh --check-glibc F...
#                                     only run the glibc check on ELF files or
#                                     bootstrap zips (exit 1 if one fails)
#
# Output (cargo-lambda's layout with --output-format zip):
#   target/lambda/on-failure/bootstrap.zip        x86_64
#   target/lambda/restart/bootstrap.zip           x86_64
#   target/lambda/sweep/bootstrap.zip             x86_64
#   target/lambda-arm64/on-failure/bootstrap.zip  arm64 (if built)
#   target/lambda-arm64/restart/bootstrap.zip     arm64 (if built)
#   target/lambda-arm64/sweep/bootstrap.zip       arm64 (if built)
# ("target" is Cargo's target directory: CARGO_TARGET_DIR is honoured.)
#
# Each zip must hold exactly one entry, an executable file named `bootstrap`,
# and that ELF binary must need no glibc newer than provided.al2023's (2.34):
# the script fails otherwise.
#
# The build runs cargo-lambda, installed from PyPI (pinned, with a pinned zig
# from the `ziglang` package) into .venv-lambda/ at the repo root, which is
# reused while it holds the pinned versions. cargo-lambda cross-links with
# `zig cc` (its cargo-zigbuild backend), so the binaries are linked against
# zig's glibc stubs rather than this machine's newer glibc (zig 0.17.1 links
# x86_64 and aarch64 against glibc 2.31 unless told otherwise; a
# `--target x86_64-unknown-linux-gnu.2.34` would raise that floor).
#
# With --release cargo-lambda also adds, unless Cargo.toml's release profile
# sets them: strip = "symbols" and panic = "abort" (the workspace sets lto and
# codegen-units itself, which cargo-lambda keeps), and -C target-cpu=haswell
# (x86_64) or neoverse-n1 (arm64). Cargo.toml is not touched.
#
# Cross build notes (aws-lc-sys): the AWS SDK's default HTTPS client pulls in
# rustls with aws-lc-rs, whose aws-lc-sys compiles AWS-LC's C code with the cc
# crate. Under cargo-zigbuild the cc crate is pointed at zig through
# CC_<target>/CXX_<target> wrapper scripts, and aws-lc-sys 0.47 (Cargo.lock)
# builds with its cc builder (no cmake, no bindgen: it ships pregenerated Rust
# bindings). With the pins below that builds as is:
# no AWS_LC_SYS_* or CFLAGS override is needed. If a future pin breaks it, the
# knobs are AWS_LC_SYS_CC_<target>/AWS_LC_SYS_CFLAGS_<target> (aws-lc-sys's
# own compiler and flags), AWS_LC_SYS_NO_ASM=1 (debug builds only) and
# AWS_LC_SYS_CMAKE_BUILDER=1 (needs cmake).
set -euo pipefail

# --- pins and constants -------------------------------------------------------
CARGO_LAMBDA_VERSION=1.9.2   # PyPI `cargo-lambda` (bundles cargo-zigbuild 0.23.0)
ZIGLANG_VERSION=0.17.1       # PyPI `ziglang`: cargo-lambda only asks for >=0.10
GLIBC_MAX=2.34               # glibc of Amazon Linux 2023 (provided.al2023)
PACKAGE=appflow-retry-lambda
BINS=(on-failure restart sweep)
ARM64_TARGET=aarch64-unknown-linux-gnu
# After changing a pin, run `cargo clean --release --target <triple>` for both
# triples: cargo-zigbuild's compiler wrappers keep their paths when zig
# changes, so Cargo would reuse C objects built by the old zig. (The reverse
# holds too: the wrappers name the venv's path, so a moved repo or venv
# rebuilds everything.)

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv-lambda"
PYTHON=${PYTHON:-python3}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'package.sh: error: %s\n' "$*" >&2; exit 1; }

# --- the checks ---------------------------------------------------------------
# check_artifact MAX_GLIBC ARCH FILE: FILE is an ELF binary or a Lambda zip.
# A zip must contain exactly one entry, a regular file named `bootstrap` with
# execute bits; its contents are what gets checked. ARCH (x86_64, arm64 or
# any) is the ELF machine expected. The glibc check reads the ELF's version
# needs (.gnu.version_r, what the dynamic loader checks at start-up, the same
# thing `readelf -V` prints), so it needs nothing but python3: every
# GLIBC_x.y[.z] there must be <= MAX_GLIBC. Non-numeric glibc tags are
# failures too: GLIBC_ABI_DT_RELR means glibc >= 2.36 (packed relocations),
# GLIBC_PRIVATE is no stable ABI at all.
# Prints one line on stdout: the highest GLIBC version needed ("none" if no
# glibc version is needed), or, with exit status 1, why FILE fails.
check_artifact() {
    "$PYTHON" - "$@" <<'PY'
import re, stat, struct, sys, zipfile

max_glibc, arch, path = sys.argv[1], sys.argv[2], sys.argv[3]
SHT_GNU_VERNEED = 0x6FFFFFFE
MACHINES = {"x86_64": 62, "arm64": 183}  # EM_X86_64, EM_AARCH64


def fail(msg):
    print(msg)
    sys.exit(1)


def version(tag):
    m = re.fullmatch(r"GLIBC_(\d+(?:\.\d+)+)", tag)
    return tuple(int(x) for x in m.group(1).split(".")) if m else None


def glibc_needs(data):
    if data[:4] != b"\x7fELF":
        fail("not an ELF file")
    cls, enc = data[4], data[5]
    if cls not in (1, 2) or enc not in (1, 2):
        fail("unsupported ELF class or byte order")
    e = "<" if enc == 1 else ">"
    machine, = struct.unpack_from(e + "H", data, 0x12)
    if arch != "any" and machine != MACHINES[arch]:
        fail(f"ELF machine {machine} is not {arch} ({MACHINES[arch]})")
    if cls == 2:
        shoff, = struct.unpack_from(e + "Q", data, 0x28)
        shentsize, shnum = struct.unpack_from(e + "HH", data, 0x3A)
        shdr = e + "IIQQQQIIQQ"
    else:
        shoff, = struct.unpack_from(e + "I", data, 0x20)
        shentsize, shnum = struct.unpack_from(e + "HH", data, 0x2E)
        shdr = e + "IIIIIIIIII"
    if shoff == 0 or shnum == 0:
        fail("ELF has no section headers: cannot read its glibc version needs")
    secs = [struct.unpack_from(shdr, data, shoff + i * shentsize) for i in range(shnum)]
    tags = set()
    for s in secs:
        if s[1] != SHT_GNU_VERNEED:
            continue
        strtab = secs[s[6]][4]  # sh_link -> .dynstr, its sh_offset
        off, count = s[4], s[7]  # sh_offset, sh_info = number of Verneed
        for _ in range(count):  # Elf_Verneed: version, cnt, file, aux, next
            _v, cnt, _file, aux, nxt = struct.unpack_from(e + "HHIII", data, off)
            a = off + aux
            for _ in range(cnt):  # Elf_Vernaux: hash, flags, other, name, next
                _h, _f, _o, name, anext = struct.unpack_from(e + "IHHII", data, a)
                end = data.index(b"\0", strtab + name)
                tag = data[strtab + name:end].decode("ascii", "replace")
                if tag.startswith("GLIBC_"):
                    tags.add(tag)
                a += anext
            if nxt == 0:
                break
            off += nxt
    return tags


if path.endswith(".zip"):
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            names = [i.filename for i in infos]
            if names != ["bootstrap"]:
                fail(f"expected exactly one entry named 'bootstrap', found {names}")
            info = infos[0]
            mode = info.external_attr >> 16
            if info.is_dir() or not stat.S_ISREG(mode):
                fail(f"'bootstrap' is not a regular file (mode {oct(mode)})")
            if mode & 0o111 != 0o111:
                fail(f"'bootstrap' is not executable (mode {oct(mode)})")
            bad = z.testzip()
            if bad is not None:
                fail(f"corrupt entry {bad}")
            data = z.read(info)
    except zipfile.BadZipFile as err:
        fail(f"not a valid zip: {err}")
else:
    with open(path, "rb") as f:
        data = f.read()

tags = glibc_needs(data)
limit = version("GLIBC_" + max_glibc)
numeric = sorted((t for t in tags if version(t)), key=version)
too_new = [t for t in numeric if version(t) > limit]
odd = sorted(t for t in tags if not version(t))
if too_new or odd:
    why = ", ".join(too_new + odd)
    if "GLIBC_ABI_DT_RELR" in odd:
        why += " (GLIBC_ABI_DT_RELR: glibc >= 2.36)"
    fail(f"needs a glibc newer than {max_glibc}: {why}")
print(numeric[-1] if numeric else "none")
PY
}

usage() { sed -n '2,/^# The build runs/{/^# The build runs/d;s/^# \{0,1\}//;p}' "$0"; }

# --- arguments ----------------------------------------------------------------
case "${1:-}" in
    --check-glibc)
        shift
        [[ $# -gt 0 ]] || die "--check-glibc needs at least one file"
        status=0
        for f in "$@"; do
            [[ -f "$f" ]] || die "no such file: $f"
            if res=$(check_artifact "$GLIBC_MAX" any "$f"); then
                echo "ok    $f: highest glibc needed $res (<= $GLIBC_MAX)"
            else
                echo "FAIL  $f: ${res:-check failed}"
                status=1
            fi
        done
        exit "$status"
        ;;
    --no-arm64) ARCH=x86_64; shift ;;
    -h|--help) usage; exit 0 ;;
    "") ;;
    *) usage >&2; die "unknown argument: $1" ;;
esac
[[ $# -eq 0 ]] || die "unexpected argument: $1"
# ARCH (from the environment, `make package ARCH=...`): empty or auto, x86_64, arm64.
case "${ARCH:-auto}" in
    auto) X86=yes ARM64=auto ;;
    x86_64|x86-64|x86|amd64) X86=yes ARM64=no ;;
    arm64|aarch64) X86=no ARM64=yes ;;
    *) die "ARCH must be x86_64, arm64 or auto (empty), not '$ARCH'" ;;
esac

arm64_installed() {
    command -v rustup >/dev/null && rustup target list --installed | grep -qx "$ARM64_TARGET"
}
if [[ $ARM64 == yes ]] && ! arm64_installed; then
    die "ARCH=arm64 needs the $ARM64_TARGET Rust target: rustup target add $ARM64_TARGET"
fi

# --- cargo-lambda in .venv-lambda ---------------------------------------------
command -v "$PYTHON" >/dev/null || die "$PYTHON not found (needed for cargo-lambda's venv)"
command -v cargo >/dev/null || die "cargo not found"

venv_has_pins() {
    "$VENV/bin/python" - "$CARGO_LAMBDA_VERSION" "$ZIGLANG_VERSION" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
sys.exit(0 if (version("cargo-lambda"), version("ziglang")) == tuple(sys.argv[1:3]) else 1)
PY
}

if [[ -x "$VENV/bin/cargo-lambda" ]] && venv_has_pins; then
    say "reusing $VENV (cargo-lambda $CARGO_LAMBDA_VERSION, ziglang $ZIGLANG_VERSION)"
else
    if ! "$VENV/bin/python" -c '' 2>/dev/null; then
        say "creating $VENV"
        rm -rf "$VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    say "installing cargo-lambda==$CARGO_LAMBDA_VERSION ziglang==$ZIGLANG_VERSION into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIGLANG_VERSION"
    venv_has_pins || die "$VENV does not hold the pinned versions after pip install"
fi

# Run the venv's cargo-lambda directly (it is what `cargo lambda` execs):
# `cargo lambda` would take the first cargo-lambda in $CARGO_HOME/bin or PATH,
# which may be another version.
CARGO_LAMBDA=("$VENV/bin/cargo-lambda" lambda)
# cargo-zigbuild looks for zig as `python3 -m ziglang` first, then `zig`, both
# from PATH: name the venv's python so the pinned zig is the one used.
export CARGO_ZIGBUILD_PYTHON_PATH="$VENV/bin/python3"
export PATH="$VENV/bin:$PATH"

TARGET_DIR=$(cargo metadata --format-version 1 --no-deps --locked |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

# --- build --------------------------------------------------------------------
declare -a SUMMARY=()
FAILED=0

# build ARCH_FLAG ARCH LAMBDA_DIR
build() {
    local flag=$1 arch=$2 dir=$3 bin zip res size t0
    for bin in "${BINS[@]}"; do rm -f "$dir/$bin/bootstrap.zip"; done
    local cmd=("${CARGO_LAMBDA[@]}" build --release --locked -p "$PACKAGE")
    for bin in "${BINS[@]}"; do cmd+=(--bin "$bin"); done
    cmd+=(--output-format zip --compiler cargo-zigbuild "$flag" --lambda-dir "$dir")
    say "building $arch: cargo lambda ${cmd[*]:2}"
    t0=$SECONDS
    "${cmd[@]}" || die "cargo lambda build failed for $arch"
    say "$arch build took $((SECONDS - t0)) s"
    for bin in "${BINS[@]}"; do
        zip="$dir/$bin/bootstrap.zip"
        [[ -f "$zip" ]] || die "cargo lambda did not produce $zip"
        size=$(($(wc -c <"$zip")))
        size="$size bytes ($(awk -v b="$size" 'BEGIN { printf "%.1f MiB", b / 1048576 }'))"
        if res=$(check_artifact "$GLIBC_MAX" "$arch" "$zip"); then
            SUMMARY+=("ok    $arch  ${zip#"$ROOT"/}  $size  highest glibc needed: $res")
        else
            SUMMARY+=("FAIL  $arch  ${zip#"$ROOT"/}  $size  ${res:-check failed}")
            FAILED=1
        fi
    done
}

if [[ $X86 == yes ]]; then
    build --x86-64 x86_64 "$TARGET_DIR/lambda"
fi
if [[ $ARM64 == no ]]; then
    say "arm64: skipped (x86_64 only)"
elif arm64_installed; then
    build --arm64 arm64 "$TARGET_DIR/lambda-arm64"
else
    say "arm64: skipped, the $ARM64_TARGET Rust target is not installed" \
        "(rustup target add $ARM64_TARGET)"
fi

echo
echo "Lambda packages (provided.al2023, glibc <= $GLIBC_MAX):"
printf '  %s\n' "${SUMMARY[@]}"
if [[ $FAILED -ne 0 ]]; then
    die "a package failed its checks (FAIL above): it must not be deployed to provided.al2023"
fi
