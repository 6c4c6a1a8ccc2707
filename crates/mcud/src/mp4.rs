//! A minimal fragmented-MP4 (ISO-BMFF) writer for conference recordings:
//! one H.264 video track (`avc1` + `avcC`) and one Opus audio track
//! (`Opus` + `dOps`, per "Encapsulation of Opus in ISO Base Media File
//! Format", v0.8.1).
//!
//! Layout: `ftyp`, `moov` (with `mvex`, no samples), then one `moof` +
//! `mdat` pair per fragment (about [`FRAGMENT_TICKS`] of video). Every
//! fragment is written whole and flushed, so a recording cut short by a
//! crash or a kill is playable up to its last complete fragment. On a clean
//! [`Mp4Writer::finish`] the `mehd` box in `moov` is patched with the total
//! duration.
//!
//! The writer is sans-clock: callers pass decode times in each track's
//! timescale (90 kHz video, 48 kHz audio). Samples arrive as Annex-B access
//! units (converted here to 4-byte length-prefixed NAL units; the SPS and
//! PPS of the first keyframe go into `avcC`) and raw Opus packets.
//! Recording starts at the first video keyframe; audio that came before is
//! kept (bounded) and written in the first fragment.

use std::io::{Seek, SeekFrom, Write};

/// Video timescale (ticks per second).
pub const VIDEO_TIMESCALE: u32 = 90_000;
/// Audio timescale: the Opus output rate.
pub const AUDIO_TIMESCALE: u32 = 48_000;
/// A fragment is closed once it holds this much video (one second).
pub const FRAGMENT_TICKS: u64 = VIDEO_TIMESCALE as u64;
/// Audio held before the first video keyframe, at most (two seconds of 20 ms packets).
const MAX_EARLY_AUDIO: usize = 100;
/// Track ids.
const VIDEO_TRACK: u32 = 1;
const AUDIO_TRACK: u32 = 2;
/// Duration given to the last sample of a track when nothing follows it.
const DEFAULT_VIDEO_DURATION: u32 = 3_000;
const DEFAULT_AUDIO_DURATION: u32 = 960;

/// Sample flags (ISO/IEC 14496-12 §8.8.3.1): a sync sample depends on nothing.
const SYNC_FLAGS: u32 = 0x0200_0000;
/// A non-sync sample depends on others.
const NON_SYNC_FLAGS: u32 = 0x0101_0000;

/// Why a recording could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Mp4Error {
    /// The file could not be written.
    #[error("recording file: {0}")]
    Io(#[from] std::io::Error),
    /// The first keyframe carries no SPS or PPS: no `avcC` can be built.
    #[error("the first keyframe has no SPS/PPS")]
    NoParameterSets,
    /// A sample's decode time went backwards.
    #[error("{track} decode time went backwards ({at} after {last})")]
    Backwards {
        /// `video` or `audio`.
        track: &'static str,
        /// The offending time.
        at: u64,
        /// The previous one.
        last: u64,
    },
}

/// What the track headers need to know up front.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mp4Config {
    /// Picture width in pixels.
    pub width: u16,
    /// Picture height in pixels.
    pub height: u16,
    /// Opus pre-skip in 48 kHz samples (the encoder's lookahead; 312 typical).
    pub pre_skip: u16,
}

/// One sample waiting for its fragment.
#[derive(Clone, Debug)]
struct Pending {
    at: u64,
    data: Vec<u8>,
    sync: bool,
}

/// The samples of one track in the open fragment.
#[derive(Default)]
struct Track {
    /// Samples not yet written; the last one waits for its successor to
    /// know its duration.
    samples: Vec<Pending>,
    /// Decode time of the last sample accepted.
    last_at: Option<u64>,
    /// The decode time where the next fragment of this track starts.
    written_until: Option<u64>,
}

impl Track {
    fn accept(&mut self, track: &'static str, at: u64) -> Result<(), Mp4Error> {
        if let Some(last) = self.last_at
            && at < last
        {
            return Err(Mp4Error::Backwards { track, at, last });
        }
        self.last_at = Some(at);
        Ok(())
    }

