//! Conference recording (R17): the chair view's encoded composite and the
//! full mix, written into a fragmented MP4 ([`crate::mp4`]) by a writer
//! thread of its own.
//!
//! The media thread never touches the disk: it hands each encoded sample
//! to a [`RecordingSink`], which puts it on a bounded channel
//! ([`QUEUE_SAMPLES`]) without waiting. When the writer falls behind
//! (a slow or full disk), samples are dropped and counted; after a dropped
//! video sample the sink skips pictures until the next keyframe (and asks
//! the mixer for one), so the file never holds a picture that cannot be
//! decoded. When the writer fails for good the sink reports it gone and the
//! media thread stops recording: one broken recording never stalls the
//! conference.
//!
//! The writer thread adds the recording's row to the store when it starts
//! and fills in its end, size and duration when the channel closes (the
//! recording was stopped, or the conference ended).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::Instant;

use mcu_store::Store;
use tracing::{info, warn};

use crate::mp4::{AUDIO_TIMESCALE, Mp4Config, Mp4Writer, VIDEO_TIMESCALE};

/// Samples queued between the media thread and the writer (about three
/// seconds of 30 fps video and 20 ms audio).
pub const QUEUE_SAMPLES: usize = 256;

/// What the media thread hands to the writer.
#[derive(Debug)]
pub enum Sample {
    /// The recording starts: picture size, Opus pre-skip, and the instant
    /// sample times count from.
    Begin {
        /// Picture width.
        width: u16,
        /// Picture height.
        height: u16,
        /// Opus pre-skip (48 kHz samples).
        pre_skip: u16,
        /// Time zero of the recording.
        epoch: Instant,
    },
    /// One encoded composite (Annex-B).
    Video {
        /// Capture time.
        at: Instant,
        /// The access unit.
        data: Arc<[u8]>,
        /// It is an IDR.
        keyframe: bool,
    },
    /// One 20 ms Opus packet of the full mix.
    Audio {
        /// The audio tick's time.
        at: Instant,
        /// The packet.
        data: Arc<[u8]>,
    },
}

/// The media thread's end of a recording.
#[derive(Debug)]
pub struct RecordingSink {
    tx: SyncSender<Sample>,
    file_name: String,
    dropped: u64,
    /// A picture was dropped: skip pictures until a keyframe.
    need_keyframe: bool,
}

/// What [`RecordingSink::video`] and [`RecordingSink::audio`] report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    /// Queued for the writer.
    Queued,
    /// Dropped (the writer is behind, or a keyframe is awaited).
    Dropped,
    /// Dropped a picture: the recording needs a keyframe from the encoder.
    NeedKeyframe,
    /// The writer has stopped: stop recording.
    Gone,
}

impl RecordingSink {
    /// The file being written.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// Samples dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Starts the recording (the first thing sent).
    pub fn begin(&mut self, width: u16, height: u16, pre_skip: u16, epoch: Instant) -> Offer {
        self.offer(Sample::Begin {
            width,
            height,
            pre_skip,
            epoch,
        })
    }

    /// Offers one encoded picture.
    pub fn video(&mut self, at: Instant, data: Arc<[u8]>, keyframe: bool) -> Offer {
        if self.need_keyframe && !keyframe {
            return Offer::Dropped;
        }
        match self.offer(Sample::Video { at, data, keyframe }) {
            Offer::Dropped => {
                self.need_keyframe = true;
                Offer::NeedKeyframe
            }
            Offer::Queued => {
                self.need_keyframe = false;
                Offer::Queued
            }
            other => other,
        }
    }

    /// Offers one Opus packet of the full mix.
    pub fn audio(&mut self, at: Instant, data: Arc<[u8]>) -> Offer {
        self.offer(Sample::Audio { at, data })
    }

    fn offer(&mut self, sample: Sample) -> Offer {
        match self.tx.try_send(sample) {
            Ok(()) => Offer::Queued,
            Err(TrySendError::Full(_)) => {
                self.dropped += 1;
                if self.dropped == 1 || self.dropped.is_multiple_of(100) {
                    warn!(
                        file = self.file_name,
                        dropped = self.dropped,
                        "recording writer is behind: samples dropped"
                    );
                }
                Offer::Dropped
            }
            Err(TrySendError::Disconnected(_)) => Offer::Gone,
        }
    }
}

/// Where recordings go and how they are recorded in the store.
#[derive(Clone, Debug)]
pub struct RecordingSetup {
    /// The recordings directory.
    pub dir: PathBuf,
    /// The store (rows of the recordings).
    pub store: Store,
    /// The runtime the writer threads reach the store through.
    pub runtime: tokio::runtime::Handle,
}

/// A recording in progress, as the control side sees it.
#[derive(Debug)]
pub struct Running {
    /// The file name.
    pub file_name: String,
    /// Set by the writer thread when it is done (stopped or failed).
    pub finished: Arc<AtomicBool>,
}

/// Why a recording could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The directory or the file could not be made.
    #[error("recording file: {0}")]
    Io(#[from] std::io::Error),
}

