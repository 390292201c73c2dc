//! `openapi.json` describes every route, and every described route is served: each is
//! called on a real server on loopback and must answer (no 404/405 for the route itself).

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

fn spec() -> serde_json::Value {
    serde_json::from_str(include_str!("../openapi.json")).expect("openapi.json is JSON")
}

#[test]
fn the_openapi_description_lists_exactly_the_served_routes() {
    let doc = spec();
    let described: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> = gridhub::http::ROUTES
        .iter()
        .chain(gridhub::bundles::ROUTES)
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(described, served);
}

#[test]
fn every_described_route_answers_on_a_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        gridhub::storage::open(common::test_database(dir.path()).as_deref(), dir.path()).unwrap();
    let hub = gridhub::Hub::with_system_clock(store);
    hub.attach_blobs(gridhub::seals_and_photo_access::open_blobs(dir.path()).unwrap());
    let hub = Arc::new(hub);
    let admin = hub.issue_admin_token(1).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = gridhub::http::router(hub.clone()).merge(gridhub::bundles::router(
        hub,
        gridhub::bundles::Bundles::new(dir.path()),
    ));
    rt.spawn(async move { axum::serve(listener, app).await });
    for (method, path) in gridhub::http::ROUTES.iter().chain(gridhub::bundles::ROUTES) {
        // Every path parameter ({id}, {target}, …) becomes "x".
        let concrete: Vec<&str> = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x" } else { seg })
            .collect();
        let url = format!("http://{addr}{}", concrete.join("/"));
        let body = if *method == "post" { "{}" } else { "" };
        let req = format!(
            "{} {} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {admin}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            method.to_uppercase(),
            url.trim_start_matches(&format!("http://{addr}")),
            body.len()
        );
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(req.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let status: u16 = out.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(status != 405, "{method} {path}: method not allowed");
        if status == 404 {
            assert!(
                out.contains("problem+json"),
                "{method} {path}: the route itself is missing"
            );
        }
        let spec = spec();
        let described: Vec<String> = spec["paths"][path][method]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert!(
            described.contains(&status.to_string()),
            "{method} {path}: answered {status}, described {described:?}"
        );
    }
}
