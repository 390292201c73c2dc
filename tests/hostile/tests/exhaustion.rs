//! Resource exhaustion: requests built to make the hub work without end are refused by
//! their size, not served slowly; connections that send nothing do not stop the hub from
//! answering an honest device. (No timing is asserted: bounded work shows as a refusal.)

use gridpad_hostile::*;
use gridpad_proto::wire::Cursor;
use gridpad_proto::{Entity, Op};
use serde_json::json;
use std::io::Write;
use std::net::TcpStream;

fn diary(grid: &str) -> serde_json::Value {
    json!({"grid_id": grid, "day": "2026-12-01", "content": "巡查", "device_time": wire::rfc3339_now()})
}

#[test]
fn a_million_repeated_cursors_are_refused_and_the_push_beside_them_is_not_taken() {
    let town = Town::new();
    let mut a = town.device(&town.small);
    let mut honest = town.honest(&town.small);
    let before = town.state();
    let scopes = [
        format!("grid:{}", town.small),
        "catalog".to_string(),
        format!("device:{}", a.id),
    ];
    for (what, cursors) in [
        (
            "one scope a million times",
            (0..1_000_000)
                .map(|i| Cursor {
                    scope: scopes[i % 3].clone(),
                    after_op: 0,
                })
                .collect::<Vec<_>>(),
        ),
        (
            "100,000 scopes that do not exist",
            (0..100_000)
                .map(|i| Cursor {
                    scope: format!("grid:g{i}"),
                    after_op: 0,
                })
                .collect(),
        ),
    ] {
        let m = a.m(
            Entity::Diary,
            &uuid::Uuid::now_v7().to_string(),
            Op::Insert,
            diary(&town.small),
        );
        let mut req = a.request(vec![m]);
        req.cursors = cursors;
        let ans = a.sync(&req);
        let p = ans.refused(&[400, 413]);
        eprintln!("{what}: {} {}", ans.status, p.detail.unwrap_or_default());
        let s = town.state();
        s.assert_data_unchanged(&before, what);
        assert_eq!(
            s.mutations, before.mutations,
            "{what}: the push was not taken"
        );
        assert_eq!(s.devices[&a.id].2, 0, "{what}: no sequence number used");
    }
    honest.sync_complete();
    // The device, asking properly, goes on.
    let v = a.push_one(
        Entity::Diary,
        &uuid::Uuid::now_v7().to_string(),
        Op::Insert,
        diary(&town.small),
    );
    assert_applied(&v, "a proper push after the refusals");
}

#[test]
fn a_push_of_more_than_the_maximum_mutations_is_refused_whole() {
    let town = Town::new();
    let mut a = town.device(&town.small);
    let before = town.state();
    let max = gridhub::exchange::MAX_PUSH;
    let push: Vec<_> = (0..=max)
        .map(|_| {
            a.m(
                Entity::Diary,
                &uuid::Uuid::now_v7().to_string(),
                Op::Insert,
                diary(&town.small),
            )
        })
        .collect();
    let req = a.request(push);
    let p = a.sync(&req).refused(&[413]);
    assert!(p.detail.unwrap().contains(&max.to_string()));
    let s = town.state();
    s.assert_data_unchanged(&before, "a push of MAX_PUSH + 1");
    assert_eq!(s.mutations, before.mutations);
    // Exactly the maximum is taken.
    let push: Vec<_> = (0..max)
        .map(|_| {
            a.m(
                Entity::Diary,
                &uuid::Uuid::now_v7().to_string(),
                Op::Insert,
                diary(&town.small),
            )
        })
        .collect();
    let r = a.push(push);
    assert_eq!(r.acked_through, max as u64);
    assert_eq!(town.state().mutations, before.mutations + max as u64);
}