    /// Takes every sample but the last (or all of them when `all`), with durations.
    fn take(&mut self, all: bool, default: u32) -> Vec<(Pending, u32)> {
        let keep = if all || self.samples.is_empty() { 0 } else { 1 };
        let n = self.samples.len() - keep;
        let next_at: Vec<Option<u64>> = (0..n)
            .map(|i| self.samples.get(i + 1).map(|s| s.at))
            .collect();
        let taken: Vec<Pending> = self.samples.drain(..n).collect();
        taken
            .into_iter()
            .zip(next_at)
            .map(|(s, next)| {
                let d = next.map_or(default, |n| (n - s.at).min(u64::from(u32::MAX)) as u32);
                (s, d)
            })
            .collect()
    }
}

/// A finished recording.
#[derive(Debug)]
pub struct Finished<W> {
    /// The inner writer.
    pub out: W,
    /// Bytes written.
    pub bytes: u64,
    /// Where the presentation ends, ms.
    pub duration_ms: u64,
}

/// Writes one recording. See the [module docs](self).
pub struct Mp4Writer<W: Write + Seek> {
    out: W,
    config: Mp4Config,
    /// SPS and PPS in `avcC` (set at the first keyframe, when `moov` is written).
    params: Option<(Vec<u8>, Vec<u8>)>,
    /// Offset of the `mehd` duration field, patched on finish.
    mehd_at: u64,
    video: Track,
    audio: Track,
    /// Video decode time where the open fragment began.
    fragment_start: Option<u64>,
    sequence: u32,
    bytes: u64,
}

impl<W: Write + Seek> Mp4Writer<W> {
    /// A writer over `out` (nothing is written until the first keyframe).
    pub fn new(out: W, config: Mp4Config) -> Self {
        Self {
            out,
            config,
            params: None,
            mehd_at: 0,
            video: Track::default(),
            audio: Track::default(),
            fragment_start: None,
            sequence: 0,
            bytes: 0,
        }
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Duration written so far (whole fragments), milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.video.written_until.unwrap_or(0) * 1000 / u64::from(VIDEO_TIMESCALE)
    }

    /// True once the header is out (a keyframe came).
    pub fn started(&self) -> bool {
        self.params.is_some()
    }

    /// One Annex-B access unit at decode time `at` (90 kHz). Access units
    /// before the first keyframe are skipped; returns whether it was kept.
    pub fn write_video(
        &mut self,
        at: u64,
        annexb: &[u8],
        keyframe: bool,
    ) -> Result<bool, Mp4Error> {
        if self.params.is_none() {
            if !keyframe {
                return Ok(false);
            }
            let params = parameter_sets(annexb).ok_or(Mp4Error::NoParameterSets)?;
            self.write_header(&params)?;
            self.params = Some(params);
            // Audio older than the first picture starts the audio track at
            // its own time: tfdt carries each track's start.
        }
        self.video.accept("video", at)?;
        let Some((sps, pps)) = &self.params else {
            return Ok(false);
        };
        let data = length_prefixed(annexb, sps, pps);
        self.video.samples.push(Pending {
            at,
            data,
            sync: keyframe,
        });
        let start = *self.fragment_start.get_or_insert(at);
        if at.saturating_sub(start) >= FRAGMENT_TICKS {
            self.flush_fragment(false)?;
        }
        Ok(true)
    }

    /// One Opus packet (20 ms) at decode time `at` (48 kHz).
    pub fn write_audio(&mut self, at: u64, packet: &[u8]) -> Result<(), Mp4Error> {
        self.audio.accept("audio", at)?;
        self.audio.samples.push(Pending {
            at,
            data: packet.to_vec(),
            sync: true,
        });
        if self.params.is_none() && self.audio.samples.len() > MAX_EARLY_AUDIO {
            self.audio.samples.remove(0);
        }
        Ok(())
    }

    /// Writes what is pending as a last fragment, patches the total
    /// duration into `mehd` and flushes.
    pub fn finish(mut self) -> Result<Finished<W>, Mp4Error> {
        if self.params.is_some() {
            self.flush_fragment(true)?;
            let total_ms = self.duration_ms();
            let end = self.out.stream_position()?;
            self.out.seek(SeekFrom::Start(self.mehd_at))?;
            self.out.write_all(&total_ms.to_be_bytes())?;
            self.out.seek(SeekFrom::Start(end))?;
        }
        self.out.flush()?;
        Ok(Finished {
            bytes: self.bytes,
            duration_ms: self.duration_ms(),
            out: self.out,
        })
    }

