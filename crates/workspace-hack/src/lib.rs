//! No code. See this crate's `Cargo.toml`: it pins one feature set for the
//! workspace's dependencies so that no build recompiles them with another.
