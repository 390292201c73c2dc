//! Splitting typed letters into pinyin syllables.
//!
//! A token is a full syllable (`zhang`), an initial (`z`, `zh`, `s` — so `zs` finds 张三),
//! or, at the very end, the start of a syllable still being typed (`zhon`). An apostrophe
//! forces a split (`xi'an`). Every split with the fewest tokens is kept, and so are splits
//! into one more token when all of them are full syllables: `xian` gives both `xian` (先)
//! and `xi an` (西安); `fangan` gives `fang an` and `fan gan`.

use crate::lexicon::Lexicon;

const INITIALS: [&str; 23] = [
    "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "zh", "ch", "sh", "r",
    "z", "c", "s", "y", "w",
];
const MAX_SYLLABLE: usize = 6;
const MAX_SEGMENTATIONS: usize = 16;

/// One piece of the typed input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// Byte range in the input.
    pub start: usize,
    pub end: usize,
    /// The letters.
    pub text: String,
    /// The syllable, when the letters are a whole syllable (then only it matches).
    pub full: Option<u16>,
}

impl Token {
    /// Whether lexicon syllable `syl` can stand for this token.
    pub fn matches(&self, lex: &Lexicon, syl: u16) -> bool {
        match self.full {
            Some(id) => id == syl,
            None => lex.syllable(syl).starts_with(self.text.as_str()),
        }
    }

    pub fn first_letter(&self) -> u8 {
        self.text.as_bytes()[0]
    }
}

/// One way to split the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segmentation {
    pub tokens: Vec<Token>,
}

impl Segmentation {
    pub fn all_full(&self) -> bool {
        self.tokens.iter().all(|t| t.full.is_some())
    }

    /// The input shown with the split: `wang'ge`.
    pub fn display(&self) -> String {
        self.tokens
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join("'")
    }
}

struct Piece {
    len: usize,
    full: Option<u16>,
}

/// The ways `input` (lower-case letters and apostrophes) splits into syllables, best first.
/// Empty when it cannot be read as pinyin.
pub fn segment(lex: &Lexicon, input: &str) -> Vec<Segmentation> {
    if input.is_empty() || !input.bytes().all(|b| b.is_ascii_lowercase() || b == b'\'') {
        return vec![];
    }
    let bytes = input.as_bytes();
    let n = bytes.len();
    // The pieces that may start at each position.
    let last_letter = input.trim_end_matches('\'').len();
    let mut pieces: Vec<Vec<Piece>> = (0..n).map(|_| vec![]).collect();
    for (i, slot) in pieces.iter_mut().enumerate() {
        if bytes[i] == b'\'' {
            continue;
        }
        for len in 1..=MAX_SYLLABLE.min(n - i) {
            let s = &input[i..i + len];
            if s.contains('\'') {
                break;
            }
            if let Some(id) = lex.syllable_id_of(s) {
                slot.push(Piece {
                    len,
                    full: Some(id),
                });
            } else if INITIALS.contains(&s)
                || (i + len == last_letter && lex.syllables().any(|y| y.starts_with(s)))
            {
                slot.push(Piece { len, full: None });
            }
        }
    }
    // Fewest tokens from each position to the end (apostrophes cost nothing).
    const NONE: usize = usize::MAX / 4;
    let mut min = vec![NONE; n + 1];
    min[n] = 0;
    for i in (0..n).rev() {
        if bytes[i] == b'\'' {
            min[i] = min[i + 1];
            continue;
        }
        for p in &pieces[i] {
            min[i] = min[i].min(1 + min[i + p.len]);
        }
    }
    if min[0] >= NONE {
        return vec![];
    }
    let budget = min[0] + 1;
    let mut out = vec![];
    let mut stack = vec![];
    walk(input, &pieces, &min, 0, budget, &mut stack, &mut out);
    out.retain(|s: &Segmentation| s.tokens.len() == min[0] || s.all_full());
    out.sort_by_key(|s| {
        (
            s.tokens.len(),
            s.tokens.iter().filter(|t| t.full.is_none()).count(),
        )
    });
    out
}

fn walk(
    input: &str,
    pieces: &[Vec<Piece>],
    min: &[usize],
    i: usize,
    budget: usize,
    stack: &mut Vec<Token>,
    out: &mut Vec<Segmentation>,
) {
    if out.len() >= MAX_SEGMENTATIONS {
        return;
    }
    let n = input.len();
    let mut i = i;
    while i < n && input.as_bytes()[i] == b'\'' {
        i += 1;
    }
    if i == n {
        out.push(Segmentation {
            tokens: stack.clone(),
        });
        return;
    }
    for p in pieces[i].iter().rev() {
        let end = i + p.len;
        if stack.len() + 1 + min[end] > budget {
            continue;
        }
        stack.push(Token {
            start: i,
            end,
            text: input[i..end].to_string(),
            full: p.full,
        });
        walk(input, pieces, min, end, budget, stack, out);
        stack.pop();
    }
}
