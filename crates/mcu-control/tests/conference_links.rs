//! A conference names the cascade links taking part (R7): the operator
//! picks them among this MCU's neighbours when creating it or later (a
//! booked conference is created without links), the media side is given
//! them when the conference opens and told when they change while it runs.
//! A name that is not a neighbour, a counterpart conference on a child link,
//! or a link named twice is refused; every change is audited.

mod common;

use axum::http::StatusCode;
use common::*;
use mcu_control::{CascadeMcu, CascadeNeighbour, NeighbourRole};
use mcu_store::ConferenceLink;
use serde_json::json;

fn mcu(id: &str, name: &str, level: &str) -> CascadeMcu {
    CascadeMcu {
        id: id.into(),
        name: name.into(),
        level: level.into(),
    }
}

/// The province MCU Tuyên Quang: the master above it (Hà Nội as its
/// standby), two districts below.
async fn province() -> Api {
    let api = Api::new().await;
    *api.live.neighbours.lock().unwrap() = vec![
        CascadeNeighbour {
            mcu: mcu("central", "Chính phủ", "central"),
            role: NeighbourRole::Parent,
            standby: Some(mcu("ha-noi", "Hà Nội", "province")),
        },
        CascadeNeighbour {
            mcu: mcu("son-duong", "Sơn Dương", "district"),
            role: NeighbourRole::Child,
            standby: None,
        },
        CascadeNeighbour {
            mcu: mcu("ham-yen", "Hàm Yên", "district"),
            role: NeighbourRole::Child,
            standby: None,
        },
    ];
    api
}

fn new_conference(links: serde_json::Value) -> serde_json::Value {
    json!({"id": "giao-ban-tw", "title": "Giao ban trực tuyến Chính phủ", "chair": "ubnd-tinh",
           "layout": "1+7", "participants": ["ubnd-tinh", "son-duong"], "links": links})
}

fn link(mcu: &str, remote: Option<&str>) -> ConferenceLink {
    ConferenceLink {
        mcu: mcu.into(),
        remote_conference: remote.map(Into::into),
    }
}

