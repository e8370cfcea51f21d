# latentr3 tasks. Install just with `cargo install just --locked` or `pip install rust-just`.

set shell := ["bash", "-euo", "pipefail", "-c"]

# The dev profile optimises dependencies (burn, polars), so runs share the test build; add
# `--release` here for the last few percent. Not `--quiet`: a cold build takes a while and shows
# its progress.
latentr3 := "cargo run -p latentr3-cli --"

default:
    @just --list

# The main job: train on the embedded synthetic data (or another experiment).
train config="experiments/synthetic.toml" *args="":
    {{latentr3}} train --config {{config}} {{args}}

# Run the whole test suite.
test:
    cargo test --workspace

# The evaluation protocol against independent Python implementations (CI runs it too).
check-protocol:
    bash tests/reference/check.sh

# flex vs wgpu on a few training steps (needs a Vulkan driver: apt install mesa-vulkan-drivers).
test-wgpu:
    cargo test -p latentr3-cli --features wgpu --test wgpu

# Download a MovieLens release into data/ (ml-100k, ml-1m, ml-20m, ml-25m, ml-latest-small).
data name="ml-100k":
    {{latentr3}} data fetch {{name}} --dir data

# Dataset statistics for an experiment or a data file.
stats source="experiments/synthetic.toml":
    {{latentr3}} data stats {{source}}

# Evaluate a baseline (pop or random) on an experiment's test split.
baseline which="pop" config="experiments/synthetic.toml":
    {{latentr3}} eval --baseline {{which}} --config {{config}}

# Benchmarks recorded in BENCHMARKS.md (data pipeline and evaluator, each against its Python peer).
bench:
    bash benches/run.sh

# Reliability figures (BENCHMARKS.md "Reliability"): kills, loader memory, disk faults (root).
reliability:
    cargo build --release -p latentr3-cli
    python3 tests/kill/kill_test.py "${CARGO_TARGET_DIR:-target}/release/latentr3" 30 2026
    python3 benches/loader_memory.py "${CARGO_TARGET_DIR:-target}/release/latentr3"
    python3 tests/faults/disk_faults.py "${CARGO_TARGET_DIR:-target}/release/latentr3"

# Formatting, lints and doc links.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# TensorBoard over the run directories (pip install tensorboard).
tb:
    tensorboard --logdir runs
