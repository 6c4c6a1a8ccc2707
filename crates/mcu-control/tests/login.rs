//! Logging in and out: cookie and bearer sessions, lockout after repeated
//! failures, and every attempt in the audit log.

mod common;

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Api, PASSWORD, code};
use serde_json::json;

async fn login(api: &Api, user: &str, password: &str) -> (StatusCode, serde_json::Value) {
    api.call(
        "anonymous",
        "POST",
        "/api/v1/auth/login",
        Some(json!({"username": user, "password": password})),
    )
    .await
}

#[tokio::test]
async fn login_gives_a_cookie_and_a_bearer_token_and_logout_ends_both() {
    let api = Api::new().await;
    let req = Request::post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"username": "operator", "password": PASSWORD}).to_string(),
        ))
        .unwrap();
    let res = api.send(req).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in [
        "mcu_session=",
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
        "Path=/",
    ] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("mcu_session=")
        .to_owned();

    // The cookie alone identifies the user…
    let me = Request::get("/api/v1/auth/me")
        .header("cookie", format!("lang=vi; mcu_session={token}"))
        .body(Body::empty())
        .unwrap();
    let res = api.send(me).await;
    assert_eq!(res.status(), StatusCode::OK);
    // …and so does the bearer form.
    let bearer = |t: &str| {
        Request::get("/api/v1/auth/me")
            .header("authorization", format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(api.send(bearer(&token)).await.status(), StatusCode::OK);

    let logout = Request::post("/api/v1/auth/logout")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let res = api.send(logout).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        api.send(bearer(&token)).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let audit = api.store.list_audit(10, None).await.unwrap();
    let actions: Vec<_> = audit
        .iter()
        .map(|a| (a.entry.action.as_str(), a.entry.result.as_str()))
        .collect();
    assert_eq!(actions, [("auth.logout", "ok"), ("auth.login", "ok")]);
}

#[tokio::test]
async fn sessions_expire() {
    let api = Api::new().await;
    let (status, body) = login(&api, "operator", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let token = body["token"].as_str().unwrap().to_owned();
    let me = |t: String| {
        Request::get("/api/v1/auth/me")
            .header("authorization", format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(api.send(me(token.clone())).await.status(), StatusCode::OK);
    api.clock.fetch_add(12 * 3600 * 1000, Ordering::Relaxed);
    assert_eq!(api.send(me(token)).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_the_same_answer() {
    let api = Api::new().await;
    let (s1, b1) = login(&api, "operator", "sai-mật-khẩu-rồi").await;
    let (s2, b2) = login(&api, "khong-co-ai", "sai-mật-khẩu-rồi").await;
    assert_eq!(
        (s1, code(&b1)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    assert_eq!(
        (s2, code(&b2)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    assert_eq!(b1, b2);
    let last = api.last_audit().await.entry;
    assert_eq!(
        (
            last.action.as_str(),
            last.actor.as_str(),
            last.result.as_str()
        ),
        ("auth.login", "khong-co-ai", "invalid_credentials")
    );
}

#[tokio::test]
async fn brute_force_locks_the_account_until_the_lock_expires() {
    let api = Api::new().await;
    for i in 1..=4 {
        let (status, _) = login(&api, "operator", &format!("đoán-mò-lần-{i}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = login(&api, "operator", "đoán-mò-lần-5").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::LOCKED, "account_locked"),
        "{body}"
    );
    // Even the right password is refused while locked.
    let (status, body) = login(&api, "operator", PASSWORD).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::LOCKED, "account_locked")
    );
    let until = body["error"]["details"]["locked_until"].as_i64().unwrap();

    api.clock.store(until + 1, Ordering::Relaxed);
    let (status, _) = login(&api, "operator", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    // The count starts over after a success.
    let (status, _) = login(&api, "operator", "đoán-mò-lần-6").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let locks = api.store.list_audit(100, None).await.unwrap();
    assert_eq!(
        locks
            .iter()
            .filter(|a| a.entry.result == "account_locked")
            .count(),
        2
    );
}

#[tokio::test]
async fn disabled_accounts_cannot_log_in() {
    let api = Api::new().await;
    let (status, _) = api
        .call(
            "admin",
            "PATCH",
            &format!("/api/v1/users/{}", api.victim),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = login(&api, "victim", PASSWORD).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
}
