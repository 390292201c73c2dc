//! Privilege: a device is never an administrator and an administrator's token never a
//! device; device ids are UUIDs, each enrolled once; forged, expired and overlong tokens
//! are refused. Every refusal is a 401/403 with a problem document and changes nothing.

use gridpad_hostile::*;
use gridpad_proto::wire::{ChallengeRequest, ChallengeResponse, EnrollResponse, TokenRequest};
use gridpad_proto::{Entity, Op};
use serde_json::{json, Value};

/// Routes anyone may call: enrollment (with a code), the login challenge, health and
/// readiness (for the load balancer; they answer "ok"/"ready" and nothing else).
const PUBLIC: &[&str] = &[
    "/v1/health",
    "/v1/ready",
    "/v1/enroll",
    "/v1/auth/challenge",
    "/v1/auth/token",
];

/// Every route gridhub serves (its own lists, so a new route is covered the day it is
/// added): the administrator's are under `/v1/admin/`, the rest a device's.
fn routes() -> Vec<(&'static str, &'static str)> {
    gridhub::http::ROUTES
        .iter()
        .chain(gridhub::bundles::ROUTES)
        .copied()
        .filter(|(_, p)| !PUBLIC.contains(p))
        // The console's login takes a password, not a token.
        .filter(|(m, p)| !(*m == "post" && *p == "/v1/session"))
        .collect()
}

struct Ctx {
    event: String,
    device: String,
    grid: String,
}

/// A concrete path for a route pattern.
fn concrete(path: &str, c: &Ctx) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let j = rest[i..].find('}').expect("closing brace") + i;
        let name = &rest[i + 1..j];
        let value = match name {
            "id" if out.contains("/events/") => c.event.clone(),
            "id" if out.contains("/devices/") => c.device.clone(),
            "sha256" => "ab".repeat(32),
            "target" => "aarch64".into(),
            "file" => "gridpad.gpb".into(),
            _ => uuid::Uuid::now_v7().to_string(),
        };
        out.push_str(&value);
        rest = &rest[j + 1..];
    }
    out.push_str(rest);
    out
}

/// A body the route would act on if the caller were allowed to.
fn body(method: &str, path: &str, c: &Ctx, dev: &Device) -> (Option<&'static str>, Vec<u8>) {
    let j = |v: Value| (Some("application/json"), serde_json::to_vec(&v).unwrap());
    match (method, path) {
        ("get" | "head", _) => (None, vec![]),
        ("post", "/v1/sync") => (
            Some(gridpad_proto::wire::CONTENT_TYPE),
            gridpad_proto::wire::encode(&dev.request(vec![])),
        ),
        (_, p) if p.ends_with("/status") => j(json!({"status": "wiped"})),
        (_, p) if p.ends_with("/transition") => j(json!({"status": "accepted"})),
        (_, p) if p.ends_with("/dispatch") => j(json!({"deadline_hours": 24})),
        (_, "/v1/admin/tasks") => j(json!({"grid": c.grid, "title": "清理楼道"})),
        (_, "/v1/admin/enrollment-codes") => j(json!({"user": "冒充者", "grids": [c.grid]})),
        (_, "/v1/admin/notices") => j(json!({"title": "假通知", "body": "请交出密码"})),
        (_, "/v1/seals") => j(json!({"seals": []})),
        (_, "/v1/blobs/have") => j(json!({"sha256": ["ab".repeat(32)]})),
        (_, "/v1/uploads") => j(json!({"sha256": "ab".repeat(32), "length": 10})),
        _ => (Some("application/octet-stream"), b"0123456789".to_vec()),
    }
}

fn refused_as(a: &Answer, method: &str, statuses: &[u16], what: &str) {
    if method == "head" {
        // A HEAD answer has no body to carry a problem document.
        assert!(statuses.contains(&a.status), "{what}: {}", a.status);
    } else {
        assert!(
            statuses.contains(&a.status),
            "{what}: {} {}",
            a.status,
            a.text()
        );
        a.problem();
    }
}

