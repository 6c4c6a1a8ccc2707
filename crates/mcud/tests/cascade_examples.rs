//! The example configurations of `config/cascade/` run as `mcud
//! cascade-demo` runs them: copied as they are into a scratch folder laid
//! out like the repository, started from there, the four MCUs link into one
//! tree, the master lists every level's room with its path, and the commune
//! room can be called to the chair from the master's API. A second start
//! begins afresh (new secrets, new stores) and links again.
//!
//! The demo's addresses are fixed by the example tree (127.0.0.1:9441–9444).
//! This file holds one test: it changes the working directory.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{TempDir, https};
use mcud::cascade_demo::{self, CONFERENCE, Demo};
use serde_json::{Value, json};

async fn tree_when_complete(demo: &Demo, session: &str) -> Value {
    let master = &demo.mcus[0].running;
    let path = format!("/api/v1/conferences/{CONFERENCE}/cascade");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = https(master, "GET", &path, Some(session), None).await;
        let complete = r.status == 200
            && [
                "bo-tttt",
                "ubnd-tinh-tuyen-quang",
                "ubnd-huyen-son-duong",
                "ubnd-xa-hop-thanh",
            ]
            .iter()
            .all(|id| {
                r.body["endpoints"].as_array().is_some_and(|es| {
                    es.iter()
                        .any(|e| e["endpoint"] == *id && e["connected"] == true)
                })
            });
        if complete {
            return r.body;
        }
        assert!(
            Instant::now() < deadline,
            "the tree is not complete in 30 s: {} {}",
            r.status,
            r.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn login(demo: &Demo) -> String {
    let r = https(
        &demo.mcus[0].running,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": cascade_demo::OPERATOR, "password": demo.password})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_example_cascade_starts_links_four_levels_and_calls_the_commune_up() {
    let root = std::env::temp_dir().join(format!("mcud-cascade-examples-{}", std::process::id()));
    let _guard = TempDir(root.clone());
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/cascade");
    std::fs::create_dir_all(root.join("config/cascade")).unwrap();
    let mut files = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            root.join("config/cascade").join(entry.file_name()),
        )
        .unwrap();
        files += 1;
    }
    assert_eq!(files, 5, "tree.toml and one file per MCU");
    std::env::set_current_dir(&root).unwrap();

    let demo = cascade_demo::start(Path::new("config/cascade"))
        .await
        .unwrap();
    let secrets: Vec<_> = std::fs::read_dir("data/cascade/secrets").unwrap().collect();
    assert_eq!(secrets.len(), 3, "one secret per link");
    let first_secret = std::fs::read("data/cascade/secrets/central--tuyen-quang.key").unwrap();

    let session = login(&demo).await;
    let tree = tree_when_complete(&demo, &session).await;
    let path_of = |id: &str| {
        tree["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["endpoint"] == id)
            .map(|e| e["display_path"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(
        path_of("ubnd-xa-hop-thanh"),
        "Chính phủ › Tuyên Quang › Sơn Dương › Hợp Thành"
    );
    assert_eq!(
        path_of("ubnd-huyen-son-duong"),
        "Chính phủ › Tuyên Quang › Sơn Dương"
    );
    assert_eq!(path_of("ubnd-tinh-tuyen-quang"), "Chính phủ › Tuyên Quang");
    // The printed instructions name the chair's seat with its real token.
    let text = demo.instructions();
    assert!(
        text.contains(&format!("token={}", demo.chair_token)),
        "{text}"
    );
    assert!(text.contains(&demo.password), "{text}");

    let path = format!("/api/v1/conferences/{CONFERENCE}/call-to-chair");
    let body = json!({"endpoint": "ubnd-xa-hop-thanh"});
    let r = https(
        &demo.mcus[0].running,
        "POST",
        &path,
        Some(&session),
        Some(body),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let tree = https(
        &demo.mcus[0].running,
        "GET",
        &format!("/api/v1/conferences/{CONFERENCE}/cascade"),
        Some(&session),
        None,
    )
    .await
    .body;
    assert!(
        tree["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["endpoint"] == "ubnd-xa-hop-thanh" && e["selected"] == true),
        "the commune room is selected at the master: {tree}"
    );
    demo.stop().await;

    // Again: afresh, with new secrets, and linked again.
    let demo = cascade_demo::start(Path::new("config/cascade"))
        .await
        .unwrap();
    assert_ne!(
        std::fs::read("data/cascade/secrets/central--tuyen-quang.key").unwrap(),
        first_secret
    );
    let session = login(&demo).await;
    tree_when_complete(&demo, &session).await;
    demo.stop().await;
}
