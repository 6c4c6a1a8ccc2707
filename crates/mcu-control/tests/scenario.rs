//! Stepping through a booked conference's scenario (R1) through the router,
//! on the test clock: each step applies the item's layout to the chair view
//! and calls its speaker to the chair, the time used on each item adds up,
//! and every step is audited and in the logbook.

mod common;

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use common::*;
use mcu_control::{LiveCommand, View};
use serde_json::{Value, json};

const CONF: &str = "/api/v1/conferences/booking-1";

/// Booking 1 with a three-item scenario, approved, its conference opened.
async fn running() -> Api {
    let api = Api::new().await;
    let b = fixture_booking();
    let body = json!({
        "title": b.title, "organising_unit": b.organising_unit, "chair": b.chair,
        "participants": b.participants, "start_at": b.start_at, "end_at": b.end_at,
        "kind": "scheduled", "recording": false,
        "scenario": [
            {"title": "Khai mạc", "speaker": "ubnd-tinh", "layout": "1x1", "planned_minutes": 5},
            {"title": "Báo cáo của huyện Sơn Dương", "speaker": "son-duong", "layout": "1+7", "planned_minutes": 15},
            {"title": "Thảo luận", "layout": "2x2", "planned_minutes": 30}
        ]
    });
    let (status, out) = api
        .call("operator", "PUT", "/api/v1/bookings/1", Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let (status, out) = api
        .call("operator", "POST", "/api/v1/bookings/1/approve", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    api
}

async fn step(api: &Api, to: Value) -> (StatusCode, Value) {
    api.call(
        "operator",
        "POST",
        &format!("{CONF}/scenario/step"),
        Some(to),
    )
    .await
}

fn commands(api: &Api) -> Vec<LiveCommand> {
    let commands = api.live.commands.lock().unwrap();
    commands
        .iter()
        .filter(|(c, _)| c == "booking-1")
        .map(|(_, c)| c.clone())
        .collect()
}

fn advance(api: &Api, ms: i64) {
    api.clock.fetch_add(ms, Ordering::Relaxed);
}

#[tokio::test]
async fn each_step_applies_the_items_layout_and_calls_its_speaker() {
    let api = running().await;
    // Not running yet: nothing is applied, nothing recorded.
    let (status, body) = step(&api, json!({"to": "next"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "conference_not_running");
    let (status, body) = api
        .call("operator", "POST", &format!("{CONF}/start"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (_, view) = api
        .call("auditor", "GET", &format!("{CONF}/scenario"), None)
        .await;
    assert_eq!(view["current"], Value::Null);
    assert_eq!(view["next"], 0);
    assert_eq!(view["items"][1]["speaker_name"], "UBND huyện Sơn Dương");

    let (status, view) = step(&api, json!({"to": "next"})).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["current"], 0);
    assert_eq!(view["next"], 1);
    assert_eq!(
        commands(&api),
        vec![
            LiveCommand::SetLayout {
                view: View::Chair,
                layout: "1x1".into()
            },
            LiveCommand::CallToChair {
                endpoint: "ubnd-tinh".into()
            },
        ]
    );

    advance(&api, 4 * 60_000);
    let (_, view) = step(&api, json!({"to": "next"})).await;
    assert_eq!(view["current"], 1);
    let tail = &commands(&api)[2..];
    assert_eq!(
        tail,
        [
            LiveCommand::SetLayout {
                view: View::Chair,
                layout: "1+7".into()
            },
            LiveCommand::CallToChair {
                endpoint: "son-duong".into()
            },
        ]
    );
    // The chair view's layout is stored, as with `PUT …/layout`.
    let c = api.store.conference("booking-1").await.unwrap().unwrap();
    assert_eq!(c.layout, "1+7");

    // Jump to the discussion (no speaker: only the layout), then back.
    advance(&api, 10 * 60_000);
    let (_, view) = step(&api, json!({"to": "jump", "position": 2})).await;
    assert_eq!(view["current"], 2);
    assert_eq!(view["next"], Value::Null);
    assert_eq!(
        commands(&api).last(),
        Some(&LiveCommand::SetLayout {
            view: View::Chair,
            layout: "2x2".into()
        })
    );
    let (status, body) = step(&api, json!({"to": "next"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "scenario_bounds");
    advance(&api, 60_000);
    let (_, view) = step(&api, json!({"to": "previous"})).await;
    assert_eq!(view["current"], 1);
    advance(&api, 2 * 60_000);

    // Time used against planned: 4 min on the opening, 10 + 2 on the report, 1 on the discussion.
    let (_, view) = api
        .call("operator", "GET", &format!("{CONF}/scenario"), None)
        .await;
    let used: Vec<i64> = view["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["used_ms"].as_i64().unwrap())
        .collect();
    assert_eq!(used, vec![4 * 60_000, 12 * 60_000, 60_000]);
    assert_eq!(
        view["current_since"],
        api.clock.load(Ordering::Relaxed) - 2 * 60_000
    );

    // Every step is audited and copied into the logbook.
    let entries = api.store.logbook("booking-1").await.unwrap();
    let steps = entries
        .iter()
        .filter(|e| e.entry.text.starts_with("Chuyển mục kịch bản"))
        .count();
    assert_eq!(steps, 4);
    assert_eq!(
        api.last_audit().await.entry.action,
        "conference.scenario_step"
    );
}

#[tokio::test]
async fn a_speaker_who_is_not_connected_does_not_stop_the_step() {
    let api = running().await;
    api.call("operator", "POST", &format!("{CONF}/start"), None)
        .await;
    api.live
        .connected
        .lock()
        .unwrap()
        .retain(|e| e != "son-duong");
    let (status, view) = step(&api, json!({"to": "jump", "position": 1})).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["current"], 1);
    let warning = view["warnings"][0].as_str().unwrap_or_default();
    assert!(warning.contains("son-duong"), "{view}");
    // The layout still changed.
    assert_eq!(
        commands(&api),
        vec![LiveCommand::SetLayout {
            view: View::Chair,
            layout: "1+7".into()
        }]
    );
}

#[tokio::test]
async fn bad_steps_are_refused_and_change_nothing() {
    let api = running().await;
    api.call("operator", "POST", &format!("{CONF}/start"), None)
        .await;
    for (body, code_wanted) in [
        (json!({"to": "jump", "position": 3}), "invalid_field"),
        (json!({"to": "jump"}), "invalid_field"),
        (json!({"to": "next", "position": 1}), "invalid_field"),
        (json!({"to": "previous"}), "scenario_bounds"),
        (json!({"to": "sideways"}), "invalid_body"),
    ] {
        let (status, out) = step(&api, body.clone()).await;
        assert!(status.is_client_error(), "{body} → {status} {out}");
        assert_eq!(code(&out), code_wanted, "{body} → {out}");
    }
    assert!(commands(&api).is_empty());
    assert!(
        api.store
            .scenario_steps("booking-1")
            .await
            .unwrap()
            .is_empty()
    );

    // Site operators and auditors may read it, not step it.
    let (status, _) = step_as(&api, "site_operator", json!({"to": "next"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = step_as(&api, "auditor", json!({"to": "next"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A conference without a booked scenario has none.
    let (status, body) = api
        .call(
            "operator",
            "GET",
            "/api/v1/conferences/giao-ban/scenario",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

async fn step_as(api: &Api, role: &str, to: Value) -> (StatusCode, Value) {
    api.call(role, "POST", &format!("{CONF}/scenario/step"), Some(to))
        .await
}
