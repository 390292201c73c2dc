//! One composition: letters in, ranked and paged candidates out.

use crate::lexicon::Lexicon;
use crate::segment::{segment, Segmentation};
use crate::user::UserModel;
use std::collections::HashSet;
use std::sync::Arc;

/// Candidates gathered per lookup at most (pages beyond are not useful to anyone).
const MAX_CANDIDATES: usize = 300;
/// Lexicon entries gathered per (segmentation, prefix length).
const PER_GROUP: usize = 120;
/// Score cost of each piece in a composed sentence (besides its own probability).
const PIECE_COST: f64 = 1.0;

/// A candidate for the start of what is being composed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub text: String,
    /// Bytes of the remaining input it stands for.
    pub consumed: usize,
    pub syllables: Vec<String>,
    /// Chosen before by this user.
    pub learned: bool,
}

struct Chosen {
    text: String,
    syllables: Vec<String>,
    end: usize,
}

/// A pinyin composition with its candidates, pages and the user's learned choices.
pub struct Composer {
    lex: Arc<Lexicon>,
    user: UserModel,
    user_changed: bool,
    raw: String,
    done: usize,
    chosen: Vec<Chosen>,
    segs: Vec<Segmentation>,
    cands: Vec<Candidate>,
    page: usize,
    page_size: usize,
}

impl Composer {
    pub fn new(lex: Arc<Lexicon>, user: UserModel, page_size: usize) -> Composer {
        Composer {
            lex,
            user,
            user_changed: false,
            raw: String::new(),
            done: 0,
            chosen: vec![],
            segs: vec![],
            cands: vec![],
            page: 0,
            page_size: page_size.max(1),
        }
    }

    pub fn user(&self) -> &UserModel {
        &self.user
    }

    /// Replace the user model (the app reads it from its store after the composer exists).
    pub fn set_user(&mut self, user: UserModel) {
        self.user = user;
        self.update();
    }

    /// Whether the user model changed since the last call (the app then saves it).
    pub fn take_user_changed(&mut self) -> bool {
        std::mem::take(&mut self.user_changed)
    }

    pub fn is_composing(&self) -> bool {
        !self.raw.is_empty()
    }

    /// The letters typed so far.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// A letter (a–z, case ignored) or an apostrophe (a syllable split). Anything else is
    /// refused (false) and left to the caller.
    pub fn push(&mut self, c: char) -> bool {
        let c = c.to_ascii_lowercase();
        let ok = c.is_ascii_lowercase() || (c == '\'' && self.raw.len() > self.done);
        if !ok || self.raw.len() >= 64 {
            return false;
        }
        self.raw.push(c);
        self.update();
        true
    }

    /// Delete the last typed letter (undoing choices that covered it). False when nothing
    /// was being composed.
    pub fn backspace(&mut self) -> bool {
        if self.raw.pop().is_none() {
            return false;
        }
        while self.chosen.last().is_some_and(|c| c.end > self.raw.len()) {
            self.chosen.pop();
        }
        self.done = self.chosen.last().map_or(0, |c| c.end);
        self.update();
        true
    }

    /// Abandon the composition.
    pub fn clear(&mut self) {
        self.raw.clear();
        self.chosen.clear();
        self.done = 0;
        self.update();
    }

    /// What the field shows while composing: chosen words, then the letters left, split.
    pub fn preedit(&self) -> String {
        let mut s: String = self.chosen.iter().map(|c| c.text.as_str()).collect();
        let rest = &self.raw[self.done..];
        match self.segs.first() {
            Some(seg) if !rest.is_empty() => s.push_str(&seg.display()),
            _ => s.push_str(rest),
        }
        s
    }

    pub fn candidates(&self) -> &[Candidate] {
        &self.cands
    }

    pub fn page(&self) -> &[Candidate] {
        let start = (self.page * self.page_size).min(self.cands.len());
        let end = (start + self.page_size).min(self.cands.len());
        &self.cands[start..end]
    }

    pub fn page_index(&self) -> usize {
        self.page
    }

    pub fn page_count(&self) -> usize {
        self.cands.len().div_ceil(self.page_size)
    }

    pub fn next_page(&mut self) -> bool {
        if self.page + 1 < self.page_count() {
            self.page += 1;
            true
        } else {
            false
        }
    }

    pub fn prev_page(&mut self) -> bool {
        if self.page > 0 {
            self.page -= 1;
            true
        } else {
            false
        }
    }

    /// Choose candidate `i` of the current page. Returns the text to insert when the whole
    /// input is covered; otherwise the choice waits and the rest is composed.
    pub fn select(&mut self, i: usize) -> Option<String> {
        let cand = self.page().get(i)?.clone();
        self.done += cand.consumed;
        while self.raw[self.done..].starts_with('\'') {
            self.done += 1;
        }
        self.chosen.push(Chosen {
            text: cand.text,
            syllables: cand.syllables,
            end: self.done,
        });
        if self.done < self.raw.len() {
            self.update();
            return None;
        }
        let chosen = std::mem::take(&mut self.chosen);
        for c in &chosen {
            self.user.learn(&c.text, &c.syllables.join(" "));
        }
        if chosen.len() > 1 {
            let text: String = chosen.iter().map(|c| c.text.as_str()).collect();
            let syl: Vec<&str> = chosen
                .iter()
                .flat_map(|c| c.syllables.iter().map(|s| s.as_str()))
                .collect();
            self.user.learn(&text, &syl.join(" "));
        }
        self.user_changed = true;
        let text = chosen.into_iter().map(|c| c.text).collect();
        self.clear();
        Some(text)
    }

    /// Space: the first candidate on the page (or nothing when there is none).
    pub fn select_first(&mut self) -> Option<String> {
        self.select(0)
    }