/// Creates the file `{conference}-{yyyymmdd-HHMMSS}.mp4` (Vietnam time,
/// UTC+7) and starts its writer thread. The returned sink goes to the
/// conference's media thread.
pub fn start(
    setup: &RecordingSetup,
    conference: &str,
    now_ms: i64,
) -> Result<(RecordingSink, Running), StartError> {
    std::fs::create_dir_all(&setup.dir)?;
    let (file, file_name) = create_file(&setup.dir, conference, now_ms)?;
    let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE_SAMPLES);
    let finished = Arc::new(AtomicBool::new(false));
    let done = finished.clone();
    let (store, runtime) = (setup.store.clone(), setup.runtime.clone());
    let (name, conf) = (file_name.clone(), conference.to_owned());
    std::thread::Builder::new()
        .name(format!("rec-{conference}"))
        .spawn(move || {
            write(rx, file, &name, &conf, now_ms, &store, &runtime);
            done.store(true, Ordering::Release);
        })?;
    Ok((
        RecordingSink {
            tx,
            file_name: file_name.clone(),
            dropped: 0,
            need_keyframe: false,
        },
        Running {
            file_name,
            finished,
        },
    ))
}

/// A new file in `dir`, never overwriting one (a second recording in the
/// same second gets a suffix).
fn create_file(
    dir: &Path,
    conference: &str,
    now_ms: i64,
) -> std::io::Result<(std::fs::File, String)> {
    let stamp = file_stamp(now_ms);
    for n in 1..100 {
        let name = if n == 1 {
            format!("{conference}-{stamp}.mp4")
        } else {
            format!("{conference}-{stamp}-{n}.mp4")
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(&name))
        {
            Ok(f) => return Ok((f, name)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "too many recordings in one second",
    ))
}

/// `yyyymmdd-HHMMSS` of a Unix time in ms, Vietnam time (UTC+7).
pub fn file_stamp(ms: i64) -> String {
    use mcu_control::civil::{VN_OFFSET_SECONDS, civil};
    let c = civil(ms, VN_OFFSET_SECONDS);
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// The composites' frame rate (the mixer's default `video_fps`).
const VIDEO_FPS: u64 = 30;

/// A picture's time on the frame grid (90 kHz ticks of whole frames),
/// after the previous one's. The mixer stamps each composite with the
/// tick's wall time, which jitters by milliseconds on a busy machine;
/// players and `ffmpeg` expect one picture per frame slot, so times are
/// snapped to the nearest slot (and never two in one slot).
fn frame_ticks(epoch: Instant, at: Instant, last: Option<u64>) -> u64 {
    let frame = u64::from(VIDEO_TIMESCALE) / VIDEO_FPS;
    let raw = ticks(epoch, at, VIDEO_TIMESCALE);
    let snapped = (raw + frame / 2) / frame * frame;
    match last {
        Some(l) if snapped <= l => l + frame,
        _ => snapped,
    }
}

/// Ticks of `timescale` from `epoch` to `at` (0 when `at` is earlier).
fn ticks(epoch: Instant, at: Instant, timescale: u32) -> u64 {
    let d = at.saturating_duration_since(epoch);
    (d.as_nanos() * u128::from(timescale) / 1_000_000_000) as u64
}

/// The writer thread: the row, the samples, the end.
fn write(
    rx: Receiver<Sample>,
    file: std::fs::File,
    file_name: &str,
    conference: &str,
    started_at: i64,
    store: &Store,
    runtime: &tokio::runtime::Handle,
) {
    let id = match runtime.block_on(store.add_recording(conference, file_name, started_at)) {
        Ok(id) => Some(id),
        Err(e) => {
            // The file is still written; only its listing is missing.
            warn!(file_name, error = %e, "recording row not stored");
            None
        }
    };
    info!(conference, file_name, "recording started");
    let mut writer: Option<(Mp4Writer<std::io::BufWriter<std::fs::File>>, Instant)> = None;
    let mut file = Some(file);
    let mut last_video = None;
    for sample in rx.iter() {
        let result = match sample {
            Sample::Begin {
                width,
                height,
                pre_skip,
                epoch,
            } => {
                if let Some(f) = file.take() {
                    let config = Mp4Config {
                        width,
                        height,
                        pre_skip,
                    };
                    writer = Some((
                        Mp4Writer::new(std::io::BufWriter::with_capacity(1 << 20, f), config),
                        epoch,
                    ));
                }
                Ok(())
            }
            Sample::Video { at, data, keyframe } => match &mut writer {
                Some((w, epoch)) => {
                    let t = frame_ticks(*epoch, at, last_video);
                    w.write_video(t, &data, keyframe).map(|kept| {
                        if kept {
                            last_video = Some(t);
                        }
                    })
                }
                None => Ok(()),
            },
            Sample::Audio { at, data } => match &mut writer {
                // Audio of a tick before the recording began is not part of it.
                Some((w, epoch)) if at >= *epoch => {
                    w.write_audio(ticks(*epoch, at, AUDIO_TIMESCALE), &data)
                }
                _ => Ok(()),
            },
        };
        if let Err(e) = result {
            warn!(file_name, error = %e, "recording failed: no more samples are written");
            // Dropping the receiver tells the media thread to stop feeding us.
            break;
        }
    }
    drop(rx);
    let (bytes, duration_ms) = match writer {
        Some((w, _)) => {
            let (duration, bytes) = (w.duration_ms(), w.bytes());
            match w.finish() {
                Ok(done) => (done.bytes, done.duration_ms),
                Err(e) => {
                    warn!(file_name, error = %e, "recording not finished cleanly");
                    (bytes, duration)
                }
            }
        }
        None => (0, 0),
    };
    info!(
        conference,
        file_name, bytes, duration_ms, "recording stopped"
    );
    if let Some(id) = id {
        let ended_at = crate::server::wall_clock_ms();
        let finish = store.finish_recording(
            id,
            ended_at,
            i64::try_from(bytes).unwrap_or(i64::MAX),
            i64::try_from(duration_ms).unwrap_or(i64::MAX),
        );
        if let Err(e) = runtime.block_on(finish) {
            warn!(file_name, error = %e, "recording row not finished");
        }
    }
}

/// Deletes recordings that started more than `retention_days` ago and
/// marks their rows deleted. Returns how many were deleted.
pub async fn sweep(setup: &RecordingSetup, retention_days: u32, now_ms: i64) -> usize {
    let cutoff = now_ms - i64::from(retention_days) * 86_400_000;
    let old = match setup.store.recordings_started_before(cutoff).await {
        Ok(r) => r,
        Err(e) => {
            warn!(error = %e, "retention sweep: recordings not listed");
            return 0;
        }
    };
    let mut deleted = 0;
    for r in old {
        let path = setup.dir.join(&r.file_name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                warn!(file = r.file_name, error = %e, "retention sweep: file not deleted");
                continue;
            }
        }
        match setup.store.mark_recording_deleted(r.id, now_ms).await {
            Ok(()) => {
                deleted += 1;
                info!(
                    file = r.file_name,
                    "recording deleted: retention period over"
                );
            }
            Err(e) => warn!(file = r.file_name, error = %e, "retention sweep: row not marked"),
        }
    }
    deleted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stamps_are_vietnam_time() {
        // 2026-11-23 01:59:03 UTC is 08:59:03 in Hà Nội.
        assert_eq!(file_stamp(1_795_399_143_000), "20261123-085903");
        // Midnight in Hà Nội is 17:00 UTC the day before.
        assert_eq!(file_stamp(1_795_366_800_000 - 1000), "20261122-235959");
        assert_eq!(file_stamp(1_795_366_800_000), "20261123-000000");
        assert_eq!(file_stamp(0), "19700101-070000");
    }

    #[test]
    fn picture_times_snap_to_the_frame_grid_one_per_slot() {
        #[allow(clippy::disallowed_methods)] // any instant will do
        let t0 = Instant::now();
        let ms = |n: u64| t0 + std::time::Duration::from_millis(n);
        assert_eq!(frame_ticks(t0, ms(0), None), 0);
        // 40 ms is nearer the second slot (33.3 ms) than the first.
        assert_eq!(frame_ticks(t0, ms(40), Some(0)), 3000);
        // A late tick (+15 ms) then an on-time one: the second moves on a slot.
        assert_eq!(frame_ticks(t0, ms(82), Some(3000)), 6000);
        assert_eq!(frame_ticks(t0, ms(100), Some(6000)), 9000);
        assert_eq!(frame_ticks(t0, ms(101), Some(9000)), 12_000);
        // A skipped frame leaves its slot empty.
        assert_eq!(frame_ticks(t0, ms(200), Some(12_000)), 18_000);
    }

    #[test]
    fn a_full_queue_drops_and_then_waits_for_a_keyframe() {
        let (tx, rx) = std::sync::mpsc::sync_channel(2);
        let mut sink = RecordingSink {
            tx,
            file_name: "x.mp4".into(),
            dropped: 0,
            need_keyframe: false,
        };
        #[allow(clippy::disallowed_methods)] // any instant will do
        let t = Instant::now();
        let au: Arc<[u8]> = Arc::from(&[0u8, 0, 1, 0x65][..]);
        assert_eq!(sink.video(t, au.clone(), true), Offer::Queued);
        assert_eq!(sink.audio(t, au.clone()), Offer::Queued);
        assert_eq!(sink.video(t, au.clone(), false), Offer::NeedKeyframe);
        assert_eq!(sink.dropped(), 1);
        let _ = rx.recv();
        let _ = rx.recv();
        // Room again, but a delta picture after a lost one is not recorded.
        assert_eq!(sink.video(t, au.clone(), false), Offer::Dropped);
        assert_eq!(sink.video(t, au.clone(), true), Offer::Queued);
        assert_eq!(sink.video(t, au.clone(), false), Offer::Queued);
        drop(rx);
        assert_eq!(sink.audio(t, au), Offer::Gone);
    }
}
