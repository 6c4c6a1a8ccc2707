//! `cargo bench --bench mixing`: the media hot path, one group per stage.
//!
//! Groups: `composite`, `scale`, `audio_mix`, `tick`. Figures and the machine
//! they were taken on are in `docs/performance.md`.

use criterion::{criterion_group, criterion_main};

mod audio_mix;
mod composite;
mod scale;
mod tick;

criterion_group!(
    benches,
    composite::bench,
    scale::bench,
    audio_mix::bench,
    tick::bench
);
criterion_main!(benches);
