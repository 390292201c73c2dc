//! The composer on the bundled lexicon: what a grid worker types and what is offered.

use gridpad_ime::{segment, Composer, Lexicon, UserModel};
use std::sync::{Arc, OnceLock};

fn lex() -> Arc<Lexicon> {
    static LEX: OnceLock<Arc<Lexicon>> = OnceLock::new();
    LEX.get_or_init(|| Arc::new(Lexicon::bundled().unwrap()))
        .clone()
}

fn composer() -> Composer {
    Composer::new(lex(), UserModel::new(), 6)
}

fn typed(c: &mut Composer, s: &str) {
    for ch in s.chars() {
        assert!(c.push(ch), "{ch} accepted");
    }
}

fn texts(c: &Composer) -> Vec<String> {
    c.candidates().iter().map(|c| c.text.clone()).collect()
}

fn position(c: &Composer, text: &str) -> Option<usize> {
    c.candidates().iter().position(|c| c.text == text)
}

#[test]
fn domain_words_come_first() {
    for (input, word) in [
        ("wangge", "网格"),
        ("chuzuwu", "出租屋"),
        ("xiaofangtongdao", "消防通道"),
        ("wanggeyuan", "网格员"),
        ("liudongrenkou", "流动人口"),
    ] {
        let mut c = composer();
        typed(&mut c, input);
        assert_eq!(texts(&c)[0], word, "{input}");
        assert_eq!(c.select(0).as_deref(), Some(word));
        assert!(!c.is_composing());
    }
}

#[test]
fn name_characters_are_reachable() {
    for (input, ch) in [("zhe", "喆"), ("kun", "堃"), ("sheng", "昇")] {
        let mut c = composer();
        typed(&mut c, input);
        assert!(position(&c, ch).is_some(), "{ch} offered for {input}");
    }
}

#[test]
fn frequency_orders_single_characters() {
    let mut c = composer();
    typed(&mut c, "zhang");
    let t = texts(&c);
    assert_eq!(t[0], "张");
    // 喆 is rarer than 这 and 者.
    let mut c = composer();
    typed(&mut c, "zhe");
    assert!(position(&c, "这") < position(&c, "喆"));
}

#[test]
fn initials_find_phrases() {
    let mut c = composer();
    typed(&mut c, "zs");
    assert!(position(&c, "张三").is_some(), "{:?}", texts(&c));
    let mut c = composer();
    typed(&mut c, "wgy");
    assert_eq!(texts(&c)[0], "网格员");
    // Mixed: a full syllable then an initial.
    let mut c = composer();
    typed(&mut c, "zhangs");
    assert_eq!(texts(&c)[0], "掌声", "by frequency");
    assert!(position(&c, "张三").unwrap() < 6, "{:?}", texts(&c));
}

#[test]
fn ambiguous_splits_offer_both_readings() {
    let lex = lex();
    let segs: Vec<String> = segment(&lex, "xian").iter().map(|s| s.display()).collect();
    assert_eq!(segs, ["xian", "xi'an"]);
    let mut c = composer();
    typed(&mut c, "xian");
    assert_eq!(texts(&c)[0], "先");
    assert!(position(&c, "西安").unwrap() < 12);
    let mut c = composer();
    typed(&mut c, "xi'an");
    assert_eq!(texts(&c)[0], "西安");
    assert_eq!(c.preedit(), "xi'an");
}

#[test]
fn sentences_are_composed_from_words() {
    let mut c = composer();
    typed(&mut c, "woshizhongguoren");
    assert_eq!(texts(&c)[0], "我是中国人");
    let mut c = composer();
    typed(&mut c, "jintiantianqibucuo");
    assert_eq!(texts(&c)[0], "今天天气不错");
}

