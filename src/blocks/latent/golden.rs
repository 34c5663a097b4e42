//! Golden model of `latent_buffer`: the bank map, where each word of a beat goes, the cycles a
//! beat takes (its worst bank's load), and the buffer's contents beat by beat.

use super::LatentBufferParams;
use std::collections::HashMap;

/// A word's bits, 64 per limb, least significant limb first.
pub type Word = Vec<u64>;

/// The skewed map for one pitch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// Banks.
    pub banks: u64,
    /// Rows per bank.
    pub depth: u64,
    /// Words per token.
    pub pitch: u64,
    /// Tokens a request can name: `2^token_width`.
    pub tokens: u64,
}

impl Mapping {
    /// The map of `p`'s buffer with `pitch` words per token.
    pub fn new(p: &LatentBufferParams, pitch: u64) -> Self {
        Mapping { banks: u64::from(p.banks), depth: p.depth, pitch, tokens: 1 << p.token_width() }
    }

    /// `(bank, row)` of word `word` of token `token`, or `None` when it is outside the buffer.
    pub fn locate(&self, token: u64, word: u64) -> Option<(u64, u64)> {
        if word >= self.pitch || token >= self.tokens {
            return None;
        }
        let row = (token / self.banks) * self.pitch + word;
        (row < self.depth).then_some(((token + word) % self.banks, row))
    }

    /// Where word `j` of a write beat starting at `(token, word)` goes: `(token, word + j)`, or the
    /// next token once `word + j` reaches the pitch.
    pub fn write_target(&self, token: u64, word: u64, j: u64) -> Option<(u64, u64)> {
        if word >= self.pitch {
            return None;
        }
        let w = word + j;
        let (t, w) = if w < self.pitch { (token, w) } else { (token + 1, w - self.pitch) };
        self.locate(t, w)
    }
}

/// One beat on `rd` or `wr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Beat {
    /// One request per read port.
    Read {
        /// Token of each request.
        token: Vec<u64>,
        /// Word of each request.
        word: Vec<u64>,
        /// Whether each request reads.
        keep: Vec<bool>,
    },
    /// Up to `write_words` consecutive words.
    Write {
        /// Token of word 0.
        token: u64,
        /// Word of word 0.
        word: u64,
        /// Whether each word is written.
        keep: Vec<bool>,
        /// The words.
        data: Vec<Word>,
    },
}

impl Beat {
    /// `(bank, row)` of each request of the beat; `None` for one not kept or out of range.
    pub fn targets(&self, map: &Mapping) -> Vec<Option<(u64, u64)>> {
        match self {
            Beat::Read { token, word, keep } => {
                (0..keep.len()).map(|r| if keep[r] { map.locate(token[r], word[r]) } else { None }).collect()
            }
            Beat::Write { token, word, keep, .. } => (0..keep.len())
                .map(|j| if keep[j] { map.write_target(*token, *word, j as u64) } else { None })
                .collect(),
        }
    }

    /// Whether a kept request is out of range.
    pub fn has_error(&self, map: &Mapping) -> bool {
        let keep = match self {
            Beat::Read { keep, .. } | Beat::Write { keep, .. } => keep,
        };
        self.targets(map).iter().zip(keep).any(|(t, &k)| k && t.is_none())
    }

    /// Cycles the beat occupies the banks: the most requests that share one bank, at least 1.
    pub fn cycles(&self, map: &Mapping) -> u64 {
        let mut load: HashMap<u64, u64> = HashMap::new();
        for (bank, _) in self.targets(map).into_iter().flatten() {
            *load.entry(bank).or_default() += 1;
        }
        load.values().copied().max().unwrap_or(1)
    }
}

/// A read beat's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadData {
    /// Word of each read port (0 where not kept or out of range).
    pub words: Vec<Word>,
    /// A kept request was out of range.
    pub err: bool,
}

/// The buffer's contents as written so far.
#[derive(Debug, Clone)]
pub struct Buffer {
    /// The map in use.
    pub map: Mapping,
    limbs: usize,
    cells: HashMap<(u64, u64), Word>,
}

impl Buffer {
    /// An empty buffer of `p` with `pitch` words per token.
    pub fn new(p: &LatentBufferParams, pitch: u64) -> Self {
        Buffer {
            map: Mapping::new(p, pitch),
            limbs: p.word_width.div_ceil(64) as usize,
            cells: HashMap::new(),
        }
    }

    /// Whether `(bank, row)` has been written.
    pub fn written(&self, at: (u64, u64)) -> bool {
        self.cells.contains_key(&at)
    }

    /// Word `word` of token `token` as a read request sees it (0 when out of range or unwritten).
    pub fn read(&self, token: u64, word: u64) -> Word {
        self.map
            .locate(token, word)
            .and_then(|at| self.cells.get(&at).cloned())
            .unwrap_or_else(|| vec![0; self.limbs])
    }

    /// Applies a beat; returns the data of a read beat.
    pub fn apply(&mut self, beat: &Beat) -> Option<ReadData> {
        let targets = beat.targets(&self.map);
        let err = beat.has_error(&self.map);
        match beat {
            Beat::Read { .. } => {
                let zero = vec![0; self.limbs];
                let words = targets
                    .iter()
                    .map(|t| t.and_then(|at| self.cells.get(&at).cloned()).unwrap_or_else(|| zero.clone()))
                    .collect();
                Some(ReadData { words, err })
            }
            Beat::Write { data, .. } => {
                for (t, word) in targets.iter().zip(data) {
                    if let Some(at) = t {
                        self.cells.insert(*at, word.clone());
                    }
                }
                None
            }
        }
    }
}