    fn write_header(&mut self, params: &(Vec<u8>, Vec<u8>)) -> Result<(), Mp4Error> {
        let mut b = Vec::with_capacity(1024);
        ftyp(&mut b);
        let mehd_in_moov = moov(&mut b, &self.config, params);
        self.mehd_at = self.bytes + mehd_in_moov as u64;
        self.emit(&b)
    }

    fn emit(&mut self, b: &[u8]) -> Result<(), Mp4Error> {
        self.out.write_all(b)?;
        self.out.flush()?;
        self.bytes += b.len() as u64;
        Ok(())
    }

    /// Writes one `moof` + `mdat` with every complete sample (all when `last`).
    fn flush_fragment(&mut self, last: bool) -> Result<(), Mp4Error> {
        let video = self.video.take(last, DEFAULT_VIDEO_DURATION);
        let audio = self.audio.take(last, DEFAULT_AUDIO_DURATION);
        self.fragment_start = self.video.samples.first().map(|s| s.at);
        if video.is_empty() && audio.is_empty() {
            return Ok(());
        }
        self.sequence += 1;
        let tracks: Vec<(u32, &Vec<(Pending, u32)>)> =
            [(VIDEO_TRACK, &video), (AUDIO_TRACK, &audio)]
                .into_iter()
                .filter(|(_, s)| !s.is_empty())
                .collect();
        // The moof's size does not depend on the data offsets: build it once
        // with zeros, then again with the real offsets.
        let mut moof_box = moof(self.sequence, &tracks, &[0, 0]);
        let moof_len = moof_box.len() as u32;
        let mut offsets = Vec::new();
        let mut at = moof_len + 8;
        for (_, s) in &tracks {
            offsets.push(at);
            at += s.iter().map(|(p, _)| p.data.len() as u32).sum::<u32>();
        }
        moof_box = moof(self.sequence, &tracks, &offsets);
        let mdat_len: usize = tracks
            .iter()
            .flat_map(|(_, s)| s.iter().map(|(p, _)| p.data.len()))
            .sum();
        let mut b = moof_box;
        b.reserve(mdat_len + 8);
        b.extend_from_slice(&((mdat_len + 8) as u32).to_be_bytes());
        b.extend_from_slice(b"mdat");
        for (_, s) in &tracks {
            for (p, _) in s.iter() {
                b.extend_from_slice(&p.data);
            }
        }
        self.emit(&b)?;
        for (track, samples) in [(&mut self.video, &video), (&mut self.audio, &audio)] {
            if let Some((p, d)) = samples.last() {
                track.written_until = Some(p.at + u64::from(*d));
            }
        }
        Ok(())
    }
}

/// Builds a box: size, type, then what `body` writes.
fn boxed(b: &mut Vec<u8>, kind: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let start = b.len();
    b.extend_from_slice(&[0, 0, 0, 0]);
    b.extend_from_slice(kind);
    body(b);
    let size = (b.len() - start) as u32;
    b[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// A full box: version and flags after the type.
fn full(b: &mut Vec<u8>, kind: &[u8; 4], version: u8, flags: u32, body: impl FnOnce(&mut Vec<u8>)) {
    boxed(b, kind, |b| {
        b.extend_from_slice(&((u32::from(version) << 24) | flags).to_be_bytes());
        body(b);
    });
}

fn u16be(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_be_bytes());
}

fn u32be(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_be_bytes());
}

fn u64be(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_be_bytes());
}

/// The identity transformation matrix of `mvhd` and `tkhd`.
fn matrix(b: &mut Vec<u8>) {
    for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        u32be(b, v);
    }
}

fn ftyp(b: &mut Vec<u8>) {
    boxed(b, b"ftyp", |b| {
        b.extend_from_slice(b"iso6");
        u32be(b, 0);
        for brand in [b"iso6", b"isom", b"avc1", b"mp41", b"Opus"] {
            b.extend_from_slice(brand);
        }
    });
}

