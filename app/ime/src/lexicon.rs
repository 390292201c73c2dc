//! The lexicon: entries (text, syllables, weight) in flat arenas, indexed by
//! (syllable count, first letters of the first syllables).

use std::collections::HashMap;

/// The bundled lexicon (see `assets/ime/README.md`).
pub const BUNDLED_LEXICON: &[u8] = include_bytes!("../../../assets/ime/lexicon.tsv.zst");
/// Gridpad's domain phrases.
pub const DOMAIN_PHRASES: &str = include_str!("../../../assets/ime/gridpad-phrases.tsv");

/// Syllables per index key (longer phrases are filtered on the rest).
const KEY_SYLLABLES: usize = 6;

#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    #[error("the lexicon could not be decompressed: {0}")]
    Decompress(std::io::Error),
    #[error("the lexicon is not UTF-8")]
    Utf8,
    #[error("lexicon line {line}: {reason}")]
    Line { line: usize, reason: &'static str },
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    text_start: u32,
    text_len: u16,
    syl_start: u32,
    syl_len: u16,
    weight: u32,
}

/// Words and characters with their syllables and frequencies.
pub struct Lexicon {
    syllables: Vec<Box<str>>,
    syllable_ids: HashMap<Box<str>, u16>,
    text: String,
    syls: Vec<u16>,
    entries: Vec<Entry>,
    index: HashMap<u64, Vec<u32>>,
    ln_total: f64,
}

/// One lexicon entry, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct EntryRef<'a> {
    pub text: &'a str,
    pub syllables: &'a [u16],
    pub weight: u32,
}

pub(crate) fn letter(c: u8) -> u64 {
    (c.wrapping_sub(b'a') as u64) & 31
}

/// The index key: count (4 bits) and the first letter of up to six syllables (5 bits each).
pub(crate) fn key(n: usize, first_letters: impl Iterator<Item = u8>) -> u64 {
    let mut k = n.min(15) as u64;
    for (i, c) in first_letters.take(KEY_SYLLABLES).enumerate() {
        k |= letter(c) << (4 + 5 * i);
    }
    k
}

/// `lue`/`nue` are spelt `lve`/`nve` (the keyboard has no ü; `v` stands for it).
pub fn normalise_syllable(s: &str) -> &str {
    match s {
        "lue" => "lve",
        "nue" => "nve",
        other => other,
    }
}

impl Lexicon {
    /// The bundled lexicon with Gridpad's domain phrases.
    pub fn bundled() -> Result<Lexicon, LexiconError> {
        let raw = zstd::decode_all(BUNDLED_LEXICON).map_err(LexiconError::Decompress)?;
        let text = String::from_utf8(raw).map_err(|_| LexiconError::Utf8)?;
        let mut lex = Lexicon::empty();
        lex.add_tsv(&text)?;
        lex.add_tsv(DOMAIN_PHRASES)?;
        lex.build_index();
        Ok(lex)
    }

    /// A lexicon from `text TAB syllables TAB weight` lines (`#` comments, blank lines).
    pub fn from_tsv(tsv: &str) -> Result<Lexicon, LexiconError> {
        let mut lex = Lexicon::empty();
        lex.add_tsv(tsv)?;
        lex.build_index();
        Ok(lex)
    }

    fn empty() -> Lexicon {
        Lexicon {
            syllables: vec![],
            syllable_ids: HashMap::new(),
            text: String::new(),
            syls: vec![],
            entries: vec![],
            index: HashMap::new(),
            ln_total: 0.0,
        }
    }

    fn syllable_id(&mut self, s: &str) -> u16 {
        let s = normalise_syllable(s);
        if let Some(&id) = self.syllable_ids.get(s) {
            return id;
        }
        let id = self.syllables.len() as u16;
        self.syllables.push(s.into());
        self.syllable_ids.insert(s.into(), id);
        id
    }

