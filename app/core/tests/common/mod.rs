#![allow(dead_code)]

use gridpad_core::demo::{self, DemoSpec};
use gridpad_core::{InitOptions, NewReport, Store};
use std::path::Path;

pub const PIN: &str = "246810";
/// Tests use a cheap key derivation; the product default is 600,000 iterations.
pub const FAST_KDF: u32 = 2_000;

pub fn new_store(dir: &Path) -> Store {
    Store::init(
        dir,
        PIN,
        InitOptions {
            device_id: Some("0190a4b2-7c3d-7e00-8000-00000000d001".into()),
            kdf_iterations: FAST_KDF,
        },
    )
    .expect("init store")
}

pub fn demo_store(dir: &Path, persons: usize) -> Store {
    let mut s = new_store(dir);
    demo::load(&mut s, DemoSpec { persons, seed: 42 }).expect("demo data");
    s
}

pub fn report(desc: &str) -> NewReport {
    NewReport {
        category_code: "0201".into(), // 消防通道堵塞
        description: desc.into(),
        address_text: "幸福社区城河路18号3栋楼道".into(),
        fields: serde_json::json!({"blocked_by": "杂物"})
            .as_object()
            .unwrap()
            .clone(),
        reporter: "网格员测试".into(),
        ..Default::default()
    }
}
