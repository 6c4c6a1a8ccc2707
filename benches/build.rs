//! Links libyuv for the `scale` bench's comparison cases. Debian ships only the
//! versioned runtime (`libyuv.so.0`, package `libyuv0`) when `libyuv-dev` is
//! absent, so link that file by its exact name.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::path::Path::new("/usr/lib/x86_64-linux-gnu/libyuv.so").exists() {
        println!("cargo:rustc-link-lib=yuv");
    } else {
        println!("cargo:rustc-link-arg-benches=-l:libyuv.so.0");
    }
}
