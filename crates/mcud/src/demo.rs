//! `mcud demo`: the media core end to end on synthetic rooms, in virtual time.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mcu_mixer::ParticipantId;
use mcu_mixer::audio::FRAME_DURATION;
use mcu_mixer::codec::{AudioDecoder, H264Encoder, H264EncoderConfig, OpusDecoder, VideoEncoder};
use mcu_mixer::frame::Yuv;
use mcu_mixer::layout::LayoutLibrary;
use mcu_mixer::mixer::{ConferenceMixer, ConferenceMixerConfig, MixerOutput, ViewSpec};
use mcu_mixer::synth::{SineTone, SyntheticVideo};

/// The rooms of the demo: Tuyên Quang's provincial network.
const ROOMS: [(&str, (u8, u8, u8), f64); 9] = [
    ("UBND tỉnh Tuyên Quang", (200, 40, 40), 440.0),
    ("UBND huyện Sơn Dương", (40, 160, 60), 660.0),
    ("UBND huyện Yên Sơn", (40, 70, 200), 880.0),
    ("UBND huyện Hàm Yên", (210, 170, 30), 990.0),
    ("UBND huyện Chiêm Hóa", (150, 60, 170), 1320.0),
    ("UBND huyện Na Hang", (30, 170, 170), 1480.0),
    ("UBND huyện Lâm Bình", (220, 110, 40), 1760.0),
    ("UBND thành phố Tuyên Quang", (110, 110, 110), 1980.0),
    ("Sở Thông tin và Truyền thông", (90, 140, 230), 2640.0),
];

/// Options of `mcud demo`.
#[derive(Debug)]
pub struct Options {
    layout: String,
    seconds: u32,
    out: PathBuf,
    width: u32,
    height: u32,
}

impl Options {
    /// Parses the arguments after `demo`.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut o = Options {
            layout: "3x3".into(),
            seconds: 10,
            out: PathBuf::from("out"),
            width: 1280,
            height: 720,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || it.next().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--layout" => o.layout = value()?.clone(),
                "--seconds" => {
                    o.seconds = value()?
                        .parse()
                        .ok()
                        .filter(|s| (1..=600).contains(s))
                        .ok_or("--seconds takes 1 to 600")?
                }
                "--out" => o.out = PathBuf::from(value()?),
                "--size" => {
                    let v = value()?;
                    let (w, h) = v
                        .split_once('x')
                        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                        .filter(|&(w, h): &(u32, u32)| {
                            (64..=3840).contains(&w)
                                && (64..=2160).contains(&h)
                                && w % 2 == 0
                                && h % 2 == 0
                        })
                        .ok_or("--size takes WxH, even, e.g. 1280x720")?;
                    (o.width, o.height) = (w, h);
                }
                other => return Err(format!("unknown option {other}")),
            }
        }
        Ok(o)
    }
}

struct Room {
    id: ParticipantId,
    video: SyntheticVideo,
    encoder: H264Encoder,
    tone: SineTone,
    encoded: Vec<u8>,
}

