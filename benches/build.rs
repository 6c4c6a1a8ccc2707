//! Links libyuv for the `scale` bench's comparison cases. Debian ships only the
//! versioned runtime (`libyuv.so.0`, package `libyuv0`) when `libyuv-dev` is
//! absent, so link that file by its exact name.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Link arguments of the bench targets themselves: a `rustc-link-lib` would
    // ride on the lib target, which the benches do not use, so rustc drops it.
    if std::path::Path::new("/usr/lib/x86_64-linux-gnu/libyuv.so").exists() {
        println!("cargo:rustc-link-arg-benches=-lyuv");
    } else {
        println!("cargo:rustc-link-arg-benches=-l:libyuv.so.0");
    }
}
