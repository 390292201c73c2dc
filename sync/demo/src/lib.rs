//! A deterministic generator of realistic grid data, from one grid (500 households,
//! ~1,500 people) to a town (100,000 people): a street with communities and grids (with
//! boundary polygons), standard addresses, buildings, houses, residents (Chinese names
//! including rare characters such as 喆 堃 昇, ID numbers with valid check digits,
//! phones, special-group tags), organisations, facilities and an event catalog modelled on
//! the published lists (10 大类 / 32 小类). The same seed gives the same data.
//!
//! The output is a stream of [`RemoteChange`]s — the form in which base data arrives from
//! the centre — so it can be loaded into a device store or imported into a hub.

use gridpad_domain::checks::id_number;
use gridpad_proto::{Entity, Fields, Hlc, Op, RemoteChange};
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

mod catalog;
mod names;
pub use catalog::catalog;
use names::{given_name, SURNAMES};

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct DemoSpec {
    pub persons: usize,
    pub seed: u64,
}

/// What was generated.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DemoSummary {
    pub grids: usize,
    pub addresses: usize,
    pub buildings: usize,
    pub houses: usize,
    pub persons: usize,
    pub organisations: usize,
    pub facilities: usize,
    pub categories: usize,
    /// The grid a device working this data belongs to.
    pub home_grid_id: String,
    pub home_grid_code: String,
}

const DISTRICT: &str = "镇海区";
const DISTRICT_CODE: &str = "330211";
const STREET: &str = "招宝山街道";
/// The district's other streets and their communities (no residents in the demo).
const OTHER_STREETS: &[(&str, &[&str])] = &[
    ("蛟川街道", &["临江", "俞范"]),
    ("骆驼街道", &["汇源", "团桥"]),
];
const COMMUNITIES: &[&str] = &[
    "幸福",
    "城河",
    "后大街",
    "白龙",
    "车站",
    "平海",
    "南街",
    "胜利",
    "鼓楼",
    "梓荫",
    "西门",
    "东门",
    "新城",
    "清水",
    "望海",
    "临江",
    "蛟川",
    "庄市",
    "骆驼",
    "贵驷",
];
const ROADS: &[&str] = &[
    "城河路",
    "胜利路",
    "环城北路",
    "沿江路",
    "车站路",
    "公园路",
    "平海路",
    "白龙路",
    "南大街",
    "后大街",
    "鼓楼东路",
    "梓荫路",
    "新河路",
    "东门路",
    "西门路",
    "临江路",
    "望海路",
    "金融路",
];
const SHOP_PREFIX: &[&str] = &[
    "鑫源",
    "华联",
    "美佳",
    "老王",
    "好又多",
    "永辉",
    "金鼎",
    "家和",
    "百味",
    "顺发",
    "惠民",
    "康宁",
    "万家",
    "兴旺",
    "佳美",
    "福满",
    "天天",
    "一品",
    "聚福",
    "新视界",
];
const SHOP_KIND: &[(&str, &str)] = &[
    ("便利店", "shop"),
    ("超市", "shop"),
    ("面馆", "shop"),
    ("理发店", "shop"),
    ("药房", "medical"),
    ("五金店", "shop"),
    ("水果店", "shop"),
    ("餐馆", "shop"),
    ("早餐店", "shop"),
    ("电动车行", "shop"),
    ("物流有限公司", "company"),
    ("科技有限公司", "company"),
    ("建材商行", "company"),
    ("幼儿园", "school"),
    ("诊所", "medical"),
    ("志愿者协会", "social_org"),
    ("居家养老服务站", "social_org"),
];
const FACILITY_KINDS: &[&str] = &[
    "hydrant",
    "manhole",
    "street_lamp",
    "camera",
    "trash_station",
    "ev_charger",
];
/// 镇海区 (Zhenhai district, Ningbo): the administrative code starting every ID number.
const REGION: &str = "330211";
const CENTRE: (f64, f64) = (29.9500, 121.7100);

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn weighted<'a>(rng: &mut ChaCha8Rng, items: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    for (s, w) in items {
        if x < *w {
            return s;
        }
        x -= w;
    }
    items[0].0
}