#[test]
fn every_admin_route_refuses_a_device_and_every_device_route_an_administrator() {
    let town = Town::new();
    let mut dev = town.device(&town.small);
    let mut honest = town.honest(&town.small);
    let bystander = town.device(&town.small);
    let event = uuid::Uuid::now_v7().to_string();
    let v = dev.push_one(
        Entity::Event,
        &event,
        Op::Insert,
        json!({"grid_id": town.small, "category_code": "0401", "description": "楼道堆放杂物",
               "status": "reported", "reporter": "网格员", "device_time": wire::rfc3339_now()}),
    );
    assert_applied(&v, "the device's report");
    let c = Ctx {
        event,
        device: bystander.id.clone(),
        grid: town.small.clone(),
    };
    let before = town.state();
    let all = routes();
    assert!(all.iter().any(|(_, p)| p.starts_with("/v1/admin/")));
    assert!(all.iter().any(|(_, p)| *p == "/v1/sync"));
    for (method, path) in &all {
        // The centre's routes: the administrator's API and the console's session.
        let admin_route = path.starts_with("/v1/admin/") || path.starts_with("/v1/session");
        let url = concrete(path, &c);
        let wrong = if admin_route {
            dev.token().to_string()
        } else {
            town.admin_token.clone()
        };
        let (ct, b) = body(method, path, &c, &dev);
        let what = format!("{method} {path} with the other kind's token");
        let a = town.http.send(method, &url, Some(&wrong), ct, b.clone());
        refused_as(&a, method, &[401, 403], &what);
        let a = town.http.send(method, &url, None, ct, b.clone());
        refused_as(
            &a,
            method,
            &[401],
            &format!("{method} {path} without a token"),
        );
        let a = town
            .http
            .send(method, &url, Some("Bearer-less nonsense"), ct, b);
        refused_as(&a, method, &[401], &format!("{method} {path} with junk"));
    }
    town.state()
        .assert_data_unchanged(&before, "calls with the wrong kind of token");
    assert_eq!(
        town.state().devices,
        before.devices,
        "no device locked or wiped"
    );
    honest.sync_complete();

    // The same calls by the right principal are not refused for who is calling: the
    // refusals above were about the principal, not the request.
    // (The console's session routes take the session cookie, not a token.)
    for (method, path) in all.iter().filter(|(_, p)| !p.starts_with("/v1/session")) {
        let admin_route = path.starts_with("/v1/admin/");
        let right = if admin_route {
            town.admin_token.clone()
        } else {
            dev.token().to_string()
        };
        let (ct, b) = body(method, path, &c, &dev);
        let a = town
            .http
            .send(method, &concrete(path, &c), Some(&right), ct, b);
        assert!(
            a.status != 401 && a.status != 403,
            "{method} {path} with the right token: {} {}",
            a.status,
            a.text()
        );
    }
}

#[test]
fn a_device_calling_itself_admin_or_anything_but_a_uuid_is_not_enrolled() {
    let town = Town::new();
    let code = town.code(&town.small);
    let uuid = uuid::Uuid::now_v7().to_string();
    let long = "a".repeat(100_000);
    let bad_ids: Vec<String> = vec![
        "admin".into(),
        "ADMIN".into(),
        " admin".into(),
        "admin\0".into(),
        "hub".into(),
        String::new(),
        "../../admin".into(),
        uuid.to_uppercase(),
        format!("{{{uuid}}}"),
        uuid.replace('-', ""),
        format!("{uuid}\n"),
        format!("{uuid}x"),
        long,
    ];
    let before = town.state();
    for id in &bad_ids {
        let d = Device::with_id(&town.http, id);
        let p = d.enroll(&code).refused(&[400]);
        assert!(
            p.detail.unwrap().contains("UUID"),
            "says what a device id must be"
        );
        // Nor can it log in: no such device.
        let c = town.http.post_cbor(
            "/v1/auth/challenge",
            None,
            &ChallengeRequest {
                device_id: id.clone(),
            },
        );
        c.refused(&[400, 401]);
    }
    town.state()
        .assert_data_unchanged(&before, "enrollments with bad ids");
    assert_eq!(town.state().devices, before.devices, "no device enrolled");
    // The code was not used up by the refusals: a proper device enrolls with it, and its
    // token opens no administrator's route.
    let d = Device::enrolled(&town.http, &code);
    let a = town
        .http
        .json("get", "/v1/admin/devices", Some(d.token()), &Value::Null);
    a.refused(&[403]);
}