#[tokio::test]
async fn the_neighbours_are_listed_for_the_operator_to_pick() {
    let api = province().await;
    let (status, body) = api
        .call("site_operator", "GET", "/api/v1/cascade/neighbours", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!([
            {"mcu": {"id": "central", "name": "Chính phủ", "level": "central"}, "role": "parent",
             "standby": {"id": "ha-noi", "name": "Hà Nội", "level": "province"}},
            {"mcu": {"id": "son-duong", "name": "Sơn Dương", "level": "district"}, "role": "child", "standby": null},
            {"mcu": {"id": "ham-yen", "name": "Hàm Yên", "level": "district"}, "role": "child", "standby": null},
        ])
    );
    let (status, _) = api
        .call("anonymous", "GET", "/api/v1/cascade/neighbours", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_conference_is_created_with_its_links_and_opens_with_them() {
    let api = province().await;
    let links = json!([{"mcu": "son-duong"}, {"mcu": "central", "conference": "booking-40"}]);
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/conferences",
            Some(new_conference(links)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let expected = json!([{"mcu": "central", "conference": "booking-40"}, {"mcu": "son-duong"}]);
    assert_eq!(body["links"], expected, "sorted by MCU id");
    let audit = api.last_audit().await;
    assert_eq!(audit.entry.action, "conference.create");
    assert!(
        audit.entry.details.contains("booking-40"),
        "{}",
        audit.entry.details
    );

    let (status, body) = api
        .call("auditor", "GET", "/api/v1/conferences/giao-ban-tw", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["links"], expected, "stored");

    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/conferences/giao-ban-tw/start",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let started = api.live.started.lock().unwrap().last().unwrap().clone();
    assert_eq!(started.id, "giao-ban-tw");
    assert_eq!(
        started.links,
        vec![link("central", Some("booking-40")), link("son-duong", None)],
        "the media side opens the links the conference names"
    );

    // A conference that names none stays local (the fixture's).
    let (_, body) = api
        .call("operator", "GET", "/api/v1/conferences/giao-ban", None)
        .await;
    assert_eq!(body["links"], json!([]));
}

#[tokio::test]
async fn links_that_are_not_this_mcus_to_name_are_refused() {
    let api = province().await;
    for (links, why) in [
        (json!([{"mcu": "hai-phong"}]), "not a neighbour"),
        (
            json!([{"mcu": "son-duong", "conference": "x"}]),
            "a counterpart on a child link",
        ),
        (
            json!([{"mcu": "central"}, {"mcu": "central"}]),
            "named twice",
        ),
        (
            json!([{"mcu": "central", "conference": "không hợp lệ"}]),
            "a bad counterpart id",
        ),
        (
            json!([{"mcu": "ha-noi"}]),
            "the standby comes with the parent",
        ),
    ] {
        let (status, body) = api
            .call(
                "operator",
                "POST",
                "/api/v1/conferences",
                Some(new_conference(links)),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {body}");
        assert_eq!(code(&body), "invalid_field", "{why}");
        assert_eq!(body["error"]["details"]["field"], "links", "{why}");
    }
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/conferences",
            Some(new_conference(json!([{"mcu": "hai-phong"}]))),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("neighbours: central, son-duong, ham-yen"),
        "{body}"
    );
    // Nothing was created.
    let (status, _) = api
        .call("operator", "GET", "/api/v1/conferences/giao-ban-tw", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Without a cascade, no link at all.
    let plain = Api::new().await;
    let (status, body) = plain
        .call(
            "operator",
            "POST",
            "/api/v1/conferences",
            Some(new_conference(json!([{"mcu": "central"}]))),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no cascade"),
        "{body}"
    );
}

#[tokio::test]
async fn renaming_a_running_conferences_links_relinks_it_and_is_audited() {
    let api = province().await;
    // Created, not running: stored only.
    let (status, body) = api
        .call(
            "operator",
            "PUT",
            "/api/v1/conferences/hop-moi/links",
            Some(json!({"links": [{"mcu": "ham-yen"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["links"], json!([{"mcu": "ham-yen"}]));
    assert!(api.live.relinked.lock().unwrap().is_empty());

    // Running (the fixture's giao-ban is live): relinked at once.
    let (status, body) = api
        .call(
            "operator",
            "PUT",
            "/api/v1/conferences/giao-ban/links",
            Some(json!({"links": [{"mcu": "central"}, {"mcu": "son-duong"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        api.live.relinked.lock().unwrap().clone(),
        vec![(
            "giao-ban".to_owned(),
            vec![link("central", None), link("son-duong", None)]
        )]
    );
    let audit = api.last_audit().await.entry;
    assert_eq!(
        (
            audit.action.as_str(),
            audit.target.as_str(),
            audit.result.as_str()
        ),
        ("conference.links", "conference/giao-ban", "ok")
    );

    // A refused change is audited with its code and changes nothing.
    let (status, _) = api
        .call(
            "operator",
            "PUT",
            "/api/v1/conferences/giao-ban/links",
            Some(json!({"links": [{"mcu": "hai-phong"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(api.last_audit().await.entry.result, "invalid_field");
    let (_, body) = api
        .call("operator", "GET", "/api/v1/conferences/giao-ban", None)
        .await;
    assert_eq!(
        body["links"],
        json!([{"mcu": "central"}, {"mcu": "son-duong"}])
    );
    assert_eq!(api.live.relinked.lock().unwrap().len(), 1);

    // Only operators; not after the end.
    let (status, _) = api
        .call(
            "site_operator",
            "PUT",
            "/api/v1/conferences/giao-ban/links",
            Some(json!({"links": []})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api
        .call("operator", "POST", "/api/v1/conferences/giao-ban/end", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .call(
            "operator",
            "PUT",
            "/api/v1/conferences/giao-ban/links",
            Some(json!({"links": []})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "conference_state");
    let (status, _) = api
        .call(
            "operator",
            "PUT",
            "/api/v1/conferences/khong-co/links",
            Some(json!({"links": []})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
