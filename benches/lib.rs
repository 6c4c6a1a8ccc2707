//! Holder crate for the criterion benches in `mixing/` (run `cargo bench --bench mixing`).