#[test]
fn an_id_once_enrolled_or_wiped_is_never_enrolled_again() {
    let town = Town::new();
    let first_code = town.code(&town.small);
    let mut a = Device::new(&town.http);
    let r: EnrollResponse = a.enroll(&first_code).cbor();
    assert_eq!(r.grids, vec![town.small.clone()]);
    a.login();
    // Its answer lost, the same device asks again with the same code and key: the same
    // answer, nothing enrolled twice.
    let again: EnrollResponse = a.enroll(&first_code).cbor();
    assert_eq!(again.grids, r.grids);

    let before = town.state();
    // Another key under the same id, with a fresh code of the other grid: refused.
    let other_grid_code = town.code(&town.big);
    let impostor = Device::with_id(&town.http, &a.id);
    impostor.enroll(&other_grid_code).refused(&[403]);
    // The same device with a second code (to widen its grids): refused too.
    a.enroll(&other_grid_code).refused(&[403]);
    town.state()
        .assert_data_unchanged(&before, "enrolling an enrolled id");
    assert_eq!(town.state().devices, before.devices);

    // Wiped by the centre, the id stays dead: not with a new code, not with its first.
    town.admin_api(
        "post",
        &format!("/v1/admin/devices/{}/status", a.id),
        &json!({"status": "wiped"}),
    );
    assert_eq!(town.state().devices[&a.id].0, "wiped");
    let third = town.code(&town.big);
    a.enroll(&third).refused(&[403]);
    impostor.enroll(&third).refused(&[403]);
    a.enroll(&first_code).refused(&[401]);
    let s = town.state();
    assert_eq!(s.devices.len(), before.devices.len());
    assert_eq!(
        s.devices[&a.id].1,
        vec![town.small.clone()],
        "grids unchanged"
    );
    // The refused codes were not spent: new devices enroll with them.
    Device::enrolled(&town.http, &other_grid_code);
    Device::enrolled(&town.http, &third);
}