    fn add_tsv(&mut self, tsv: &str) -> Result<(), LexiconError> {
        for (i, line) in tsv.lines().enumerate() {
            let line_no = i + 1;
            let bad = |reason| LexiconError::Line {
                line: line_no,
                reason,
            };
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split('\t');
            let (Some(text), Some(pinyin), Some(weight)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(bad("expected text, syllables and weight"));
            };
            let weight: u32 = weight.trim().parse().map_err(|_| bad("weight"))?;
            let n = pinyin.split(' ').count();
            if text.is_empty() || n != text.chars().count() || text.len() > u16::MAX as usize {
                return Err(bad("one syllable per character"));
            }
            if !pinyin
                .split(' ')
                .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase()))
            {
                return Err(bad("syllables are lower-case letters"));
            }
            let syl_start = self.syls.len() as u32;
            for s in pinyin.split(' ') {
                let id = self.syllable_id(s);
                self.syls.push(id);
            }
            let text_start = self.text.len() as u32;
            self.text.push_str(text);
            self.entries.push(Entry {
                text_start,
                text_len: text.len() as u16,
                syl_start,
                syl_len: n as u16,
                weight,
            });
        }
        Ok(())
    }

    fn build_index(&mut self) {
        let mut index: HashMap<u64, Vec<u32>> = HashMap::new();
        for (i, e) in self.entries.iter().enumerate() {
            let syls = &self.syls[e.syl_start as usize..][..e.syl_len as usize];
            let k = key(
                syls.len(),
                syls.iter()
                    .map(|&s| self.syllables[s as usize].as_bytes()[0]),
            );
            index.entry(k).or_default().push(i as u32);
        }
        for list in index.values_mut() {
            list.sort_by_key(|&i| std::cmp::Reverse(self.entries[i as usize].weight));
            list.shrink_to_fit();
        }
        self.index = index;
        let total: f64 = self.entries.iter().map(|e| e.weight as f64 + 1.0).sum();
        self.ln_total = total.max(1.0).ln();
        self.text.shrink_to_fit();
        self.syls.shrink_to_fit();
        self.entries.shrink_to_fit();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every syllable the lexicon knows (segmentation uses these).
    pub fn syllables(&self) -> impl Iterator<Item = &str> {
        self.syllables.iter().map(|s| &**s)
    }

    pub fn syllable(&self, id: u16) -> &str {
        &self.syllables[id as usize]
    }

    pub fn syllable_id_of(&self, s: &str) -> Option<u16> {
        self.syllable_ids.get(normalise_syllable(s)).copied()
    }

    fn entry(&self, i: u32) -> EntryRef<'_> {
        let e = self.entries[i as usize];
        EntryRef {
            text: &self.text[e.text_start as usize..][..e.text_len as usize],
            syllables: &self.syls[e.syl_start as usize..][..e.syl_len as usize],
            weight: e.weight,
        }
    }

    /// Every entry, in file order.
    pub fn entries(&self) -> impl Iterator<Item = EntryRef<'_>> {
        (0..self.entries.len() as u32).map(move |i| self.entry(i))
    }

    /// Entries of `n` syllables whose syllables start with `first_letters`, most frequent
    /// first.
    pub(crate) fn bucket(
        &self,
        n: usize,
        first_letters: impl Iterator<Item = u8>,
    ) -> impl Iterator<Item = EntryRef<'_>> {
        self.index
            .get(&key(n, first_letters))
            .map(|v| v.as_slice())
            .unwrap_or(&[])
            .iter()
            .map(move |&i| self.entry(i))
    }

    /// Natural log of an entry's relative frequency.
    pub fn ln_p(&self, weight: u32) -> f64 {
        (weight as f64 + 1.0).ln() - self.ln_total
    }

    /// Approximate heap bytes held (arenas and index).
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + self.syls.capacity() * 2
            + self.entries.capacity() * std::mem::size_of::<Entry>()
            + self
                .index
                .values()
                .map(|v| v.capacity() * 4 + 48)
                .sum::<usize>()
            + self
                .syllables
                .iter()
                .map(|s| s.len() * 2 + 40)
                .sum::<usize>()
    }
}
