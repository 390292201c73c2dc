use super::*;

fn collect(spec: DemoSpec) -> (DemoSummary, Vec<RemoteChange>) {
    let mut all = vec![];
    let s = generate(spec, 1_000, |b| {
        all.extend(b);
        Ok::<(), ()>(())
    })
    .unwrap();
    (s, all)
}

#[test]
fn same_seed_same_data_other_seed_other_data() {
    let spec = DemoSpec {
        persons: 300,
        seed: 7,
    };
    let (_, a) = collect(spec);
    let (_, b) = collect(spec);
    let (_, c) = collect(DemoSpec { seed: 8, ..spec });
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn one_grid_has_500_households_and_about_1500_people() {
    let (s, all) = collect(DemoSpec {
        persons: 1_500,
        seed: 1,
    });
    assert_eq!(s.persons, 1_500);
    assert_eq!(s.houses, 500);
    // The district, its two other streets (2 communities of 2 grids each), the
    // populated street with one community and one grid.
    assert_eq!(s.grids, 1 + 2 * (1 + 2 * (1 + 2)) + 3);
    assert_eq!(s.categories, 42); // 10 大类 + 32 小类
    let people: Vec<_> = all.iter().filter(|c| c.entity == Entity::Person).collect();
    for p in &people {
        if let Some(idn) = p.fields["id_number"].as_str() {
            assert!(id_number::is_valid(idn), "{idn}");
        }
    }
    let names: Vec<&str> = people
        .iter()
        .map(|p| p.fields["name"].as_str().unwrap())
        .collect();
    for rare in ["喆", "堃", "昇"] {
        assert!(
            names.iter().any(|n| n.contains(rare)),
            "no name with {rare}"
        );
    }
    let units: Vec<_> = all
        .iter()
        .filter(|c| c.entity == Entity::Organisation)
        .collect();
    assert!(!units.is_empty());
    for u in units {
        let code = u.fields["licence_no"].as_str().unwrap();
        assert!(
            gridpad_domain::checks::credit_code::is_valid(code),
            "{code}"
        );
    }
}

#[test]
fn catalog_has_ten_main_and_thirty_two_subcategories() {
    let c = catalog();
    assert_eq!(c.iter().filter(|x| x.level == 1).count(), 10);
    assert_eq!(c.iter().filter(|x| x.level == 2).count(), 32);
    assert!(c
        .iter()
        .filter(|x| x.level == 2)
        .all(|x| x.deadline_hours.is_some()));
}

#[test]
fn every_generated_record_is_valid_by_its_specification() {
    use gridpad_domain::spec::{check, Change, Side};
    let (_, all) = collect(DemoSpec {
        persons: 3_000,
        seed: 5,
    });
    for c in &all {
        if let Err(p) = check(c.entity, Side::Centre, Change::Insert, &c.fields) {
            panic!("{} {}: {p}", c.entity, c.row_id);
        }
    }
}