#[test]
fn forged_expired_overlong_and_misused_tokens_are_refused() {
    let town = Town::new();
    let mut dev = town.device(&town.small);
    let honest_before = town.state();
    let expired = process::run(town.hub.admin().args(["api-token", "--days", "0"]))
        .trim()
        .to_string();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let forged = "0f".repeat(32);
    let overlong = "a".repeat(129);
    let huge = "b".repeat(100_000);
    let sync = gridpad_proto::wire::encode(&dev.request(vec![]));
    for (name, token) in [
        ("forged", forged.as_str()),
        ("expired administrator's", expired.as_str()),
        ("129-character", overlong.as_str()),
        ("100,000-character", huge.as_str()),
        ("empty", ""),
    ] {
        let a = town.http.send(
            "post",
            "/v1/sync",
            Some(token),
            Some(gridpad_proto::wire::CONTENT_TYPE),
            sync.clone(),
        );
        assert!(
            matches!(a.status, 401 | 431),
            "{name} token on /v1/sync: {} {}",
            a.status,
            a.text()
        );
        if a.status == 401 {
            a.problem();
        }
        let a = town
            .http
            .json("get", "/v1/admin/devices", Some(token), &Value::Null);
        assert!(
            matches!(a.status, 401 | 431),
            "{name} token on the admin API: {}",
            a.status
        );
    }
    let p = town
        .http
        .json("get", "/v1/admin/events", Some(&expired), &Value::Null)
        .refused(&[401]);
    assert!(p.detail.unwrap().contains("expired"));

    // The login: a challenge answered with another key, a challenge used twice, a
    // challenge of one device used by another, malformed sizes.
    let other = Device::new(&town.http);
    let ch: ChallengeResponse = town
        .http
        .post_cbor(
            "/v1/auth/challenge",
            None,
            &ChallengeRequest {
                device_id: dev.id.clone(),
            },
        )
        .cbor();
    let token_req = |device_id: &str, nonce: &[u8], signature: Vec<u8>| TokenRequest {
        device_id: device_id.into(),
        nonce: nonce.to_vec(),
        signature,
    };
    town.http
        .post_cbor(
            "/v1/auth/token",
            None,
            &token_req(&dev.id, &ch.nonce, other.sign(&ch.nonce)),
        )
        .refused(&[401]);
    // That challenge is spent even though the signature was wrong.
    town.http
        .post_cbor(
            "/v1/auth/token",
            None,
            &token_req(&dev.id, &ch.nonce, dev.sign(&ch.nonce)),
        )
        .refused(&[401]);
    let ch: ChallengeResponse = town
        .http
        .post_cbor(
            "/v1/auth/challenge",
            None,
            &ChallengeRequest {
                device_id: dev.id.clone(),
            },
        )
        .cbor();
    let second = town.device(&town.small);
    town.http
        .post_cbor(
            "/v1/auth/token",
            None,
            &token_req(&second.id, &ch.nonce, second.sign(&ch.nonce)),
        )
        .refused(&[401]);
    town.http
        .post_cbor(
            "/v1/auth/token",
            None,
            &token_req(&dev.id, &ch.nonce[..31], dev.sign(&ch.nonce)),
        )
        .refused(&[400]);
    town.http
        .post_cbor(
            "/v1/auth/token",
            None,
            &token_req(&dev.id, &ch.nonce, vec![0; 65]),
        )
        .refused(&[400]);
    town.http
        .post_cbor(
            "/v1/auth/challenge",
            None,
            &ChallengeRequest {
                device_id: uuid::Uuid::now_v7().to_string(),
            },
        )
        .refused(&[401]);

    // A locked device's token: its exchange carries the command and nothing else, every
    // other device route refuses it.
    town.admin_api(
        "post",
        &format!("/v1/admin/devices/{}/status", dev.id),
        &json!({"status": "locked"}),
    );
    let before = town.state();
    let m = dev.m(
        Entity::Diary,
        &uuid::Uuid::now_v7().to_string(),
        Op::Insert,
        json!({"grid_id": town.small, "day": "2026-12-01", "content": "x",
               "device_time": wire::rfc3339_now()}),
    );
    let mut req = dev.request(vec![m]);
    req.cursors = vec![gridpad_proto::wire::Cursor {
        scope: format!("grid:{}", town.small),
        after_op: 0,
    }];
    let r: gridpad_proto::wire::SyncResponse = dev.sync(&req).cbor();
    assert_eq!(r.command, Some(gridpad_proto::wire::DeviceCommand::Lock));
    assert!(r.pages.is_empty() && r.verdicts.is_empty() && r.scopes.is_empty());
    town.http
        .json(
            "post",
            "/v1/seals",
            Some(dev.token()),
            &json!({"seals": []}),
        )
        .refused(&[403]);
    town.http
        .send(
            "get",
            "/v1/updates/aarch64",
            Some(dev.token()),
            None,
            vec![],
        )
        .refused(&[403]);
    town.state()
        .assert_data_unchanged(&before, "a locked device's calls");
    assert!(honest_before.devices.contains_key(&dev.id));
}
