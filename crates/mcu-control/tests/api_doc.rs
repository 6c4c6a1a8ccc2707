//! docs/api.md describes the whole API: every route of the OpenAPI document
//! and every error code the sources can answer with.

mod common;

use common::Api;

const DOC: &str = include_str!("../../../docs/api.md");

#[tokio::test]
async fn every_route_is_in_the_doc() {
    let api = Api::new().await;
    let (_, spec) = api
        .call("anonymous", "GET", "/api/openapi.json", None)
        .await;
    let paths = spec["paths"].as_object().expect("paths");
    assert!(paths.len() >= 20, "{} paths", paths.len());
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let line = format!("{} {path}", method.to_uppercase());
            let documented =
                DOC.contains(&format!("`{line}`")) || DOC.contains(&format!("`{line}?"));
            assert!(documented, "docs/api.md lacks `{line}`");
        }
    }
}

#[test]
fn every_error_code_is_in_the_doc() {
    let codes = common::api_error_codes();
    assert!(
        codes.contains("no_floor_request") && codes.contains("forbidden"),
        "{codes:?}"
    );
    for code in codes {
        assert!(
            DOC.contains(&format!("`{code}`")),
            "docs/api.md lacks error code `{code}`"
        );
    }
}
