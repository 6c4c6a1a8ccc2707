//! Lost audio is concealed (issue 3): a room's uplink loses every 5th RTP
//! packet; the MCU's audio jitter buffer notices each missing packet and the
//! Opus decoder conceals its frame, so the others still hear the room's tone
//! without holes in the mix's timing. With a clean line nothing is concealed.

mod common;

use std::time::Duration;

use mcu_endpoint::StopMode;
use mcud::server::Running;

const ROOMS: [(&str, &str, bool); 2] = [
    ("ubnd-tinh", "UBND tỉnh Tuyên Quang", true),
    ("son-duong", "UBND huyện Sơn Dương", false),
];

async fn counter(running: &Running, name: &str) -> f64 {
    common::metric(running, "giao-ban", name)
        .await
        .unwrap_or_else(|| panic!("{name} in /metrics"))
}

async fn concealed(running: &Running) -> f64 {
    counter(running, "mcu_audio_frames_concealed_total").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_audio_packets_are_concealed() {
    let (_guard, running) = common::daemon("audio-loss", |_| {}).await;
    let (_op, tokens) = common::start_conference(&running, "giao-ban", "2x2", &ROOMS).await;
    let ids = ROOMS.map(|r| r.0);
    let mut endpoints = common::spawn_endpoints(&running, "giao-ban", &ids, &tokens, |_, _| {});

    // Both rooms connected and talking for a while.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !endpoints.iter().all(|e| e.live().connected) {
        assert!(
            std::time::Instant::now() < deadline,
            "rooms never connected"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    // A clean line: nothing to conceal.
    let before = concealed(&running).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let clean = concealed(&running).await - before;
    assert!(clean <= 2.0, "{clean} frames concealed on a clean line");

    // Every 5th packet lost (audio: 10 of 50 frames a second).
    endpoints[1].set_send_loss_every(5);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = concealed(&running).await;
    let errors_before = counter(&running, "mcu_audio_decode_errors_total").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let lossy = concealed(&running).await - before;
    let errors = counter(&running, "mcu_audio_decode_errors_total").await - errors_before;
    println!("audio frames concealed: {clean} in 2 s clean, {lossy} in 3 s at 20 % loss");
    assert!(
        (20.0..=40.0).contains(&lossy),
        "about 30 lost frames concealed in 3 s: {lossy}"
    );
    assert_eq!(errors, 0.0, "no decode errors");

    // The chair still hears the lossy room's tone.
    let chair = endpoints[0].stop(StopMode::Leave);
    let site_hz = chair
        .tones
        .iter()
        .find(|t| t.present)
        .map(|t| t.hz)
        .unwrap_or_default();
    assert!(site_hz > 0.0, "the chair hears the room: {:?}", chair.tones);
    endpoints[1].stop(StopMode::Leave);
    running.shutdown(Duration::from_secs(2)).await.unwrap();
}