fn id_for(rng: &mut ChaCha8Rng, birth: chrono::NaiveDate, male: bool) -> String {
    let mut seq = rng.random_range(0..500u32) * 2;
    if male {
        seq += 1;
    }
    let body = format!("{REGION}{}{:03}", birth.format("%Y%m%d"), seq % 1000);
    let check = id_number::check_char(&body).expect("17 digits");
    format!("{body}{check}")
}

/// A unified social credit code of a company registered in Zhenhai (330211) with a valid
/// check character: `91330211MA2` + 6 digits of `n` + the check character.
fn demo_credit_code(n: u32) -> String {
    let first17 = format!("91330211MA2{:06}", n % 1_000_000);
    let check =
        gridpad_domain::checks::credit_code::check_char(&first17).expect("17 valid characters");
    format!("{first17}{check}")
}

fn phone(rng: &mut ChaCha8Rng) -> String {
    let prefix = *pick(
        rng,
        &[
            "130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155",
            "157", "158", "159", "177", "180", "181", "186", "187", "188", "189", "199",
        ],
    );
    format!("{prefix}{:08}", rng.random_range(0..100_000_000u32))
}

struct Ids {
    rng: ChaCha8Rng,
}

impl Ids {
    /// Deterministic UUIDv7-shaped ids (the time part fixed), so a seed reproduces the
    /// very same rows.
    fn next(&mut self) -> String {
        let mut b: [u8; 16] = self.rng.random();
        let ts: u64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
        b[..6].copy_from_slice(&ts.to_be_bytes()[2..]);
        b[6] = 0x70 | (b[6] & 0x0f);
        b[8] = 0x80 | (b[8] & 0x3f);
        uuid::Uuid::from_bytes(b).to_string()
    }
}

