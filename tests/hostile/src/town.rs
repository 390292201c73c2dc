//! The arena: a real hub seeded with the demo town's two grids — a big one (about 1,500
//! residents) and a small one (a few) where the attacker and the honest device work.

use crate::honest::Honest;
use crate::state::{snapshot, Snapshot};
use crate::wire::{Answer, Device, Http};
use gridpad_proto::Entity;
use gridpad_testkit::process::{gridhub_admin, issue_code, run, run_json, HubProcess};
use serde_json::Value;

/// Residents of the demo town: 501 households, so a second grid with one household.
const PERSONS: &str = "1503";

pub struct Town {
    pub hub: HubProcess,
    pub http: Http,
    /// A token of the hub's administrator (HTTP admin API).
    pub admin_token: String,
    /// The demo's home grid (about 1,500 residents).
    pub big: String,
    /// The second grid (one household).
    pub small: String,
    pub dir: tempfile::TempDir,
}

impl Town {
    pub fn new() -> Town {
        Self::new_env(&[])
    }

    /// A town whose hub runs with this environment (e.g. a crash point).
    pub fn new_env(env: &[(&str, &str)]) -> Town {
        let dir = tempfile::tempdir().expect("temp dir");
        let s = run_json(
            gridhub_admin(dir.path())
                .args(["seed-demo", "--persons", PERSONS, "--seed", "12"])
                .arg("--json"),
        );
        let big = s["home_grid_id"].as_str().expect("home grid").to_string();
        let snap = snapshot(dir.path());
        // The second grid with people in it (the demo town has grids without any).
        let small = snap
            .live(Entity::Grid)
            .into_iter()
            .filter(|(id, r)| r["fields"]["level"] == "grid" && *id != big)
            .map(|(id, _)| id.to_string())
            .find(|id| {
                let scope = format!("grid:{id}");
                [Entity::Person, Entity::House].iter().all(|e| {
                    snap.live(*e)
                        .iter()
                        .any(|(_, r)| r["scope"] == scope.as_str())
                })
            })
            .expect("a second grid with people");
        let admin_token = run(gridhub_admin(dir.path()).args(["api-token", "--days", "1"]))
            .trim()
            .to_string();
        let hub = HubProcess::start_env(dir.path(), "127.0.0.1:0", env);
        Town {
            http: Http::new(&hub.url),
            hub,
            admin_token,
            big,
            small,
            dir,
        }
    }

    /// Kill the hub if it still runs and start it again on the same data and address.
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        let addr = self.hub.addr();
        self.hub.kill();
        self.hub = HubProcess::start_env(self.dir.path(), &addr, env);
        assert_eq!(self.hub.addr(), addr);
    }

    /// A one-time enrollment code for a device of `grid`.
    pub fn code(&self, grid: &str) -> String {
        issue_code(&self.hub.dir, "网格员", grid)
    }

    /// A crafted device enrolled in `grid`, logged in.
    pub fn device(&self, grid: &str) -> Device {
        Device::enrolled(&self.http, &self.code(grid))
    }

    /// An honest device (the real device store) of `grid`, synced completely.
    pub fn honest(&self, grid: &str) -> Honest {
        let mut h = Honest::enrolled(&self.http, &self.code(grid));
        h.sync_complete();
        h
    }

    pub fn state(&self) -> Snapshot {
        snapshot(self.dir.path())
    }

    /// A call of the administrator's API.
    pub fn admin_api(&self, method: &str, path: &str, body: &Value) -> Answer {
        self.http.json(method, path, Some(&self.admin_token), body)
    }

    /// Some live record of `entity` in `grid`: its id and fields.
    pub fn record_in(&self, entity: Entity, grid: &str) -> (String, Value) {
        let s = self.state();
        s.live(entity)
            .into_iter()
            .find(|(_, r)| r["scope"] == format!("grid:{grid}").as_str())
            .map(|(id, r)| (id.to_string(), r["fields"].clone()))
            .unwrap_or_else(|| panic!("no {entity} in grid {grid}"))
    }
}

impl Default for Town {
    fn default() -> Self {
        Self::new()
    }
}
