//! Vietnamese name labels: the diacritics are really drawn, NFC and NFD input
//! agree, every letter has a glyph, long names are ellipsised, results are
//! cached, and two names match their PNG goldens.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::{
    Channels, Image, Tolerance, assert_golden, compare_images, frame_to_image, label_to_image,
};
use mcu_mixer::frame::{I420Frame, Yuv};
use mcu_mixer::label::{LabelBitmap, LabelRenderer};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

const NAMES: [&str; 5] = [
    "UBND huyện Sơn Dương",
    "Sở Thông tin và Truyền thông",
    "Ủy ban nhân dân tỉnh Tuyên Quang",
    "Xã Đồng Quý",
    "Phường Hạ Long",
];

/// Removes Vietnamese diacritics: NFD, drop combining marks, đ→d, Đ→D.
fn strip_diacritics(s: &str) -> String {
    s.nfd()
        .filter(|&c| !is_combining_mark(c))
        .map(|c| match c {
            'đ' => 'd',
            'Đ' => 'D',
            c => c,
        })
        .collect()
}

/// Summed coverage of rows `rows`.
fn ink_in_rows(b: &LabelBitmap, rows: std::ops::Range<usize>) -> u64 {
    rows.flat_map(|r| &b.alpha[r * b.width..(r + 1) * b.width])
        .map(|&a| a as u64)
        .sum()
}

#[test]
fn strip_diacritics_helper_strips() {
    assert_eq!(strip_diacritics("Ủy ban Đồng Quý"), "Uy ban Dong Quy");
}

#[test]
fn diacritics_add_ink_above_x_height_and_below_baseline() {
    let mut r = LabelRenderer::new();
    let px = 32;
    let m = r.metrics(px);
    // A tone mark or dot covers at least ~2×2 fully inked pixels at 32 px.
    let mark_ink = 4 * 255;
    for name in NAMES {
        let plain = strip_diacritics(name);
        assert_ne!(plain, name);
        let with = r.render(name, px, u32::MAX);
        let without = r.render(&plain, px, u32::MAX);
        assert_ne!(*with, *without, "{name}: diacritics changed nothing");

        let above = |b: &LabelBitmap| ink_in_rows(b, 0..m.x_height_top as usize);
        assert!(
            above(&with) >= above(&without) + mark_ink,
            "{name}: ink above the x-height {} vs {} without marks",
            above(&with),
            above(&without)
        );

        // Only names with a dot below (nặng) add ink under the baseline.
        let below = |b: &LabelBitmap| ink_in_rows(b, m.baseline as usize + 1..b.height);
        if name.nfd().any(|c| c == '\u{0323}') {
            assert!(
                below(&with) >= below(&without) + mark_ink,
                "{name}: ink below the baseline {} vs {} without marks",
                below(&with),
                below(&without)
            );
        }
    }
}

#[test]
fn nfc_and_nfd_input_render_identically() {
    let mut r = LabelRenderer::new();
    for name in NAMES {
        let nfc: String = name.nfc().collect();
        let nfd: String = name.nfd().collect();
        assert_ne!(nfc, nfd, "{name} has no decomposable letter");
        assert!(r.fallback_chars(&nfd).is_empty());
        assert_eq!(
            *r.render(&nfc, 24, u32::MAX),
            *r.render(&nfd, 24, u32::MAX),
            "{name}"
        );
    }
    // Marks typed in non-canonical order (circumflex after the dot below) too.
    let typed = "Hu\u{0079}e\u{0323}\u{0302}n";
    assert_eq!(
        *r.render(typed, 24, u32::MAX),
        *r.render("Huyện", 24, u32::MAX)
    );
}

/// Every letter of the Vietnamese alphabet, both cases, NFC.
fn vietnamese_alphabet() -> Vec<char> {
    let tones = ['\u{0300}', '\u{0301}', '\u{0303}', '\u{0309}', '\u{0323}'];
    let mut lower = Vec::new();
    for v in "aăâeêioôơuưy".chars() {
        lower.push(v);
        for t in tones {
            let s: String = [v, t].iter().collect::<String>().nfc().collect();
            assert_eq!(s.chars().count(), 1, "{v}+{t:?} has no precomposed form");
            lower.extend(s.chars());
        }
    }
    lower.extend("bcdđghklmnpqrstvx".chars());
    let upper: Vec<char> = lower.iter().flat_map(|c| c.to_uppercase()).collect();
    lower.into_iter().chain(upper).collect()
}

#[test]
fn every_vietnamese_letter_has_its_own_glyph() {
    let mut r = LabelRenderer::new();
    let letters = vietnamese_alphabet();
    assert_eq!(letters.len(), 2 * (12 * 6 + 17));
    let replacement = r.render("\u{FFFD}", 32, u32::MAX);
    let mut seen = HashSet::new();
    for c in letters {
        let s = c.to_string();
        assert!(
            r.fallback_chars(&s).is_empty(),
            "{c} (U+{:04X}) is not in the font",
            c as u32
        );
        let b = r.render(&s, 32, u32::MAX);
        assert!(b.alpha.iter().any(|&a| a > 128), "{c} renders blank");
        assert_ne!(*b, *replacement, "{c} renders as the replacement glyph");
        // Distinct from every other letter: no tone mark is lost or swapped.
        assert!(
            seen.insert((b.width, b.alpha.clone())),
            "{c} looks like another letter"
        );
    }
}