/// Writes `moov`; returns the offset (within `b`'s new bytes, from where
/// `moov` began counting at `b`'s start) of the `mehd` duration field.
fn moov(b: &mut Vec<u8>, c: &Mp4Config, (sps, pps): &(Vec<u8>, Vec<u8>)) -> usize {
    let mut mehd_at = 0;
    boxed(b, b"moov", |b| {
        full(b, b"mvhd", 0, 0, |b| {
            u32be(b, 0); // creation time
            u32be(b, 0); // modification time
            u32be(b, 1000); // timescale
            u32be(b, 0); // duration: in the fragments
            u32be(b, 0x0001_0000); // rate 1.0
            u16be(b, 0x0100); // volume 1.0
            b.extend_from_slice(&[0; 10]);
            matrix(b);
            b.extend_from_slice(&[0; 24]);
            u32be(b, AUDIO_TRACK + 1); // next track id
        });
        trak(b, VIDEO_TRACK, c, |b| {
            avc1(b, c, sps, pps);
        });
        trak(b, AUDIO_TRACK, c, |b| {
            opus(b, c);
        });
        boxed(b, b"mvex", |b| {
            full(b, b"mehd", 1, 0, |b| {
                mehd_at = b.len();
                u64be(b, 0);
            });
            for track in [VIDEO_TRACK, AUDIO_TRACK] {
                full(b, b"trex", 0, 0, |b| {
                    u32be(b, track);
                    u32be(b, 1); // sample description index
                    u32be(b, 0); // default duration
                    u32be(b, 0); // default size
                    u32be(b, 0); // default flags
                });
            }
        });
    });
    mehd_at
}

fn trak(b: &mut Vec<u8>, track: u32, c: &Mp4Config, entry: impl FnOnce(&mut Vec<u8>)) {
    let video = track == VIDEO_TRACK;
    boxed(b, b"trak", |b| {
        // Flags: enabled, in movie, in preview.
        full(b, b"tkhd", 0, 0x7, |b| {
            u32be(b, 0);
            u32be(b, 0);
            u32be(b, track);
            u32be(b, 0); // reserved
            u32be(b, 0); // duration
            b.extend_from_slice(&[0; 8]);
            u16be(b, 0); // layer
            u16be(b, if video { 0 } else { 1 }); // alternate group
            u16be(b, if video { 0 } else { 0x0100 }); // volume
            u16be(b, 0);
            matrix(b);
            let (w, h) = if video { (c.width, c.height) } else { (0, 0) };
            u32be(b, u32::from(w) << 16);
            u32be(b, u32::from(h) << 16);
        });
        boxed(b, b"mdia", |b| {
            full(b, b"mdhd", 0, 0, |b| {
                u32be(b, 0);
                u32be(b, 0);
                u32be(
                    b,
                    if video {
                        VIDEO_TIMESCALE
                    } else {
                        AUDIO_TIMESCALE
                    },
                );
                u32be(b, 0);
                u16be(b, 0x55c4); // language "und"
                u16be(b, 0);
            });
            full(b, b"hdlr", 0, 0, |b| {
                u32be(b, 0);
                b.extend_from_slice(if video { b"vide" } else { b"soun" });
                b.extend_from_slice(&[0; 12]);
                b.extend_from_slice(if video { b"Video\0" } else { b"Audio\0" });
            });
            boxed(b, b"minf", |b| {
                if video {
                    full(b, b"vmhd", 0, 1, |b| b.extend_from_slice(&[0; 8]));
                } else {
                    full(b, b"smhd", 0, 0, |b| u32be(b, 0));
                }
                boxed(b, b"dinf", |b| {
                    full(b, b"dref", 0, 0, |b| {
                        u32be(b, 1);
                        full(b, b"url ", 0, 1, |_| {});
                    });
                });
                boxed(b, b"stbl", |b| {
                    full(b, b"stsd", 0, 0, |b| {
                        u32be(b, 1);
                        entry(b);
                    });
                    full(b, b"stts", 0, 0, |b| u32be(b, 0));
                    full(b, b"stsc", 0, 0, |b| u32be(b, 0));
                    full(b, b"stsz", 0, 0, |b| {
                        u32be(b, 0);
                        u32be(b, 0);
                    });
                    full(b, b"stco", 0, 0, |b| u32be(b, 0));
                });
            });
        });
    });
}