#[test]
fn a_name_is_built_from_parts_and_learned() {
    let mut c = composer();
    typed(&mut c, "zhangzhe");
    assert_eq!(c.preedit(), "zhang'zhe");
    assert!(position(&c, "张喆").is_none());
    // 张 first (covers "zhang"), then 喆 for the rest.
    let zhang = c.candidates().iter().position(|x| x.text == "张").unwrap();
    while zhang >= (c.page_index() + 1) * 6 {
        assert!(c.next_page());
    }
    assert_eq!(c.select(zhang % 6), None);
    assert_eq!(c.preedit(), "张zhe");
    let zhe = position(&c, "喆").unwrap();
    while zhe >= (c.page_index() + 1) * 6 {
        assert!(c.next_page());
    }
    assert_eq!(c.select(zhe % 6).as_deref(), Some("张喆"));
    assert!(c.take_user_changed());
    // Next time the whole name comes first, and 喆 leads for "zhe".
    typed(&mut c, "zhangzhe");
    assert_eq!(texts(&c)[0], "张喆");
    assert!(c.candidates()[0].learned);
    c.clear();
    typed(&mut c, "zhe");
    assert_eq!(texts(&c)[0], "喆");
    c.clear();
    typed(&mut c, "zz");
    assert_eq!(texts(&c)[0], "张喆", "initials find the learned name");
}

#[test]
fn most_recent_choice_comes_first() {
    let mut c = composer();
    typed(&mut c, "shi");
    let first = texts(&c)[0].clone();
    let third = texts(&c)[2].clone();
    assert_eq!(c.select(2), Some(third.clone()));
    typed(&mut c, "shi");
    assert_eq!(texts(&c)[0], third);
    assert_eq!(texts(&c)[1], first);
}

#[test]
fn the_user_model_survives_serialisation() {
    let mut c = composer();
    typed(&mut c, "kun");
    let k = position(&c, "堃").unwrap();
    while k >= (c.page_index() + 1) * 6 {
        c.next_page();
    }
    c.select(k % 6).unwrap();
    let json = c.user().to_json();
    let restored = UserModel::from_json(&json).unwrap();
    let mut c = Composer::new(lex(), restored, 6);
    typed(&mut c, "kun");
    assert_eq!(texts(&c)[0], "堃");
    assert!(UserModel::from_json("{not json").is_err());
}

#[test]
fn paging_walks_the_candidates() {
    let mut c = composer();
    typed(&mut c, "shi");
    assert_eq!(c.page().len(), 6);
    let first: Vec<String> = c.page().iter().map(|x| x.text.clone()).collect();
    assert!(c.page_count() > 3);
    assert!(!c.prev_page());
    assert!(c.next_page());
    let second: Vec<String> = c.page().iter().map(|x| x.text.clone()).collect();
    assert!(first.iter().all(|t| !second.contains(t)));
    assert_eq!(second, texts(&c)[6..12]);
    assert!(c.prev_page());
    assert_eq!(c.page_index(), 0);
    // A new letter starts again on page one.
    c.next_page();
    typed(&mut c, "j");
    assert_eq!(c.page_index(), 0);
}

#[test]
fn backspace_edits_the_composition() {
    let mut c = composer();
    typed(&mut c, "wanggee");
    assert!(c.backspace());
    assert_eq!(c.raw(), "wangge");
    assert_eq!(texts(&c)[0], "网格");
    // Undoing a letter a choice covered undoes the choice.
    typed(&mut c, "yuan");
    let wang = position(&c, "网格").unwrap();
    assert!(wang < 6);
    assert_eq!(c.select(wang), None);
    assert_eq!(c.preedit(), "网格yuan");
    for _ in 0..4 {
        assert!(c.backspace());
    }
    assert_eq!(c.preedit(), "网格");
    assert!(c.backspace());
    assert_eq!(c.preedit(), "wang'g");
    while c.backspace() {}
    assert!(!c.is_composing());
    assert!(!c.backspace(), "nothing left: the field's own backspace");
}

#[test]
fn enter_commits_the_letters_and_bad_input_is_refused() {
    let mut c = composer();
    typed(&mut c, "gps");
    assert_eq!(c.commit_raw(), "gps");
    assert!(!c.push('1'));
    assert!(!c.push('\''), "no split before a letter");
    assert!(!c.push('中'));
    // Letters no syllable starts with: the readable start still gets candidates.
    typed(&mut c, "wangii");
    assert_eq!(texts(&c)[0], "网");
    assert_eq!(c.commit_raw(), "wangii");
}

#[test]
fn a_broken_lexicon_line_is_reported() {
    assert!(Lexicon::from_tsv("网格\twang\t1\n").is_err());
    assert!(Lexicon::from_tsv("网格\twang ge\tmany\n").is_err());
    assert!(Lexicon::from_tsv("网格\tWang Ge\t1\n").is_err());
    let lex = Lexicon::from_tsv("# comment\n\n网格\twang ge\t1\n").unwrap();
    assert_eq!(lex.len(), 1);
}
