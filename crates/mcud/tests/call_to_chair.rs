//! Calling an endpoint to the chair, end to end: a conference set up and
//! started through the control API over TLS, three synthetic endpoints
//! (`mcu-endpoint`: real signalling, WebRTC, H.264) with distinct colours,
//! the chair view switched from 2x2 to 1+7, then one call — and the chair
//! endpoint's received picture shows the called endpoint's colour in the
//! main tile within a second of the call.

mod common;

use std::time::{Duration, Instant};

use common::{https, looks_like};
use mcu_endpoint::{Endpoint, StopMode, picture::PALETTE};
use serde_json::json;

/// (endpoint id, name, chair-capable, palette index).
const ROOMS: [(&str, &str, bool, usize); 3] = [
    ("ubnd-tinh", "UBND tỉnh Tuyên Quang", true, 0),
    ("son-duong", "UBND huyện Sơn Dương", false, 1),
    ("dong-quy", "UBND xã Đông Quý", false, 2),
];

/// The colour of the top-left quarter of the chair's picture (inside the
/// main tile of 1+7, the whole first tile of 2x2).
fn top_left(chair: &Endpoint) -> Option<String> {
    chair.live().tiles.first().map(|t| t.colour.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_called_endpoint_fills_the_chairs_main_tile_within_a_second() {
    let (_guard, running) = common::daemon("call", |_| {}).await;
    let rooms = ROOMS.map(|(id, name, chair, _)| (id, name, chair));
    let (op, tokens) = common::start_conference(&running, "giao-ban", "2x2", &rooms).await;

    // The three rooms join, the chair first and the called one last.
    let ids = ROOMS.map(|r| r.0);
    let endpoints = common::spawn_endpoints(&running, "giao-ban", &ids, &tokens, |i, c| {
        c.colour = PALETTE[ROOMS[i].3];
        c.grid = Some(2);
        // Only the chair's picture is analysed: the others spare the CPU.
        c.analyse_video = i == 0;
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while !endpoints.iter().all(|e| e.live().connected) || endpoints[0].live().tiles.is_empty() {
        let errors: Vec<_> = endpoints.iter().filter_map(|e| e.live().error).collect();
        assert!(errors.is_empty(), "{errors:?}");
        assert!(
            Instant::now() < deadline,
            "endpoints did not connect and show a picture in 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The chair view goes to 1+7; its main tile shows someone else than the called room.
    let r = https(
        &running,
        "PUT",
        "/api/v1/conferences/giao-ban/layout",
        Some(&op),
        Some(json!({"view": "chair", "layout": "1+7"})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Every room talks, so the active speaker may hold the main tile: call
    // the room that is not on it (the speaker hold keeps it there for
    // seconds, so what follows is the call's doing).
    let before = top_left(&endpoints[0]).unwrap_or_default();
    let (target, _, _, colour) = *ROOMS[1..]
        .iter()
        .find(|r| !looks_like(&before, PALETTE[r.3]))
        .expect("two rooms cannot both be on the main tile");
    let called = PALETTE[colour];
    let t0 = Instant::now();
    let r = https(
        &running,
        "POST",
        "/api/v1/conferences/giao-ban/call-to-chair",
        Some(&op),
        Some(json!({ "endpoint": target })),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let shown = loop {
        if top_left(&endpoints[0]).is_some_and(|c| looks_like(&c, called)) {
            break t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "the chair never saw the called room; top-left {:?}",
            top_left(&endpoints[0])
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    println!(
        "call to chair → chair's picture shows it: {} ms",
        shown.as_millis()
    );
    assert!(
        shown <= Duration::from_secs(1),
        "took {} ms",
        shown.as_millis()
    );

    for mut e in endpoints {
        tokio::task::block_in_place(|| e.stop(StopMode::Leave));
    }
    running.shutdown(Duration::from_secs(2)).await.unwrap();
}
