//! Recording end to end (R17): a conference started through the control
//! API, recorded from the start by the operator, three synthetic endpoints
//! (`mcu-endpoint`) for about ten seconds, then ended — and what is left:
//!
//! - the recording listed by `GET /api/v1/recordings` with its size and
//!   duration;
//! - an MP4 that `ffprobe` reads as one H.264 stream at the chair view's
//!   1280×720 and one Opus stream at 48 kHz, lasting the recorded time
//!   (±1 s), and that `ffmpeg` decodes without an error;
//! - the download through the API returns the file's bytes, and leaves an
//!   audit row;
//! - the file cut short after a fragment (a daemon killed mid-recording)
//!   still probes, with a shorter duration.
//!
//! Needs `ffprobe` and `ffmpeg` (installed by `scripts/setup.sh`).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{TempDir, config, https};
use mcu_endpoint::StopMode;
use serde_json::Value;

const ROOMS: [(&str, &str, bool); 3] = [
    ("ubnd-tinh", "UBND tỉnh Tuyên Quang", true),
    ("son-duong", "UBND huyện Sơn Dương", false),
    ("dong-quy", "Xã Đồng Quý", false),
];

fn ffprobe(file: &Path) -> Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
        ])
        .arg(file)
        .output()
        .expect("ffprobe runs (scripts/setup.sh installs ffmpeg)");
    assert!(
        out.status.success(),
        "ffprobe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn duration(probe: &Value) -> f64 {
    probe["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("no duration: {probe:#}"))
}

fn stream<'a>(probe: &'a Value, kind: &str) -> Vec<&'a Value> {
    probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["codec_type"] == kind)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_conference_gives_an_mp4_that_ffprobe_reads_as_recorded() {
    let (guard, running) = common::daemon("recording", |_| {}).await;
    let dir = guard.0.clone();
    let (op, tokens) = common::start_conference(&running, "giao-ban", "2x2", &ROOMS).await;

    // Not recording yet; the operator starts it.
    let r = https(
        &running,
        "GET",
        "/api/v1/conferences/giao-ban/recording",
        Some(&op),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["file_name"], Value::Null);
    let r = https(
        &running,
        "POST",
        "/api/v1/conferences/giao-ban/recording/start",
        Some(&op),
        None,
    )
    .await;
    let started = Instant::now();
    assert_eq!(r.status, 200, "{}", r.body);
    let file_name = r.body["file_name"].as_str().unwrap().to_owned();
    assert!(
        file_name.starts_with("giao-ban-")
            && file_name.ends_with(".mp4")
            && file_name.len() == "giao-ban-yyyymmdd-HHMMSS.mp4".len(),
        "{file_name}"
    );
    // A second start is refused.
    let r = https(
        &running,
        "POST",
        "/api/v1/conferences/giao-ban/recording/start",
        Some(&op),
        None,
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "recording_running");

    let ids = ROOMS.map(|r| r.0);
    let mut endpoints = common::spawn_endpoints(&running, "giao-ban", &ids, &tokens, |_, _| {});
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(started.elapsed())).await;
    let r = https(
        &running,
        "POST",
        "/api/v1/conferences/giao-ban/end",
        Some(&op),
        None,
    )
    .await;
    let recorded = started.elapsed().as_secs_f64();
    assert_eq!(r.status, 200, "{}", r.body);
    for mut e in endpoints.drain(..) {
        tokio::task::block_in_place(|| e.stop(StopMode::Leave));
    }

    // Listed, finished by the writer thread shortly after the end.
    let deadline = Instant::now() + Duration::from_secs(10);
    let listed = loop {
        let r = https(
            &running,
            "GET",
            "/api/v1/recordings?conference=giao-ban",
            Some(&op),
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let list = r.body.as_array().unwrap().clone();
        assert_eq!(list.len(), 1, "{}", r.body);
        if list[0]["ended_at"].is_i64() {
            break list[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "recording not finished: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(listed["file_name"], file_name.as_str());
    assert_eq!(listed["conference_id"], "giao-ban");
    let path = dir.join("recordings").join(&file_name);
    let on_disk = std::fs::read(&path).unwrap();
    assert_eq!(listed["bytes"].as_u64(), Some(on_disk.len() as u64));
    let listed_ms = listed["duration_ms"].as_f64().unwrap();
    assert!(
        (listed_ms / 1000.0 - recorded).abs() <= 1.0,
        "{listed_ms} ms vs {recorded} s"
    );

    // What ffprobe sees.
    let probe = ffprobe(&path);
    let seconds = duration(&probe);
    assert!(
        (seconds - recorded).abs() <= 1.0,
        "duration {seconds} s, recorded for {recorded} s: {probe:#}"
    );
    assert!(
        (9.0..=12.0).contains(&seconds),
        "about ten seconds: {seconds}"
    );
    let video = stream(&probe, "video");
    assert_eq!(video.len(), 1, "{probe:#}");
    assert_eq!(video[0]["codec_name"], "h264");
    assert_eq!(video[0]["width"], 1280, "the chair view's size");
    assert_eq!(video[0]["height"], 720);
    let audio = stream(&probe, "audio");
    assert_eq!(audio.len(), 1, "{probe:#}");
    assert_eq!(audio[0]["codec_name"], "opus");
    assert_eq!(audio[0]["sample_rate"], "48000");
    assert_eq!(audio[0]["channels"], 1);
    assert_eq!(probe["streams"].as_array().unwrap().len(), 2);

    // Decodes from end to end without an error.
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && errors.trim().is_empty(),
        "ffmpeg: {errors}"
    );

    // The download is the file, and it is audited.
    let id = listed["id"].as_i64().unwrap();
    let download = format!("/api/v1/recordings/{id}/download");
    let r = https(&running, "GET", &download, Some(&op), None).await;
    assert_eq!(r.status, 200, "{}", r.headers);
    assert!(
        r.headers
            .to_ascii_lowercase()
            .contains("content-type: video/mp4"),
        "{}",
        r.headers
    );
    assert!(
        r.headers
            .contains(&format!("attachment; filename=\"{file_name}\"")),
        "{}",
        r.headers
    );
    assert!(
        r.bytes == on_disk,
        "downloaded {} bytes, file has {}",
        r.bytes.len(),
        on_disk.len()
    );
    let admin = common::login(&running, "quantri", common::ADMIN_PW).await;
    let r = https(
        &running,
        "GET",
        "/api/v1/audit?limit=1000",
        Some(&admin),
        None,
    )
    .await;
    let audited: Vec<&Value> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "recording.download")
        .collect();
    assert_eq!(audited.len(), 1, "{}", r.body);
    assert_eq!(audited[0]["actor"], "dieuhanh");
    assert_eq!(audited[0]["target"], format!("recording/{id}"));
    assert_eq!(audited[0]["result"], "ok");
    assert!(
        r.body
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "recording.start"),
        "the start is audited too"
    );

    // A file cut short after a whole fragment (the daemon killed while
    // recording) still probes, shorter.
    let cut = cut_after_fragment(&on_disk, 4);
    let mut torn = on_disk[..cut].to_vec();
    // A killed daemon never patched the total duration into `mehd`.
    zero_mehd(&mut torn, &on_disk);
    let short = dir.join("cut.mp4");
    std::fs::write(&short, &torn).unwrap();
    let probe = ffprobe(&short);
    let seconds = duration(&probe);
    assert!(
        seconds > 2.0 && seconds < recorded - 2.0,
        "cut file lasts {seconds} s"
    );
    assert_eq!(stream(&probe, "video").len(), 1);
    assert_eq!(stream(&probe, "audio").len(), 1);

    // Stopping a conference that is not running is an error, not a hang.
    let r = https(
        &running,
        "POST",
        "/api/v1/conferences/giao-ban/recording/stop",
        Some(&op),
        None,
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);

    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// Sets the `mehd` duration (moov › mvex › mehd, version 1) of `b`, a cut
/// copy of `whole`, back to 0.
fn zero_mehd(b: &mut [u8], whole: &[u8]) {
    use mcud::mp4::boxes;
    let top = boxes(whole, 0, whole.len()).expect("the whole file parses");
    let moov = top.iter().find(|x| &x.kind == b"moov").expect("moov");
    let inner = boxes(b, moov.body, moov.end).expect("moov parses");
    let mvex = inner.iter().find(|x| &x.kind == b"mvex").expect("mvex");
    let inner = boxes(b, mvex.body, mvex.end).expect("mvex parses");
    let mehd = inner.iter().find(|x| &x.kind == b"mehd").expect("mehd");
    assert_ne!(
        &b[mehd.body + 4..mehd.body + 12],
        &[0; 8],
        "patched on finish"
    );
    b[mehd.body + 4..mehd.body + 12].fill(0);
}

/// An offset in the middle of the `n+1`-th fragment's `mdat` (`n` whole
/// fragments, then a torn write).
fn cut_after_fragment(b: &[u8], n: usize) -> usize {
    let top = mcud::mp4::boxes(b, 0, b.len()).expect("the finished file parses");
    let mdats: Vec<_> = top.iter().filter(|x| &x.kind == b"mdat").collect();
    assert!(mdats.len() > n + 1, "{} fragments", mdats.len());
    (mdats[n].body + mdats[n].end) / 2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_and_operators_see_recordings() {
    let dir = std::env::temp_dir().join(format!("mcud-recording-roles-{}", std::process::id()));
    let _guard = TempDir(dir.clone());
    let config = config(&dir);
    common::create_admin_and_operator(&config).await;
    let account = mcud::admin::NewAccount {
        username: "kiemtoan".into(),
        role: mcu_store::Role::Auditor,
        display_name: "kiemtoan".into(),
        endpoints: vec![],
    };
    mcud::admin::create_user(&config, &account, "kiểm-toán-viên-mạnh")
        .await
        .unwrap();
    let running = mcud::server::start(&config).await.unwrap();
    let op = common::login(&running, "dieuhanh", common::OPERATOR_PW).await;
    let admin = common::login(&running, "quantri", common::ADMIN_PW).await;
    let auditor = common::login(&running, "kiemtoan", "kiểm-toán-viên-mạnh").await;
    for (who, status) in [
        (Some(&op), 200),
        (Some(&admin), 200),
        (Some(&auditor), 403),
        (None, 401),
    ] {
        let r = https(
            &running,
            "GET",
            "/api/v1/recordings",
            who.map(String::as_str),
            None,
        )
        .await;
        assert_eq!(r.status, status, "{}", r.body);
    }
    let r = https(
        &running,
        "GET",
        "/api/v1/recordings/1/download",
        Some(&op),
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    // Starting a recording takes the operator's right to run conferences.
    let r = https(
        &running,
        "POST",
        "/api/v1/conferences/x/recording/start",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}
