//! Candidate lookup time, lexicon load time and memory.
//!
//! `cargo bench -p gridpad-ime` — inputs: the 1,500 most frequent words of 2–4 syllables
//! and 500 most frequent characters of the lexicon, each typed keystroke by keystroke in
//! full pinyin and again as initials (every keystroke is one lookup, as on the keyboard).
//! Each keystroke's time includes segmentation, lexicon and user-model lookup, ranking and
//! the first page. A user model with 500 learned entries is loaded, as after months of use.

use gridpad_ime::{Composer, Lexicon, UserModel};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4
}

fn pct(v: &[Duration], p: f64) -> Duration {
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

fn main() {
    // Load: first load with RSS delta, then the median of 5 more.
    let before = rss_kib();
    let t = Instant::now();
    let lex = Lexicon::bundled().expect("bundled lexicon");
    let first = t.elapsed();
    let after = rss_kib();
    let mut loads = vec![];
    for _ in 0..5 {
        let t = Instant::now();
        let l = Lexicon::bundled().unwrap();
        loads.push(t.elapsed());
        drop(l);
    }
    loads.sort();
    println!(
        "lexicon: {} entries; load first {:.1} ms, median of 5 {:.1} ms; RSS +{:.1} MiB (heap estimate {:.1} MiB)",
        lex.len(),
        first.as_secs_f64() * 1e3,
        loads[2].as_secs_f64() * 1e3,
        after.saturating_sub(before) as f64 / 1024.0,
        lex.heap_bytes() as f64 / 1048576.0
    );

    // Realistic inputs from the lexicon's own frequencies.
    let mut words: Vec<_> = lex
        .entries()
        .filter(|e| (2..=4).contains(&e.syllables.len()))
        .map(|e| (e.weight, e.syllables.to_vec()))
        .collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.0));
    words.truncate(1_500);
    let mut chars: Vec<_> = lex
        .entries()
        .filter(|e| e.syllables.len() == 1)
        .map(|e| (e.weight, e.syllables.to_vec()))
        .collect();
    chars.sort_by_key(|w| std::cmp::Reverse(w.0));
    chars.truncate(500);
    let mut inputs: Vec<String> = vec![];
    for (_, syls) in words.iter().chain(chars.iter()) {
        let full: String = syls.iter().map(|&s| lex.syllable(s)).collect();
        let initials: String = syls.iter().map(|&s| &lex.syllable(s)[..1]).collect();
        inputs.push(full);
        if syls.len() > 1 {
            inputs.push(initials);
        }
    }
    let lex = Arc::new(lex);
    let mut user = UserModel::new();
    for (_, syls) in words.iter().take(500) {
        let py: Vec<&str> = syls.iter().map(|&s| lex.syllable(s)).collect();
        user.learn(&"学".repeat(py.len()), &py.join(" "));
    }
    let mut c = Composer::new(lex.clone(), user, 5);
    let mut times = vec![];
    let mut max_input = String::new();
    let mut max = Duration::ZERO;
    for input in &inputs {
        c.clear();
        for ch in input.chars() {
            let t = Instant::now();
            c.push(ch);
            std::hint::black_box(c.page());
            let d = t.elapsed();
            if d > max {
                max = d;
                max_input = c.raw().to_string();
            }
            if std::env::var_os("IME_BENCH_SLOW").is_some() && d > Duration::from_millis(2) {
                eprintln!("slow {:.2} ms: {}", d.as_secs_f64() * 1e3, c.raw());
            }
            times.push(d);
        }
    }
    times.sort();
    println!(
        "lookup per keystroke: {} keystrokes over {} inputs; p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({max_input})",
        times.len(),
        inputs.len(),
        pct(&times, 0.50).as_secs_f64() * 1e3,
        pct(&times, 0.95).as_secs_f64() * 1e3,
        pct(&times, 0.99).as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
    );
}
