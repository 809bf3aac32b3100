#!/usr/bin/env bash
# make deploy-local: `terraform apply` of the real root module (terraform/)
# with this repository's policies, against moto on this machine, to see
# what the apply creates before pointing it at an AWS account.
#
# moto runs through tools/moto_shim.py (two Step Functions actions the
# provider needs and moto lacks) on a free loopback port; terraform/,
# statemachines/ and policies/ are copied to target/deploy-local/ with
# tools/terraform-moto/*.tf (the provider pointed at moto); the Lambda zips
# are the debug build's binaries (moto stores them and never runs them).
# Afterwards the state stays in target/deploy-local/terraform
# (`terraform -chdir=target/deploy-local/terraform show`); moto stops,
# unless KEEP=1, which keeps it serving until Enter is pressed.
#
# Environment: TERRAFORM, TF_PLUGIN_DIR (a provider mirror for
# `terraform init -plugin-dir`), BIN_DIR (where cargo build put the
# binaries), PYTHON (the .venv Python with moto), KEEP.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
terraform=${TERRAFORM:-terraform}
python=${PYTHON:-$root/.venv/bin/python}
bin_dir=${BIN_DIR:-$root/target/debug}
work=$root/target/deploy-local

command -v "$terraform" > /dev/null || { echo "deploy-local: Terraform ($terraform) not found" >&2; exit 1; }
[ -x "$python" ] || { echo "deploy-local: $python not found: run make venv" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work"
tar -C "$root" --exclude='.terraform*' --exclude='*.tfstate*' -cf - terraform statemachines policies | tar -C "$work" -xf -
cp "$root"/tools/terraform-moto/*.tf "$work/terraform/"
PYTHON=$python "$root/tools/zip-debug-lambdas.sh" "$bin_dir" "$work/target/lambda"

port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
endpoint=http://127.0.0.1:$port
"$python" "$root/tools/moto_shim.py" -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2> /dev/null || true' EXIT
"$python" - "$endpoint" <<'PY'
import sys, time, urllib.request
for _ in range(600):
    try:
        urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=2)
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit("moto did not start: see target/deploy-local/moto.log")
PY
echo "moto (with tools/moto_shim.py) on $endpoint"

cd "$work/terraform"
"$terraform" init -input=false -backend=false ${TF_PLUGIN_DIR:+-plugin-dir="$TF_PLUGIN_DIR"} > "$work/init.log" \
  || { cat "$work/init.log"; exit 1; }
"$terraform" apply -auto-approve -input=false -var "moto_endpoint=$endpoint"

echo
echo "What the apply created, as moto lists it:"
"$python" "$root/tools/moto_inventory.py" "$endpoint"
echo
echo "The state: terraform -chdir=target/deploy-local/terraform show (or state list)."
echo "Not shown by moto: IAM and KMS policy evaluation, real invocations, e-mail subscriptions."
if [ "${KEEP:-}" = 1 ]; then
  echo "moto keeps serving on $endpoint (e.g. aws --endpoint-url $endpoint lambda list-functions). The CLI against it (moto takes any key):"
  echo "  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"
  echo "  appflow-retry status --terraform-dir target/deploy-local/terraform --endpoint-url $endpoint"
  echo "  appflow-retry redrive --terraform-dir target/deploy-local/terraform --endpoint-url $endpoint --dry-run"
  echo "Press Enter to stop it."
  read -r _
fi
