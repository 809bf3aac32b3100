//! Empty: a build script makes Cargo resolve `[build-dependencies]`, so the
//! proc-macros' `syn` is compiled with the same features in every build.
fn main() {}
