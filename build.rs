//! Links the function binaries as fixed-address executables when the `no-pie` feature is on
//! (the Lambda build, [package.metadata.lambda.build] in Cargo.toml). A position-independent
//! executable carries a dynamic relocation for every pointer in its read-only data, about a
//! megabyte in each function (issue 12); without PIE the linker resolves them once. What goes is
//! the random load address of the binary image itself (the heap, stacks and libraries are still
//! randomised), as in a Go binary on Lambda.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_NO_PIE").is_some() {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}