/// Runs the demo and writes the files.
pub fn run(o: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let mut layouts = LayoutLibrary::with_templates();
    let custom = std::path::Path::new("config").join("layouts");
    if custom.is_dir() {
        layouts.load_dir(&custom)?;
    }
    if layouts.get(&o.layout).is_none() {
        let names: Vec<_> = layouts.names().collect();
        return Err(format!("unknown layout {:?}; known: {}", o.layout, names.join(", ")).into());
    }
    std::fs::create_dir_all(&o.out)?;
    // Virtual time: the demo runs as fast as the machine allows.
    let start = Instant::now();
    let mut mixer = ConferenceMixer::new(start, ConferenceMixerConfig::default(), layouts)?;
    let view = ViewSpec::new(&o.layout, o.width, o.height);
    let mut rooms = Vec::new();
    let mut group = None;
    for (i, &(name, (r, g, b), freq)) in ROOMS.iter().enumerate() {
        let id = ParticipantId(i as u64 + 1);
        group = Some(mixer.add_participant(id, name, view.clone())?);
        rooms.push(Room {
            id,
            video: SyntheticVideo::new(640, 360, Yuv::from_rgb(r, g, b))?,
            encoder: H264Encoder::new(H264EncoderConfig {
                bitrate_bps: 600_000,
                ..H264EncoderConfig::default()
            })?,
            tone: SineTone::new(freq, 6000),
            encoded: Vec::new(),
        });
    }
    let group = group.ok_or("no rooms")?;
    mixer.set_chair(Some(rooms[0].id))?;
    let listener = rooms[1].id;

    let video_path = o.out.join("demo.h264");
    let wav_path = o.out.join("demo.wav");
    let mut video_out = BufWriter::new(File::create(&video_path)?);
    let mut heard = Vec::new();
    let mut listener_decoder = OpusDecoder::new()?;
    let mut pcm = vec![0i16; mcu_mixer::audio::FRAME_SAMPLES];
    let (mut frames, mut keyframes, mut bytes) = (0u64, 0u64, 0u64);

    let end = start + Duration::from_secs(o.seconds as u64);
    let frame_period = Duration::from_nanos(1_000_000_000 / 30);
    let mut next_video = start;
    let mut now = start;
    let wall = Instant::now();
    while now < end {
        // Rooms take turns to speak, 1.5 s each, round the table.
        let t = (now - start).as_secs_f64();
        let talker = (t / 1.5) as usize % rooms.len();
        for (i, room) in rooms.iter_mut().enumerate() {
            let frame = room.tone.next_frame();
            if i == talker {
                mixer.handle_audio_pcm(room.id, frame)?;
            }
        }
        if now >= next_video {
            next_video += frame_period;
            for room in &mut rooms {
                let ts = (now - start).as_millis() as u64;
                let enc = room
                    .encoder
                    .encode(room.video.next_frame(), ts, &mut room.encoded)?;
                mixer.handle_video(now, room.id, &room.encoded[..enc.bytes])?;
            }
        }
        mixer.handle_timeout(now);
        while let Some(out) = mixer.poll_output() {
            match out {
                MixerOutput::Video {
                    group: g,
                    keyframe,
                    data,
                    ..
                } if g == group => {
                    frames += 1;
                    keyframes += keyframe as u64;
                    bytes += data.len() as u64;
                    video_out.write_all(&data)?;
                }
                MixerOutput::Audio { to, data, .. } if to.contains(&listener) => {
                    listener_decoder.decode(Some(&data), &mut pcm)?;
                    heard.extend_from_slice(&pcm);
                }
                MixerOutput::ActiveSpeaker {
                    participant: Some(p),
                } => {
                    let name = ROOMS[(p.0 - 1) as usize].0;
                    println!(
                        "{:6.2} s  active speaker: {name}",
                        (now - start).as_secs_f64()
                    );
                }
                MixerOutput::RequestKeyframe { from } => {
                    if let Some(room) = rooms.iter_mut().find(|r| r.id == from) {
                        room.encoder.force_keyframe();
                    }
                }
                _ => {}
            }
        }
        now += FRAME_DURATION;
    }
    video_out.flush()?;
    write_wav(&wav_path, &heard)?;
    let secs = o.seconds as f64;
    println!(
        "wrote {} ({frames} frames, {keyframes} keyframes, {:.0} kbit/s, {}x{} layout {})",
        video_path.display(),
        bytes as f64 * 8.0 / secs / 1000.0,
        o.width,
        o.height,
        o.layout
    );
    println!(
        "wrote {} ({:.1} s of what \"{}\" hears)",
        wav_path.display(),
        heard.len() as f64 / 48_000.0,
        ROOMS[1].0
    );
    println!(
        "mixed {secs:.0} s of conference in {:.1} s; stats: {:?}",
        wall.elapsed().as_secs_f64(),
        mixer.stats()
    );
    println!(
        "play: ffplay {}   |   ffplay {}",
        video_path.display(),
        wav_path.display()
    );
    Ok(())
}

fn write_wav(path: &Path, samples: &[i16]) -> std::io::Result<()> {
    let mut f = BufWriter::new(File::create(path)?);
    let data_len = (samples.len() * 2) as u32;
    f.write_all(b"RIFF")?;
    f.write_all(&(36 + data_len).to_le_bytes())?;
    f.write_all(b"WAVEfmt ")?;
    f.write_all(&16u32.to_le_bytes())?;
    f.write_all(&1u16.to_le_bytes())?; // PCM
    f.write_all(&1u16.to_le_bytes())?; // mono
    f.write_all(&48_000u32.to_le_bytes())?;
    f.write_all(&(48_000u32 * 2).to_le_bytes())?;
    f.write_all(&2u16.to_le_bytes())?;
    f.write_all(&16u16.to_le_bytes())?;
    f.write_all(b"data")?;
    f.write_all(&data_len.to_le_bytes())?;
    for s in samples {
        f.write_all(&s.to_le_bytes())?;
    }
    f.flush()
}
