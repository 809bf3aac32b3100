#!/usr/bin/env bash
# Prints a local directory that holds the hashicorp/aws Terraform provider
# (a `terraform init -plugin-dir` layout), or nothing. The Makefile passes it
# to `terraform init -plugin-dir` when found, so that machines without
# registry access can init; elsewhere plain `terraform init` is used.
#
# Looked at, in order: $TF_PLUGIN_DIR; Terraform's implied local mirror
# directories; then directories one level under /opt (where offline images
# put provider mirrors).
set -u
candidates=(
  "${TF_PLUGIN_DIR:-}"
  "${HOME:-/nonexistent}/.terraform.d/plugins"
  "${XDG_DATA_HOME:-${HOME:-/nonexistent}/.local/share}/terraform/plugins"
  /usr/local/share/terraform/plugins
  /usr/share/terraform/plugins
)
for dir in /opt/*/; do
  candidates+=("${dir%/}")
done
for dir in "${candidates[@]}"; do
  if [ -n "$dir" ] && [ -d "$dir/registry.terraform.io/hashicorp/aws" ]; then
    echo "$dir"
    exit 0
  fi
done
exit 0
