//! The operator's view of a running `gridhub serve`: readiness for the load balancer on the
//! devices' address, and `/metrics` only on `--metrics-listen` — counting requests by the
//! route's template (never a concrete id) with the database's size beside them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// GET `path` from `addr`: (status, body).
fn get(addr: &str, path: &str) -> (u16, String) {
    request(addr, "GET", path)
}

fn request(addr: &str, method: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_string())
}

#[test]
fn metrics_count_requests_by_route_on_the_operators_address_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_gridhub"))
            .arg("--data-dir")
            .arg(dir.path().join("hub"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--metrics-listen", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // "metrics on http://ADDR/metrics", then "serving … on http://ADDR".
    let (mut metrics, mut api) = (None, None);
    let mut lines = BufReader::new(child.0.stderr.take().unwrap()).lines();
    while metrics.is_none() || api.is_none() {
        let line = lines.next().expect("gridhub prints its addresses").unwrap();
        let addr = line.rsplit("http://").next().unwrap_or("").to_string();
        if line.contains("metrics on") {
            metrics = Some(addr.trim_end_matches("/metrics").to_string());
        } else if line.contains("serving") {
            api = Some(addr);
        }
    }
    let (metrics, api) = (metrics.unwrap(), api.unwrap());

    assert_eq!(get(&api, "/v1/health").0, 200);
    assert_eq!(get(&api, "/v1/ready"), (200, "ready".into()));
    // A device route with an id in its path, refused without a token.
    let probe = "3b1f0c2d9e8a7b6c5d4e3f2a1b0c9d8e";
    assert_eq!(
        request(&api, "HEAD", &format!("/v1/uploads/{probe}")).0,
        401
    );
    assert_eq!(
        get(&api, "/metrics").0,
        404,
        "no metrics on the devices' address"
    );

    let (status, page) = get(&metrics, "/metrics");
    assert_eq!(status, 200);
    assert!(
        page.contains(
            r#"gridhub_http_requests_total{method="get",route="/v1/ready",status="200"} 1"#
        ),
        "{page}"
    );
    assert!(
        page.contains(r#"{method="head",route="/v1/uploads/{id}",status="401"} 1"#),
        "counted by the route's template: {page}"
    );
    assert!(!page.contains(probe), "no concrete id in a label");
    assert!(page.contains("gridhub_http_request_duration_seconds_bucket"));
    let bytes: u64 = page
        .lines()
        .find_map(|l| l.strip_prefix("gridhub_database_bytes "))
        .expect("the database size")
        .trim()
        .parse()
        .unwrap();
    assert!(bytes > 0, "the SQLite file has pages");
    assert!(page.contains("gridhub_photos "), "{page}");
    assert!(page.trim_end().ends_with("# EOF"), "OpenMetrics text");
    // The operator's listener answers the health checks too.
    assert_eq!(get(&metrics, "/v1/ready").0, 200);
}