/// Generate the data set, handing it out in batches (so a town never sits in memory
/// whole) to `sink`.
pub fn generate<E>(
    spec: DemoSpec,
    batch: usize,
    mut sink: impl FnMut(Vec<RemoteChange>) -> Result<(), E>,
) -> Result<DemoSummary, E> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut ids = Ids {
        rng: ChaCha8Rng::seed_from_u64(spec.seed ^ 0x9e37_79b9_7f4a_7c15),
    };
    let mut buf: Vec<RemoteChange> = Vec::with_capacity(batch);
    let mut counter: u16 = 0;
    let mut push =
        |buf: &mut Vec<RemoteChange>, entity: Entity, id: &str, fields: Fields| -> Result<(), E> {
            counter = counter.wrapping_add(1);
            buf.push(RemoteChange {
                entity,
                row_id: id.to_string(),
                op: Op::Insert,
                fields,
                hlc: Hlc::new(1_767_225_600_000, counter, "hub"),
            });
            if buf.len() >= batch {
                sink(std::mem::take(buf))?;
            }
            Ok(())
        };
    let obj = |v: serde_json::Value| -> Fields {
        v.as_object()
            .expect("object")
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let mut sum = DemoSummary::default();

    for c in catalog() {
        let mut fields = obj(json!({
                "parent_code": c.parent_code, "level": c.level, "name": c.name, "department": c.department,
                "deadline_hours": c.deadline_hours, "yellow_pct": c.yellow_pct, "red_pct": c.red_pct,
                "fields": serde_json::to_string(&c.fields).expect("fields"),
                "photo_policy": json!({"max_pixels": 2_000_000, "quality": 80, "max_bytes": 600_000, "min_photos": if c.level == 2 { 1 } else { 0 }}).to_string(),
                "sort": c.sort,
        }));
        // Only a unit other than clock hours is stated: an entry without one reads as
        // before on every device, also one whose schema predates the unit.
        if c.deadline_unit.is_working() {
            fields.insert("deadline_unit".into(), json!(c.deadline_unit.as_str()));
        }
        push(&mut buf, Entity::CatalogCategory, &c.code, fields)?;
        sum.categories += 1;
    }

    let households = (spec.persons / 3).max(1);
    let n_grids = households.div_ceil(500);
    let grids_per_community = 4;
    // The organisation above and beside the populated street: the district (镇海区) and two
    // more streets with their communities and grids (without residents), so the town has
    // the tree a centre works with. Their ids come from a stream of their own, so the
    // populated street's records are the same whatever is added here.
    let mut tree_ids = Ids {
        rng: ChaCha8Rng::seed_from_u64(spec.seed ^ 0x7a3c_19e5_d00d_f00d),
    };
    let district_id = tree_ids.next();
    push(
        &mut buf,
        Entity::Grid,
        &district_id,
        obj(json!({
            "code": DISTRICT_CODE, "name": DISTRICT, "level": "district", "parent_id": null, "boundary": null
        })),
    )?;
    sum.grids += 1;
    for (si, (street, communities)) in OTHER_STREETS.iter().enumerate() {
        let street_code = format!("{DISTRICT_CODE}{:03}", si + 2);
        let sid = tree_ids.next();
        push(
            &mut buf,
            Entity::Grid,
            &sid,
            obj(json!({
                "code": street_code, "name": street, "level": "street", "parent_id": district_id, "boundary": null
            })),
        )?;
        sum.grids += 1;
        for (ci, community) in communities.iter().enumerate() {
            let cid = tree_ids.next();
            let ccode = format!("{street_code}{:03}", ci + 1);
            push(
                &mut buf,
                Entity::Grid,
                &cid,
                obj(json!({
                    "code": ccode, "name": format!("{community}社区"), "level": "community", "parent_id": sid, "boundary": null
                })),
            )?;
            sum.grids += 1;
            for gi in 0..2 {
                // South of the populated street, one row of cells per street.
                let (dlat, dlon) = (0.0040, 0.0047);
                let lat0 = CENTRE.0 - 0.05 - si as f64 * dlat * 1.2;
                let lon0 = CENTRE.1 + (ci * 2 + gi) as f64 * dlon;
                let ring = vec![
                    [lon0, lat0],
                    [lon0 + dlon, lat0],
                    [lon0 + dlon, lat0 - dlat],
                    [lon0, lat0 - dlat],
                    [lon0, lat0],
                ];
                let gid = tree_ids.next();
                push(
                    &mut buf,
                    Entity::Grid,
                    &gid,
                    obj(json!({
                        "code": format!("{ccode}{:02}", gi + 1), "name": format!("{community}社区第{}网格", gi + 1),
                        "level": "grid", "parent_id": cid,
                        "boundary": serde_json::to_string(&vec![ring]).expect("ring"),
                    })),
                )?;
                sum.grids += 1;
            }
        }
    }

    let street_id = ids.next();
    push(
        &mut buf,
        Entity::Grid,
        &street_id,
        obj(json!({
            "code": "330211001", "name": STREET, "level": "street", "parent_id": district_id, "boundary": null
        })),
    )?;
    sum.grids += 1;

    let mut persons_left = spec.persons;
    let mut total_hh_left = households;
    let mut community_id = String::new();
    let mut community_name = "";
    let mut seq_building = 0usize;
    let cols = (n_grids as f64).sqrt().ceil() as usize;
    for g in 0..n_grids {
        if g % grids_per_community == 0 {
            let ci = g / grids_per_community;
            community_name = COMMUNITIES[ci % COMMUNITIES.len()];
            community_id = ids.next();
            let suffix = if ci >= COMMUNITIES.len() {
                format!("{}", ci / COMMUNITIES.len() + 1)
            } else {
                String::new()
            };
            push(
                &mut buf,
                Entity::Grid,
                &community_id,
                obj(json!({
                    "code": format!("330211001{:03}", ci + 1), "name": format!("{community_name}{suffix}社区"),
                    "level": "community", "parent_id": street_id, "boundary": null
                })),
            )?;
            sum.grids += 1;
        }
        // Grid cells of ~450 m, laid out west→east then north→south, each an irregular
        // pentagon so that geofencing has something to chew on.
        let (row, col) = (g / cols, g % cols);
        let dlat = 0.0040;
        let dlon = 0.0047;
        let lat0 = CENTRE.0 - row as f64 * dlat;
        let lon0 = CENTRE.1 + col as f64 * dlon;
        let ring = vec![
            [lon0, lat0],
            [lon0 + dlon, lat0],
            [lon0 + dlon, lat0 - dlat],
            [lon0 + dlon * 0.5, lat0 - dlat * 1.08],
            [lon0, lat0 - dlat],
            [lon0, lat0],
        ];
        let grid_id = ids.next();
        let grid_code = format!(
            "330211001{:03}{:02}",
            g / grids_per_community + 1,
            g % grids_per_community + 1
        );
        let grid_name = format!("{community_name}社区第{}网格", g % grids_per_community + 1);
        push(
            &mut buf,
            Entity::Grid,
            &grid_id,
            obj(json!({
                "code": grid_code, "name": grid_name, "level": "grid", "parent_id": community_id,
                "boundary": serde_json::to_string(&vec![ring]).expect("ring"),
            })),
        )?;
        sum.grids += 1;
        if g == 0 {
            sum.home_grid_id = grid_id.clone();
            sum.home_grid_code = grid_code.clone();
        }

        let grid_households = if g + 1 == n_grids {
            households - 500 * g
        } else {
            500
        };
        let mut hh_left = grid_households;
        let mut first_people = g == 0;
        while hh_left > 0 {
            seq_building += 1;
            let road = *pick(&mut rng, ROADS);
            let number = format!("{}号", rng.random_range(1..300));
            let address_text = format!("宁波市镇海区{STREET}{community_name}社区{road}{number}");
            let (blat, blon) = (
                lat0 - rng.random_range(0.05..0.95) * dlat,
                lon0 + rng.random_range(0.05..0.95) * dlon,
            );
            let address_id = ids.next();
            push(
                &mut buf,
                Entity::Address,
                &address_id,
                obj(json!({
                    "grid_id": grid_id, "code": format!("{grid_code}{:05}", seq_building), "district": "镇海区",
                    "street": STREET, "community": format!("{community_name}社区"), "road": road, "number": number,
                    "full_text": address_text, "lat": blat, "lon": blon,
                })),
            )?;
            sum.addresses += 1;
            let floors = *pick(&mut rng, &[6i64, 6, 6, 7, 11, 18]);
            let building_id = ids.next();
            let building_name = format!("{}栋", rng.random_range(1..40));
            push(
                &mut buf,
                Entity::Building,
                &building_id,
                obj(json!({
                    "grid_id": grid_id, "address_id": address_id, "name": building_name, "floors": floors,
                    "kind": "residential", "lat": blat, "lon": blon,
                })),
            )?;
            sum.buildings += 1;
            'floors: for floor in 1..=floors {
                for stairwell in 1..=2 {
                    for room in 1..=2 {
                        if hh_left == 0 {
                            break 'floors;
                        }
                        hh_left -= 1;
                        let house_id = ids.next();
                        let room_no = format!("{floor}{room:02}");
                        let full_address =
                            format!("{address_text}{building_name}{stairwell}单元{room_no}室");
                        total_hh_left -= 1;
                        let r: f64 = rng.random();
                        let r = if total_hh_left == 0 { 0.0 } else { r }; // the last house takes the rest
                        let use_ = if r < 0.68 {
                            "self_occupied"
                        } else if r < 0.90 {
                            "rented"
                        } else if r < 0.98 {
                            "vacant"
                        } else {
                            "commercial"
                        };
                        push(
                            &mut buf,
                            Entity::House,
                            &house_id,
                            obj(json!({
                                "building_id": building_id, "grid_id": grid_id, "unit_no": format!("{stairwell}单元"),
                                "room": room_no, "floor": floor, "use": use_, "area_m2": (rng.random_range(45.0..140.0f64) * 10.0).round() / 10.0,
                                "full_address": full_address,
                            })),
                        )?;
                        sum.houses += 1;
                        if use_ == "vacant" || persons_left == 0 {
                            continue;
                        }
                        // Household sizes scatter around what is left per house, so the total
                        // comes out exact.
                        let size = if total_hh_left == 0 {
                            persons_left
                        } else {
                            let mean = persons_left as f64 / (total_hh_left as f64 * 0.9 + 1.0);
                            ((mean + rng.random_range(-1.5..1.5)).round() as usize)
                                .clamp(1, 6)
                                .min(persons_left)
                        };
                        persons_left -= size;
                        let family = weighted(&mut rng, SURNAMES).to_string();
                        for k in 0..size {
                            let male = if k == 0 {
                                rng.random_bool(0.6)
                            } else {
                                rng.random_bool(0.5)
                            };
                            let (relation, age_lo, age_hi) = match k {
                                0 => ("householder", 25, 90),
                                1 => ("spouse", 25, 85),
                                2 | 3 => ("child", 0, 30),
                                _ => ("parent", 60, 95),
                            };
                            let age = rng.random_range(age_lo..=age_hi);
                            let birth = chrono::NaiveDate::from_ymd_opt(
                                2026 - age,
                                rng.random_range(1..=12),
                                rng.random_range(1..=28),
                            )
                            .expect("date");
                            let surname = if k == 1 {
                                weighted(&mut rng, SURNAMES).to_string()
                            } else {
                                family.clone()
                            };
                            let mut name = format!("{surname}{}", given_name(&mut rng, male));
                            if first_people {
                                // Every demo grid shows the characters fonts and keyboards must handle.
                                name = ["张喆", "王堃", "李昇"][k.min(2)].to_string();
                                if k == size - 1 {
                                    first_people = false;
                                }
                            }
                            let rented = use_ == "rented";
                            let residence = if rented && rng.random_bool(0.7) {
                                "floating"
                            } else if rng.random_bool(0.02) {
                                "overseas"
                            } else {
                                "registered"
                            };
                            let relation = if rented && k == 0 && residence == "floating" {
                                "tenant"
                            } else {
                                relation
                            };
                            let mut tags = vec![];
                            if age >= 70 && size == 1 {
                                tags.push("elderly_alone");
                            }
                            if age < 18 {
                                tags.push("minor");
                            }
                            if rng.random_bool(0.02) {
                                tags.push("disabled");
                            }
                            if rng.random_bool(0.03) {
                                tags.push("low_income");
                            }
                            if rng.random_bool(0.005) {
                                tags.push("key_person");
                            }
                            if rng.random_bool(0.01) {
                                tags.push("veteran");
                            }
                            let id = ids.next();
                            let id_no = if residence == "overseas" {
                                None
                            } else {
                                Some(id_for(&mut rng, birth, male))
                            };
                            push(
                                &mut buf,
                                Entity::Person,
                                &id,
                                obj(json!({
                                    "grid_id": grid_id, "house_id": house_id, "name": name, "id_number": id_no,
                                    "phone": if age >= 14 { Some(phone(&mut rng)) } else { None },
                                    "sex": if male { "male" } else { "female" }, "birth_date": birth.format("%Y-%m-%d").to_string(),
                                    "relation": relation, "residence_type": residence,
                                    "tags": serde_json::to_string(&tags).expect("tags"), "note": "",
                                })),
                            )?;
                            sum.persons += 1;
                        }
                    }
                }
            }
        }
        // Organisations along the roads: one per ~25 households.
        for _ in 0..(grid_households / 25).max(1) {
            let (kind_name, kind) = *pick(&mut rng, SHOP_KIND);
            let name = format!("{}{}", pick(&mut rng, SHOP_PREFIX), kind_name);
            let road = *pick(&mut rng, ROADS);
            let address_text = format!("{community_name}社区{road}{}号", rng.random_range(1..300));
            let risk: Vec<&str> = [
                ("fire_safety", 0.15),
                ("hazardous_goods", 0.03),
                ("crowded_place", 0.05),
            ]
            .iter()
            .filter(|(_, p)| rng.random_bool(*p))
            .map(|(t, _)| *t)
            .collect();
            let male = rng.random_bool(0.5);
            let contact = format!(
                "{}{}",
                weighted(&mut rng, SURNAMES),
                given_name(&mut rng, male)
            );
            let id = ids.next();
            push(
                &mut buf,
                Entity::Organisation,
                &id,
                obj(json!({
                    "grid_id": grid_id, "address_id": null, "name": name, "kind": kind,
                    "licence_no": demo_credit_code(rng.random_range(0..10_000_000u32)),
                    "contact_name": contact,
                    "contact_phone": phone(&mut rng), "address_text": address_text,
                    "risk_tags": serde_json::to_string(&risk).expect("risk"),
                })),
            )?;
            sum.organisations += 1;
        }
        for i in 0..12 {
            let kind = FACILITY_KINDS[i % FACILITY_KINDS.len()];
            let id = ids.next();
            push(
                &mut buf,
                Entity::Facility,
                &id,
                obj(json!({
                    "grid_id": grid_id, "kind": kind, "code": format!("{grid_code}-{kind}-{i:02}"),
                    "lat": lat0 - rng.random_range(0.05..0.95) * dlat, "lon": lon0 + rng.random_range(0.05..0.95) * dlon,
                    "state": if rng.random_bool(0.08) { "damaged" } else { "normal" }, "note": "",
                })),
            )?;
            sum.facilities += 1;
        }
    }
    if !buf.is_empty() {
        sink(buf)?;
    }
    Ok(sum)
}

#[cfg(test)]
mod tests;