#[test]
fn unknown_characters_are_reported_and_drawn_visibly() {
    let mut r = LabelRenderer::new();
    assert_eq!(r.fallback_chars("Sơn Dương 山"), vec!['山']);
    let with = r.render("Sơn 山", 24, u32::MAX);
    let without = r.render("Sơn", 24, u32::MAX);
    assert!(
        with.width > without.width,
        "the unknown character was dropped"
    );
}

#[test]
fn too_wide_names_end_with_an_ellipsis() {
    let mut r = LabelRenderer::new();
    let name = "Ủy ban nhân dân tỉnh Tuyên Quang";
    let full = r.render(name, 24, u32::MAX);
    // Fits exactly: unchanged.
    assert_eq!(*r.render(name, 24, full.width as u32), *full);

    let max = full.width as u32 / 2;
    let cut = r.render(name, 24, max);
    assert!(
        cut.width > 0 && cut.width <= max as usize,
        "{} > {max}",
        cut.width
    );

    // The cut label is the longest prefix (not ending in a space) plus "…"
    // that fits.
    let chars: Vec<char> = name.chars().collect();
    let mut expected = None;
    for k in 1..chars.len() {
        if chars[k - 1] == ' ' {
            continue;
        }
        let candidate: String = chars[..k].iter().chain(['…'].iter()).collect();
        let b = r.render(&candidate, 24, u32::MAX);
        if b.width <= max as usize {
            expected = Some((candidate, b));
        } else {
            break;
        }
    }
    let (text, b) = expected.expect("some prefix fits in half the width");
    assert_eq!(*cut, *b, "expected the label to read {text:?}");

    // Not even "…" fits: empty label.
    let none = r.render(name, 24, 2);
    assert_eq!((none.width, none.alpha.len()), (0, 0));
}

#[test]
fn cache_returns_the_same_arc_for_the_same_key() {
    let mut r = LabelRenderer::new();
    let a = r.render("Xã Đồng Quý", 24, 300);
    let b = r.render("Xã Đồng Quý", 24, 300);
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(r.cached_len(), 1);
    let other_size = r.render("Xã Đồng Quý", 28, 300);
    let other_width = r.render("Xã Đồng Quý", 24, 40);
    assert!(!Arc::ptr_eq(&a, &other_size) && !Arc::ptr_eq(&a, &other_width));
    assert_ne!(*a, *other_size);
    assert_ne!(*a, *other_width);
    assert_eq!(r.cached_len(), 3);
}

#[test]
fn golden_labels_24px() {
    let mut r = LabelRenderer::new();
    for (name, golden) in [
        ("UBND huyện Sơn Dương", "label_ubnd_huyen_son_duong_24px"),
        (
            "Sở Thông tin và Truyền thông",
            "label_so_thong_tin_va_truyen_thong_24px",
        ),
    ] {
        assert_golden(golden, &label_to_image(&r.render(name, 24, u32::MAX)));
    }
}

#[test]
fn golden_compare_catches_a_missing_tone_mark() {
    let mut r = LabelRenderer::new();
    let good = label_to_image(&r.render("Xã Đồng Quý", 24, u32::MAX));
    // "ý" without its acute: precomposed letters keep the base advance, so the
    // images have the same size and only the mark's pixels differ.
    let bad = label_to_image(&r.render("Xã Đồng Quy", 24, u32::MAX));
    let cmp = compare_images(&good, &bad, Tolerance::DEFAULT).expect("same size");
    assert!(cmp.differing > 0);
    assert!(
        !cmp.within(Tolerance::DEFAULT),
        "{} differing pixels passed",
        cmp.differing
    );
    // Small drift everywhere is tolerated.
    let mut drift = good.clone();
    for v in &mut drift.data {
        *v = v.saturating_add(Tolerance::DEFAULT.per_pixel);
    }
    assert!(
        compare_images(&good, &drift, Tolerance::DEFAULT)
            .unwrap()
            .within(Tolerance::DEFAULT)
    );
    assert!(
        !compare_images(&good, &drift, Tolerance::EXACT)
            .unwrap()
            .within(Tolerance::EXACT)
    );
}

#[test]
fn frame_to_image_converts_each_pixel() {
    let mut f = I420Frame::solid(4, 2, Yuv::from_rgb(200, 30, 40)).unwrap();
    f.fill_rect(mcu_mixer::frame::PixelRect::new(2, 0, 2, 2), Yuv::WHITE);
    let img: Image = frame_to_image(&f);
    assert_eq!((img.width, img.height, img.channels), (4, 2, Channels::Rgb));
    let left = Yuv::from_rgb(200, 30, 40).to_rgb();
    let right = Yuv::WHITE.to_rgb();
    assert_eq!(&img.data[0..3], &[left.0, left.1, left.2]);
    assert_eq!(&img.data[9..12], &[right.0, right.1, right.2]);
    assert_eq!(&img.data[12 + 6..12 + 9], &[right.0, right.1, right.2]);
}
