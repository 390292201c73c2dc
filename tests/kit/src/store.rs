//! A device store for tests: real encrypted files, a cheap key derivation.

use gridpad_core::demo::{self, DemoSpec};
use gridpad_core::{InitOptions, NewReport, Store};
use std::path::Path;

/// The PIN every test device is created with.
pub const PIN: &str = "246810";
/// Tests use a cheap key derivation; the product default is 600,000 iterations.
pub const FAST_KDF: u32 = 2_000;
/// The device id of [`new_store`].
pub const DEVICE: &str = "0190a4b2-7c3d-7e00-8000-00000000d001";

/// A new store in `dir` for [`DEVICE`], PIN [`PIN`].
pub fn new_store(dir: &Path) -> Store {
    new_store_as(dir, DEVICE)
}

/// A new store in `dir` for `device_id`, PIN [`PIN`], [`FAST_KDF`].
pub fn new_store_as(dir: &Path, device_id: &str) -> Store {
    new_store_with(dir, device_id, FAST_KDF)
}

/// A new store in `dir` for `device_id`, PIN [`PIN`], `kdf_iterations` of key derivation.
pub fn new_store_with(dir: &Path, device_id: &str, kdf_iterations: u32) -> Store {
    Store::init(
        dir,
        PIN,
        InitOptions {
            device_id: Some(device_id.into()),
            kdf_iterations,
        },
    )
    .expect("init store")
}

/// The demo town (`persons` residents, `seed`) loaded into `store`.
pub fn load_demo(store: &mut Store, persons: usize, seed: u64) {
    demo::load(store, DemoSpec { persons, seed }).expect("demo data");
}

/// A new store ([`new_store`]) holding the demo town of `persons` residents, seed 42.
pub fn demo_store(dir: &Path, persons: usize) -> Store {
    let mut s = new_store(dir);
    load_demo(&mut s, persons, 42);
    s
}

/// A report of a blocked fire escape (消防通道堵塞, category 0201) with its required field.
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