    /// Enter: the chosen words and the letters as typed, without conversion.
    pub fn commit_raw(&mut self) -> String {
        let mut s: String = self.chosen.iter().map(|c| c.text.as_str()).collect();
        s.extend(self.raw[self.done..].chars().filter(|&c| c != '\''));
        self.clear();
        s
    }

    fn update(&mut self) {
        self.page = 0;
        let rest = &self.raw[self.done..];
        if rest.is_empty() {
            self.segs.clear();
            self.cands.clear();
            return;
        }
        // Letters that cannot be read as pinyin: offer what the longest readable start gives.
        let mut end = rest.len();
        let mut segs = segment(&self.lex, rest);
        while segs.is_empty() && end > 1 {
            end -= 1;
            segs = segment(&self.lex, &rest[..end]);
        }
        self.cands = candidates(&self.lex, &self.user, &segs);
        self.segs = segs;
    }
}

/// Ranked candidates for the splits of an input: longest coverage first; within the same
/// coverage, the user's recent choices first, then lexicon words by frequency, then a
/// composed sentence.
pub fn candidates(lex: &Lexicon, user: &UserModel, segs: &[Segmentation]) -> Vec<Candidate> {
    // (consumed, tier, -recency/weight, order, candidate)
    let mut all: Vec<(usize, u8, i64, Candidate)> = vec![];
    for seg in segs {
        let n = seg.tokens.len();
        for k in (1..=n).rev() {
            let toks = &seg.tokens[..k];
            let consumed = toks[k - 1].end;
            // Learned entries.
            for e in user.entries() {
                let syls: Vec<&str> = e.pinyin.split(' ').collect();
                if syls.len() != k {
                    continue;
                }
                let ok = toks.iter().zip(&syls).all(|(t, s)| {
                    s.as_bytes().first() == Some(&t.first_letter())
                        && lex.syllable_id_of(s).is_some_and(|id| t.matches(lex, id))
                });
                if ok {
                    all.push((
                        consumed,
                        0,
                        -(e.last as i64),
                        Candidate {
                            text: e.text.clone(),
                            consumed,
                            syllables: syls.iter().map(|s| s.to_string()).collect(),
                            learned: true,
                        },
                    ));
                }
            }
            let limit = if k == n { MAX_CANDIDATES } else { PER_GROUP };
            let mut taken = 0;
            for e in lex.bucket(k, toks.iter().map(|t| t.first_letter())) {
                if taken >= limit {
                    break;
                }
                if e.syllables
                    .iter()
                    .zip(toks)
                    .all(|(&s, t)| t.matches(lex, s))
                {
                    taken += 1;
                    all.push((
                        consumed,
                        1,
                        -(e.weight as i64),
                        Candidate {
                            text: e.text.to_string(),
                            consumed,
                            syllables: e
                                .syllables
                                .iter()
                                .map(|&s| lex.syllable(s).to_string())
                                .collect(),
                            learned: false,
                        },
                    ));
                }
            }
        }
    }
    // One composed sentence, the likeliest over all splits, when no word covers it all.
    let whole = segs
        .iter()
        .map(|s| s.tokens.last().map_or(0, |t| t.end))
        .max();
    let covered = all.iter().any(|c| Some(c.0) == whole);
    let best = segs
        .iter()
        .filter_map(|seg| sentence(lex, seg))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((_, s)) = best.filter(|_| !covered) {
        all.push((s.consumed, 2, 0, s));
    }
    all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut seen = HashSet::new();
    let mut out = vec![];
    for (_, _, _, c) in all {
        if out.len() >= MAX_CANDIDATES {
            break;
        }
        if seen.insert(c.text.clone()) {
            out.push(c);
        }
    }
    out
}

/// A sentence prefix: score, start of its last piece, that piece's text and syllables.
type Step = (f64, usize, String, Vec<u16>);

/// The most likely reading of the whole split as a sequence of words (when it takes more
/// than one word).
fn sentence(lex: &Lexicon, seg: &Segmentation) -> Option<(f64, Candidate)> {
    let n = seg.tokens.len();
    if n < 2 {
        return None;
    }
    // best[j] = (score, start of last piece, entry text, syllables)
    let mut best: Vec<Option<Step>> = vec![None; n + 1];
    best[0] = Some((0.0, 0, String::new(), vec![]));
    for j in 1..=n {
        for i in j.saturating_sub(8)..j {
            let Some((base, ..)) = best[i].as_ref().map(|b| (b.0, ())) else {
                continue;
            };
            let toks = &seg.tokens[i..j];
            let found = lex
                .bucket(j - i, toks.iter().map(|t| t.first_letter()))
                .find(|e| {
                    e.syllables
                        .iter()
                        .zip(toks)
                        .all(|(&s, t)| t.matches(lex, s))
                });
            if let Some(e) = found {
                let score = base + lex.ln_p(e.weight) - PIECE_COST;
                if best[j].as_ref().is_none_or(|b| score > b.0) {
                    best[j] = Some((score, i, e.text.to_string(), e.syllables.to_vec()));
                }
            }
        }
    }
    let mut pieces = vec![];
    let mut j = n;
    while j > 0 {
        let (_, i, text, syls) = best[j].clone()?;
        pieces.push((text, syls));
        j = i;
    }
    if pieces.len() < 2 {
        return None;
    }
    pieces.reverse();
    let score = best[n].as_ref()?.0;
    Some((
        score,
        Candidate {
            text: pieces.iter().map(|p| p.0.as_str()).collect(),
            consumed: seg.tokens[n - 1].end,
            syllables: pieces
                .iter()
                .flat_map(|p| p.1.iter().map(|&s| lex.syllable(s).to_string()))
                .collect(),
            learned: false,
        },
    ))
}
