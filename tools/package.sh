#!/usr/bin/env bash
# Package the appflow-retry Lambda functions for AWS Lambda's provided.al2023
# runtime: build with cargo-lambda (pinned, from PyPI), zip, and check every
# zip with tools/check_lambda_zip.py. `tools/package.sh --help` for usage;
# docs/packaging.md for how and why (pins, glibc, cross builds).
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
# check_artifact MAX_GLIBC ARCH FILE: prints the highest glibc FILE needs
# ("none" if none), or, with exit status 1, why FILE must not be deployed.
check_artifact() {
    "$PYTHON" "$ROOT/tools/check_lambda_zip.py" --bare --max-glibc "$1" --arch "$2" "$3"
}

usage() {
    cat <<EOF
Usage:
  tools/package.sh                  build, zip and check (x86_64; arm64 too
                                    when its Rust target is installed)
  ARCH=x86_64 tools/package.sh      x86_64 only (so does --no-arm64)
  ARCH=arm64 tools/package.sh       arm64 only; fails if the
                                    $ARM64_TARGET target is missing
  tools/package.sh --check-glibc F...
                                    only check ELF files or bootstrap zips
                                    (exit 1 if one fails)

Output (cargo-lambda's layout with --output-format zip; "target" is Cargo's
target directory, CARGO_TARGET_DIR is honoured):
  target/lambda/{on-failure,restart,sweep}/bootstrap.zip        x86_64
  target/lambda-arm64/{on-failure,restart,sweep}/bootstrap.zip  arm64 (if built)

Each zip must hold exactly one entry, an executable file named bootstrap,
whose ELF binary needs no glibc newer than provided.al2023's ($GLIBC_MAX).
See docs/packaging.md.
EOF
}

# --- arguments ----------------------------------------------------------------
case "${1:-}" in
    --check-glibc)
        shift
        [[ $# -gt 0 ]] || die "--check-glibc needs at least one file"
        for f in "$@"; do [[ -f "$f" ]] || die "no such file: $f"; done
        exec "$PYTHON" "$ROOT/tools/check_lambda_zip.py" --max-glibc "$GLIBC_MAX" "$@"
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