fn avc1(b: &mut Vec<u8>, c: &Mp4Config, sps: &[u8], pps: &[u8]) {
    boxed(b, b"avc1", |b| {
        b.extend_from_slice(&[0; 6]);
        u16be(b, 1); // data reference index
        b.extend_from_slice(&[0; 16]);
        u16be(b, c.width);
        u16be(b, c.height);
        u32be(b, 0x0048_0000); // 72 dpi
        u32be(b, 0x0048_0000);
        u32be(b, 0);
        u16be(b, 1); // frame count
        let mut name = [0u8; 32];
        let label = b"mcu recording";
        name[0] = label.len() as u8;
        name[1..=label.len()].copy_from_slice(label);
        b.extend_from_slice(&name);
        u16be(b, 0x0018); // depth
        u16be(b, 0xffff); // pre-defined -1
        boxed(b, b"avcC", |b| {
            b.push(1); // configuration version
            b.push(sps.get(1).copied().unwrap_or(66)); // profile
            b.push(sps.get(2).copied().unwrap_or(0)); // compatibility
            b.push(sps.get(3).copied().unwrap_or(31)); // level
            b.push(0xff); // 4-byte NAL lengths
            b.push(0xe1); // one SPS
            u16be(b, sps.len() as u16);
            b.extend_from_slice(sps);
            b.push(1); // one PPS
            u16be(b, pps.len() as u16);
            b.extend_from_slice(pps);
        });
    });
}

fn opus(b: &mut Vec<u8>, c: &Mp4Config) {
    boxed(b, b"Opus", |b| {
        b.extend_from_slice(&[0; 6]);
        u16be(b, 1); // data reference index
        b.extend_from_slice(&[0; 8]);
        u16be(b, 1); // channel count
        u16be(b, 16); // sample size
        u16be(b, 0);
        u16be(b, 0);
        u32be(b, AUDIO_TIMESCALE << 16);
        boxed(b, b"dOps", |b| {
            b.push(0); // version
            b.push(1); // output channel count
            u16be(b, c.pre_skip);
            u32be(b, AUDIO_TIMESCALE); // input sample rate
            u16be(b, 0); // output gain
            b.push(0); // channel mapping family: mono/stereo
        });
    });
}

fn moof(sequence: u32, tracks: &[(u32, &Vec<(Pending, u32)>)], offsets: &[u32]) -> Vec<u8> {
    let mut b = Vec::with_capacity(64 + 16 * tracks.iter().map(|t| t.1.len()).sum::<usize>());
    boxed(&mut b, b"moof", |b| {
        full(b, b"mfhd", 0, 0, |b| u32be(b, sequence));
        for (i, (track, samples)) in tracks.iter().enumerate() {
            boxed(b, b"traf", |b| {
                // default-base-is-moof: data offsets count from the moof.
                full(b, b"tfhd", 0, 0x02_0000, |b| u32be(b, *track));
                full(b, b"tfdt", 1, 0, |b| u64be(b, samples[0].0.at));
                // data offset, and per sample: duration, size, flags.
                full(b, b"trun", 0, 0x0001 | 0x0100 | 0x0200 | 0x0400, |b| {
                    u32be(b, samples.len() as u32);
                    u32be(b, offsets.get(i).copied().unwrap_or(0));
                    for (p, d) in samples.iter() {
                        u32be(b, *d);
                        u32be(b, p.data.len() as u32);
                        u32be(b, if p.sync { SYNC_FLAGS } else { NON_SYNC_FLAGS });
                    }
                });
            });
        }
    });
    b
}

