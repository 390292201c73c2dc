//! Every @tr string of every screen has its Chinese translation in the bundled catalog.

use std::collections::HashMap;
use std::path::Path;

fn slint_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            slint_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "slint") {
            out.push(p);
        }
    }
}

fn tr_strings(src: &str) -> Vec<String> {
    let mut out = vec![];
    let mut rest = src;
    while let Some(i) = rest.find("@tr(") {
        rest = rest[i + 4..].trim_start();
        if let Some(body) = rest.strip_prefix('"') {
            let mut s = String::new();
            let mut chars = body.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => s.push(chars.next().unwrap()),
                    '"' => break,
                    c => s.push(c),
                }
            }
            out.push(s);
        }
    }
    out
}

fn catalog(po: &str) -> HashMap<String, String> {
    let mut map = HashMap::new();
    let mut id: Option<String> = None;
    for line in po.lines() {
        if let Some(v) = line.strip_prefix("msgid \"") {
            id = Some(v.trim_end_matches('"').replace("\\\"", "\""));
        } else if let Some(v) = line.strip_prefix("msgstr \"") {
            if let Some(k) = id.take() {
                map.insert(k, v.trim_end_matches('"').replace("\\\"", "\""));
            }
        }
    }
    map
}

#[test]
fn po_is_complete() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![];
    slint_files(&root.join("ui"), &mut files);
    let po = std::fs::read_to_string(root.join("lang/zh_CN/LC_MESSAGES/gridpad-ui.po")).unwrap();
    let cat = catalog(&po);
    let mut missing = vec![];
    let mut n = 0;
    for f in files {
        for s in tr_strings(&std::fs::read_to_string(&f).unwrap()) {
            n += 1;
            if cat.get(&s).is_none_or(|t| t.is_empty()) {
                missing.push(format!("{}: {s}", f.file_name().unwrap().to_string_lossy()));
            }
        }
    }
    assert!(n > 200, "found only {n} strings");
    assert!(
        missing.is_empty(),
        "untranslated (run lang/make_po.py):\n{}",
        missing.join("\n")
    );
}
