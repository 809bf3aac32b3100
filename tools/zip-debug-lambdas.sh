#!/usr/bin/env bash
# zip-debug-lambdas.sh BIN_DIR OUT_DIR: OUT_DIR/{on-failure,restart,sweep}/bootstrap.zip
# from the binaries `cargo build` put in BIN_DIR (e.g. target/debug), each
# zip holding one entry named `bootstrap`, as the Lambda provided.al2023
# runtime expects.
#
# For moto only (make e2e, make deploy-local): moto stores a function's zip
# and never runs it, so the host's debug build will do and `make package`
# (cargo-lambda, ~10 min) is not needed. A copy is stripped first when
# `strip` exists (a debug binary is ~300 MB, ~35 MB stripped): that is
# bytes the provider base64-encodes and moto stores. These zips are NOT
# deployable to AWS: use `make package` for that.
set -euo pipefail
bin_dir=$1
out_dir=$2
python=${PYTHON:-python3}
for f in on-failure restart sweep; do
  src="$bin_dir/$f"
  [ -x "$src" ] || { echo "zip-debug-lambdas: $src not found: run cargo build first" >&2; exit 1; }
  mkdir -p "$out_dir/$f"
  if command -v strip > /dev/null; then
    strip -o "$out_dir/$f/bootstrap" "$src"
  else
    cp "$src" "$out_dir/$f/bootstrap"
  fi
  "$python" - "$out_dir/$f/bootstrap" "$out_dir/$f/bootstrap.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
    z.write(sys.argv[1], "bootstrap")
PY
  rm -f "$out_dir/$f/bootstrap"
done