/// The NAL units of an Annex-B access unit (3- or 4-byte start codes).
pub fn nal_units(annexb: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= annexb.len() {
        if annexb[i] == 0 && annexb[i + 1] == 0 && annexb[i + 2] == 1 {
            starts.push((i, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::with_capacity(starts.len());
    for (k, &(_, from)) in starts.iter().enumerate() {
        let mut to = starts.get(k + 1).map_or(annexb.len(), |&(s, _)| s);
        // A 4-byte start code's leading zero, and trailing zeros, are not payload.
        while to > from && annexb[to - 1] == 0 {
            to -= 1;
        }
        if to > from {
            nals.push(&annexb[from..to]);
        }
    }
    nals
}

/// The first SPS (type 7) and PPS (type 8) of an access unit.
fn parameter_sets(annexb: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let nals = nal_units(annexb);
    let find = |t: u8| nals.iter().find(|n| n[0] & 0x1f == t).map(|n| n.to_vec());
    Some((find(7)?, find(8)?))
}

/// Annex-B to 4-byte length-prefixed NAL units. Access unit delimiters and
/// parameter sets equal to those of `avcC` are dropped; others (a new
/// encoder's) stay in band.
fn length_prefixed(annexb: &[u8], sps: &[u8], pps: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(annexb.len() + 16);
    for nal in nal_units(annexb) {
        let kind = nal[0] & 0x1f;
        if kind == 9 || (kind == 7 && nal == sps) || (kind == 8 && nal == pps) {
            continue;
        }
        out.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        out.extend_from_slice(nal);
    }
    out
}

/// A box read back (for tests and checks): its type, where its body lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoxRef {
    /// Four-character type.
    pub kind: [u8; 4],
    /// Offset of the box in the buffer.
    pub start: usize,
    /// Offset of its body (after size and type).
    pub body: usize,
    /// Offset just past its end.
    pub end: usize,
}

/// The boxes laid one after another in `b[from..to]`; `None` when a size
/// does not fit (a truncated or corrupt file).
pub fn boxes(b: &[u8], from: usize, to: usize) -> Option<Vec<BoxRef>> {
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        let size = u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize;
        let kind: [u8; 4] = b.get(at + 4..at + 8)?.try_into().ok()?;
        if size < 8 || at + size > to {
            return None;
        }
        out.push(BoxRef {
            kind,
            start: at,
            body: at + 8,
            end: at + size,
        });
        at += size;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    const SPS: [u8; 8] = [0x67, 0x42, 0xc0, 0x1f, 0x8c, 0x8d, 0x40, 0x50];
    const PPS: [u8; 4] = [0x68, 0xce, 0x3c, 0x80];

    fn idr() -> Vec<u8> {
        let mut au = vec![0, 0, 0, 1, 9, 0xf0];
        au.extend_from_slice(&[0, 0, 0, 1]);
        au.extend_from_slice(&SPS);
        au.extend_from_slice(&[0, 0, 1]);
        au.extend_from_slice(&PPS);
        au.extend_from_slice(&[0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x21]);
        au
    }

    fn p_frame(n: u8) -> Vec<u8> {
        vec![0, 0, 0, 1, 0x41, 0x9a, n, n]
    }

    fn child(b: &[u8], parent: &BoxRef, kind: &[u8; 4], all: &mut Vec<BoxRef>) -> BoxRef {
        *all = boxes(b, parent.body, parent.end).expect("children parse");
        all.iter()
            .find(|x| &x.kind == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {:?}", String::from_utf8_lossy(kind)))
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
    }

    /// Three seconds at 30 fps with a keyframe every second, and 20 ms audio.
    fn record() -> Vec<u8> {
        let config = Mp4Config {
            width: 1280,
            height: 720,
            pre_skip: 312,
        };
        let mut w = Mp4Writer::new(Cursor::new(Vec::new()), config);
        // Audio before the first picture is kept.
        w.write_audio(0, &[0xf8, 1]).unwrap();
        assert!(
            !w.write_video(0, &p_frame(0), false).unwrap(),
            "no keyframe yet"
        );
        assert_eq!(w.bytes(), 0, "nothing before the first keyframe");
        for i in 0..90u64 {
            let at = 3000 * (i + 1);
            let au = if i % 30 == 0 { idr() } else { p_frame(i as u8) };
            assert!(w.write_video(at, &au, i % 30 == 0).unwrap());
            if i % 2 == 0 {
                // 48 kHz: 60 ms of video time = 2880 samples; keep it simple: 960 per packet.
                w.write_audio(960 * (i / 2 + 1), &[0xf8, i as u8, 0])
                    .unwrap();
            }
        }
        w.finish().unwrap().out.into_inner()
    }

    #[test]
    fn header_boxes_nest_with_sizes_that_add_up() {
        let b = record();
        let top = boxes(&b, 0, b.len()).expect("top level parses to the end");
        let kinds: Vec<&[u8; 4]> = top.iter().map(|x| &x.kind).collect();
        assert_eq!(kinds[0], b"ftyp");
        assert_eq!(kinds[1], b"moov");
        assert!(
            kinds[2..]
                .chunks(2)
                .all(|p| p[0] == b"moof" && p[1] == b"mdat")
        );
        assert_eq!((top.len() - 2) / 2, 3, "about one second each");
        let moov = &top[1];
        let mut scratch = Vec::new();
        let traks: Vec<BoxRef> = boxes(&b, moov.body, moov.end)
            .unwrap()
            .into_iter()
            .filter(|x| &x.kind == b"trak")
            .collect();
        assert_eq!(traks.len(), 2);
        // Video: stsd → avc1 (1280×720) → avcC with our SPS and PPS.
        let mdia = child(&b, &traks[0], b"mdia", &mut scratch);
        let hdlr = child(&b, &mdia, b"hdlr", &mut scratch);
        assert_eq!(&b[hdlr.body + 8..hdlr.body + 12], b"vide");
        let mdhd = child(&b, &mdia, b"mdhd", &mut scratch);
        assert_eq!(u32_at(&b, mdhd.body + 12), VIDEO_TIMESCALE);
        let minf = child(&b, &mdia, b"minf", &mut scratch);
        let stbl = child(&b, &minf, b"stbl", &mut scratch);
        let stsd = child(&b, &stbl, b"stsd", &mut scratch);
        let entries = boxes(&b, stsd.body + 8, stsd.end).unwrap();
        assert_eq!(&entries[0].kind, b"avc1");
        let avc1 = &entries[0];
        assert_eq!(
            u16::from_be_bytes([b[avc1.body + 24], b[avc1.body + 25]]),
            1280
        );
        assert_eq!(
            u16::from_be_bytes([b[avc1.body + 26], b[avc1.body + 27]]),
            720
        );
        let avcc = &boxes(&b, avc1.body + 78, avc1.end).unwrap()[0];
        assert_eq!(&avcc.kind, b"avcC");
        let c = &b[avcc.body..avcc.end];
        assert_eq!(&c[..6], &[1, 0x42, 0xc0, 0x1f, 0xff, 0xe1]);
        assert_eq!(&c[8..8 + SPS.len()], &SPS);
        assert_eq!(&c[8 + SPS.len() + 3..], &PPS);
        // Audio: Opus entry with dOps (mono, pre-skip 312, 48 kHz).
        let mdia = child(&b, &traks[1], b"mdia", &mut scratch);
        let minf = child(&b, &mdia, b"minf", &mut scratch);
        let stbl = child(&b, &minf, b"stbl", &mut scratch);
        let stsd = child(&b, &stbl, b"stsd", &mut scratch);
        let opus = &boxes(&b, stsd.body + 8, stsd.end).unwrap()[0];
        assert_eq!(&opus.kind, b"Opus");
        let dops = &boxes(&b, opus.body + 28, opus.end).unwrap()[0];
        assert_eq!(&dops.kind, b"dOps");
        assert_eq!(
            &b[dops.body..dops.end],
            &[0, 1, 0x01, 0x38, 0, 0, 0xbb, 0x80, 0, 0, 0]
        );
        // mehd holds where the presentation ends, in ms: 90 frames of 1/30 s,
        // the first at 1/30 s, so the last ends at 91/30 s.
        let mvex = child(&b, moov, b"mvex", &mut scratch);
        let mehd = child(&b, &mvex, b"mehd", &mut scratch);
        let total = u64::from_be_bytes(b[mehd.body + 4..mehd.body + 12].try_into().unwrap());
        assert_eq!(total, 3033);
    }

    #[test]
    fn fragments_parse_back_to_the_samples_written() {
        let b = record();
        let top = boxes(&b, 0, b.len()).unwrap();
        let mut scratch = Vec::new();
        let (mut video, mut audio) = (Vec::new(), Vec::new());
        let mut seq = 0;
        for pair in top[2..].chunks(2) {
            let (moof, mdat) = (&pair[0], &pair[1]);
            let mfhd = child(&b, moof, b"mfhd", &mut scratch);
            seq += 1;
            assert_eq!(u32_at(&b, mfhd.body + 4), seq, "sequence numbers count up");
            let trafs: Vec<BoxRef> = boxes(&b, moof.body, moof.end)
                .unwrap()
                .into_iter()
                .filter(|x| &x.kind == b"traf")
                .collect();
            for traf in &trafs {
                let tfhd = child(&b, traf, b"tfhd", &mut scratch);
                let track = u32_at(&b, tfhd.body + 4);
                let tfdt = child(&b, traf, b"tfdt", &mut scratch);
                let mut at =
                    u64::from_be_bytes(b[tfdt.body + 4..tfdt.body + 12].try_into().unwrap());
                let trun = child(&b, traf, b"trun", &mut scratch);
                let n = u32_at(&b, trun.body + 4) as usize;
                let mut offset = moof.start + u32_at(&b, trun.body + 8) as usize;
                for i in 0..n {
                    let e = trun.body + 12 + 12 * i;
                    let (dur, size, flags) =
                        (u32_at(&b, e), u32_at(&b, e + 4) as usize, u32_at(&b, e + 8));
                    assert!(
                        offset >= mdat.body && offset + size <= mdat.end,
                        "sample inside its mdat"
                    );
                    let data = b[offset..offset + size].to_vec();
                    offset += size;
                    if track == VIDEO_TRACK {
                        video.push((at, data, flags == SYNC_FLAGS));
                    } else {
                        audio.push((at, data));
                    }
                    at += u64::from(dur);
                }
            }
        }
        assert_eq!(video.len(), 90);
        assert_eq!(audio.len(), 46, "the early packet and 45 more");
        for (i, (at, data, sync)) in video.iter().enumerate() {
            assert_eq!(
                *at,
                3000 * (i as u64 + 1),
                "decode times rebuilt from durations"
            );
            assert_eq!(*sync, i % 30 == 0, "sync samples are the keyframes");
            // Length-prefixed, no start codes, no AUD or SPS/PPS in band.
            let len = u32_at(data, 0) as usize;
            assert_eq!(len + 4, data.len(), "one NAL unit per sample");
            assert_eq!(data[4] & 0x1f, if *sync { 5 } else { 1 });
        }
        assert_eq!(audio[0], (0, vec![0xf8, 1]));
        assert_eq!(audio[45].0, 960 * 45);
    }

    #[test]
    fn a_recording_cut_after_a_fragment_still_parses_to_that_fragment() {
        let b = record();
        let top = boxes(&b, 0, b.len()).unwrap();
        // Cut in the middle of the third fragment's mdat.
        let cut = top[7].body + 10;
        let truncated = &b[..cut];
        assert!(
            boxes(truncated, 0, truncated.len()).is_none(),
            "the torn box shows"
        );
        let whole = boxes(truncated, 0, top[6].start).expect("complete boxes before it");
        assert_eq!(whole.len(), 6);
    }

    #[test]
    fn annex_b_splits_on_both_start_code_lengths() {
        let au = idr();
        let nals = nal_units(&au);
        assert_eq!(nals.len(), 4);
        assert_eq!(nals[1], &SPS);
        assert_eq!(nals[2], &PPS);
        assert_eq!(nals[3][0], 0x65);
        assert!(nal_units(&[0, 0, 0]).is_empty());
        assert!(nal_units(&[]).is_empty());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let config = Mp4Config {
            width: 64,
            height: 64,
            pre_skip: 312,
        };
        let mut w = Mp4Writer::new(Cursor::new(Vec::new()), config);
        // A keyframe without parameter sets.
        assert!(matches!(
            w.write_video(0, &[0, 0, 1, 0x65, 1], true),
            Err(Mp4Error::NoParameterSets)
        ));
        assert!(w.write_video(3000, &idr(), true).unwrap());
        assert!(matches!(
            w.write_video(0, &p_frame(1), false),
            Err(Mp4Error::Backwards { .. })
        ));
        w.write_audio(960, &[1]).unwrap();
        assert!(w.write_audio(0, &[1]).is_err());
        assert!(
            boxes(&[0, 0, 0, 4, b'a', b'b', b'c', b'd'], 0, 8).is_none(),
            "size < 8"
        );
    }
}
