//! Type pinyin, see candidates: `cargo run -p gridpad-ime --example ime -- wangge zs xian`
use gridpad_ime::{Composer, Lexicon, UserModel};
use std::sync::Arc;

fn main() {
    let t = std::time::Instant::now();
    let lex = Arc::new(Lexicon::bundled().expect("bundled lexicon"));
    eprintln!("{} entries loaded in {:?}", lex.len(), t.elapsed());
    let mut c = Composer::new(lex, UserModel::new(), 8);
    for input in std::env::args().skip(1) {
        c.clear();
        for ch in input.chars() {
            c.push(ch);
        }
        let t = std::time::Instant::now();
        for _ in 0..20 {
            c.clear();
            for ch in input.chars() {
                c.push(ch);
            }
        }
        eprintln!(
            "{input}: {:.3} ms per typing",
            t.elapsed().as_secs_f64() * 1e3 / 20.0
        );
        let page: Vec<String> = c.page().iter().map(|c| c.text.clone()).collect();
        println!("{input} [{}] → {}", c.preedit(), page.join(" "));
    }
}