#[test]
fn connections_that_send_nothing_do_not_stop_the_hub_answering() {
    let town = Town::new();
    let mut honest = town.honest(&town.small);
    let addr = town.hub.addr();
    // Idle connections, and connections that start a request and stop mid-way.
    let mut held = vec![];
    for i in 0..400 {
        let mut s = TcpStream::connect(&addr).expect("connect");
        match i % 4 {
            0 => {}
            1 => s.write_all(b"POST /v1/sync HTTP/1.1\r\nHost: hub\r\n").unwrap(),
            2 => s
                .write_all(
                    b"POST /v1/sync HTTP/1.1\r\nHost: hub\r\nContent-Length: 16000000\r\n\r\n\x28\xb5",
                )
                .unwrap(),
            _ => s.write_all(b"GET /v1/hea").unwrap(),
        }
        held.push(s);
    }
    // The honest device and the administrator are still served.
    let a = town.device(&town.small);
    let v = town.admin_api(
        "post",
        "/v1/admin/notices",
        &json!({"title": "停水通知", "body": "明日停水"}),
    );
    assert_eq!(v.status, 201, "{}", v.text());
    assert!(honest.sync_complete() >= 1, "the notice arrived");
    honest.assert_holds_grid(&town.state());
    drop(a);
    drop(held);
}

/// A hub that gives a client 2 s for its headers and its body's pauses, and wants a body
/// at 1,000 bytes a second once it has run 2 s.
fn impatient_town() -> Town {
    Town::new_env(&[
        ("GRIDHUB_HEADER_TIMEOUT_SECS", "2"),
        ("GRIDHUB_BODY_IDLE_SECS", "2"),
        ("GRIDHUB_MIN_BODY_RATE", "1000"),
    ])
}

/// Read until the hub closes the connection (or `within` passes: then `false`), sending
/// one more byte of `trickle` every 200 ms. Whatever the hub answered on the way.
fn closed_within(
    s: &mut TcpStream,
    trickle: &[u8],
    within: std::time::Duration,
) -> (bool, Vec<u8>) {
    use std::io::Read;
    s.set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let until = std::time::Instant::now() + within;
    let mut got = vec![];
    let mut next = 0;
    let mut buf = [0u8; 4096];
    while std::time::Instant::now() < until {
        if next < trickle.len() {
            if s.write_all(&trickle[next..next + 1]).is_err() {
                return (true, got);
            }
            next += 1;
        }
        match s.read(&mut buf) {
            Ok(0) => return (true, got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (true, got),
        }
    }
    (false, got)
}

#[test]
fn idle_and_trickling_connections_are_closed() {
    let town = impatient_town();
    let addr = town.hub.addr();
    let within = std::time::Duration::from_secs(15);
    // Sends nothing at all.
    let mut idle = TcpStream::connect(&addr).unwrap();
    assert!(
        closed_within(&mut idle, b"", within).0,
        "an idle connection is closed"
    );
    // Trickles its headers, a byte every 200 ms, for ever.
    let mut slow_headers = TcpStream::connect(&addr).unwrap();
    let headers = "POST /v1/sync HTTP/1.1\r\nHost: hub\r\nX-Pad: ".to_string() + &"a".repeat(500);
    assert!(
        closed_within(&mut slow_headers, headers.as_bytes(), within).0,
        "trickled headers are cut off"
    );
    // Complete headers of a device's exchange (so the hub reads the body), then a body
    // that trickles (5 bytes a second of 100,000).
    let dev = town.device(&town.small);
    let mut slow_body = TcpStream::connect(&addr).unwrap();
    slow_body
        .write_all(
            format!(
                "POST /v1/sync HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: application/vnd.gridpad.v1+cbor\r\nContent-Length: 100000\r\n\r\n",
                dev.token()
            )
            .as_bytes(),
        )
        .unwrap();
    let (closed, answer) = closed_within(&mut slow_body, &[0x28; 1_000], within);
    let answer = String::from_utf8_lossy(&answer).to_string();
    assert!(
        closed || answer.starts_with("HTTP/1.1 4"),
        "a trickling body is refused or cut off: {answer}"
    );
    // A kept-alive connection that sends no next request is closed too.
    let mut kept = TcpStream::connect(&addr).unwrap();
    kept.write_all(b"GET /v1/health HTTP/1.1\r\nHost: hub\r\n\r\n")
        .unwrap();
    let (closed, answer) = closed_within(&mut kept, b"", within);
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    assert!(closed, "an idle kept-alive connection is closed");
    // And the hub still answers.
    let honest = town.honest(&town.small);
    honest.assert_holds_grid(&town.state());
}
