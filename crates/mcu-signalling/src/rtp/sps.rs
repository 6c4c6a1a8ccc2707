//! The picture size an H.264 sender sends, read from its sequence parameter
//! set (ITU-T H.264 § 7.3.2.1.1) without decoding a picture: the readiness
//! check needs each endpoint's resolution, and the mixer decodes only the
//! sources it shows. Every read is bounds-checked: a truncated or hostile
//! SPS gives `None`, never a panic.

/// Reads bits of an RBSP (emulation-prevention bytes already removed).
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.pos / 8)?;
        let b = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(b))
    }

    fn bits(&mut self, n: u32) -> Option<u32> {
        (0..n).try_fold(0u32, |acc, _| Some((acc << 1) | self.bit()?))
    }

    /// Unsigned Exp-Golomb; values above 2^31 are refused.
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let rest = self.bits(zeros)?;
        Some(((1u64 << zeros) - 1 + u64::from(rest)).min(u64::from(u32::MAX)) as u32)
    }

    /// Signed Exp-Golomb.
    fn se(&mut self) -> Option<i64> {
        let k = i64::from(self.ue()?);
        Some(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }
}

/// Drops the emulation-prevention bytes (`00 00 03` → `00 00`).
fn rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

fn skip_scaling_list(r: &mut Bits, size: usize) -> Option<()> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            next = (last + r.se()? + 256) % 256;
        }
        if next != 0 {
            last = next;
        }
    }
    Some(())
}

/// The displayed picture size (after cropping) of an SPS NAL unit (its
/// header byte first, type 7).
pub fn sps_picture_size(nal: &[u8]) -> Option<(u32, u32)> {
    if nal.first()? & 0x1f != 7 {
        return None;
    }
    let data = rbsp(&nal[1..]);
    let mut r = Bits {
        data: &data,
        pos: 0,
    };
    let profile = r.bits(8)?;
    r.bits(16)?; // constraint flags, level
    r.ue()?; // seq_parameter_set_id
    let mut chroma_format = 1;
    if matches!(
        profile,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format = r.ue()?;
        if chroma_format > 3 {
            return None;
        }
        if chroma_format == 3 {
            r.bit()?; // separate_colour_plane_flag
        }
        r.ue()?; // bit_depth_luma_minus8
        r.ue()?; // bit_depth_chroma_minus8
        r.bit()?; // qpprime_y_zero_transform_bypass_flag
        if r.bit()? == 1 {
            let lists = if chroma_format == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.bit()? == 1 {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.bit()?;
            r.se()?;
            r.se()?;
            let cycle = r.ue()?;
            if cycle > 255 {
                return None;
            }
            for _ in 0..cycle {
                r.se()?;
            }
        }
        _ => {}
    }
    r.ue()?; // max_num_ref_frames
    r.bit()?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = u64::from(r.ue()?) + 1;
    let height_units = u64::from(r.ue()?) + 1;
    let frame_mbs_only = u64::from(r.bit()?);
    if frame_mbs_only == 0 {
        r.bit()?; // mb_adaptive_frame_field_flag
    }
    r.bit()?; // direct_8x8_inference_flag
    let mut crop = [0u64; 4];
    if r.bit()? == 1 {
        for c in &mut crop {
            *c = u64::from(r.ue()?);
        }
    }
    let (sub_w, sub_h) = match chroma_format {
        0 => (1, 1),
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    };
    let crop_y = sub_h * (2 - frame_mbs_only);
    let width = (width_mbs * 16).checked_sub(sub_w * (crop[0] + crop[1]))?;
    let height =
        (height_units * 16 * (2 - frame_mbs_only)).checked_sub(crop_y * (crop[2] + crop[3]))?;
    Some((u32::try_from(width).ok()?, u32::try_from(height).ok()?))
}

/// The picture size of an SPS carried in one H.264 RTP payload (RFC 6184):
/// a single NAL unit, or inside a STAP-A. Read per packet, so a parameter
/// set arrives even when the rest of its keyframe was lost.
pub fn rtp_picture_size(payload: &[u8]) -> Option<(u32, u32)> {
    match payload.first()? & 0x1f {
        7 => sps_picture_size(payload),
        24 => {
            let mut rest = &payload[1..];
            while rest.len() >= 2 {
                let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                let nal = rest.get(2..2 + n)?;
                if nal.first().is_some_and(|h| h & 0x1f == 7) {
                    return sps_picture_size(nal);
                }
                rest = &rest[2 + n..];
            }
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // SPS of one frame each, made with `ffmpeg -f lavfi -i testsrc=size=WxH
    // -c:v libx264 -profile:v P`: baseline, high (cropped 1088 → 1080, with
    // emulation-prevention bytes), main, and a width not a multiple of 16.
    const CASES: [(&str, (u32, u32)); 4] = [
        (
            "6742c01fd9005005bb0110000003001000000303c0f1832480",
            (1280, 720),
        ),
        (
            "67640028acd940780227e5c044000003000400000300f03c60c658",
            (1920, 1080),
        ),
        (
            "674d401eeca05017fcb80880000003008000001e078b16cb",
            (640, 360),
        ),
        (
            "6742c015d901b1fe4f0110000003001000000303c0f162e480",
            (426, 240),
        ),
    ];

    #[test]
    fn sizes_of_real_encoders_parameter_sets() {
        for (sps, size) in CASES {
            assert_eq!(sps_picture_size(&hex(sps)), Some(size), "{sps}");
        }
    }

    #[test]
    fn the_sps_is_found_in_an_rtp_payload() {
        let sps = hex(CASES[0].0);
        assert_eq!(rtp_picture_size(&sps), Some((1280, 720)));
        // STAP-A: an SPS and a PPS, each with its 16-bit size.
        let mut stap = vec![0x78];
        for nal in [&sps[..], &[0x68, 0xce, 0x3c, 0x80][..]] {
            stap.extend((nal.len() as u16).to_be_bytes());
            stap.extend(nal);
        }
        assert_eq!(rtp_picture_size(&stap), Some((1280, 720)));
        // A STAP-A whose size overruns, a FU-A, nothing: no size, no panic.
        assert_eq!(rtp_picture_size(&[0x78, 0xff, 0xff, 0x67]), None);
        assert_eq!(rtp_picture_size(&[0x7c, 0x85, 1, 2]), None);
        assert_eq!(rtp_picture_size(&[]), None);
    }

    #[test]
    fn truncated_or_garbage_sets_give_nothing() {
        for (sps, _) in CASES {
            let b = hex(sps);
            for n in 0..b.len() - 2 {
                // No panic at any cut; most cuts give None.
                let _ = sps_picture_size(&b[..n]);
            }
            assert_eq!(sps_picture_size(&b[..4]), None);
        }
        assert_eq!(sps_picture_size(&[0x67, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(sps_picture_size(&[0x68, 0xce]), None);
        assert_eq!(sps_picture_size(&[]), None);
    }
}
