//! Golden model of `systolic_ws`: the tile order, the streams a host sends and the results it
//! must get back (an integer GEMM accumulated tile by tile, as the hardware does), and a cycle
//! model that predicts how long a command stream takes.

use super::SystolicParams;

/// One GEMM `C = A · W` with `A` of `m × k` and `W` of `k × n`, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gemm {
    /// Rows of `A` and `C`.
    pub m: usize,
    /// Columns of `A`, rows of `W`.
    pub k: usize,
    /// Columns of `W` and `C`.
    pub n: usize,
    /// W4A8 (4-bit weights) rather than full-width weights.
    pub w4: bool,
    /// `A[i][j]` at `i * k + j`.
    pub a: Vec<i64>,
    /// `W[i][j]` at `i * n + j`.
    pub w: Vec<i64>,
}

impl Gemm {
    /// A GEMM with uniformly random operands over the full range of the mode.
    pub fn random(
        p: &SystolicParams,
        rng: &mut impl rand::RngExt,
        m: usize,
        k: usize,
        n: usize,
        w4: bool,
    ) -> Gemm {
        let (act, wgt) = (p.act_span(), p.weight_span(w4 || !p.has_mode()));
        let mut pick = |lo: i128, hi: i128, len: usize| -> Vec<i64> {
            (0..len).map(|_| rng.random_range(lo as i64..=hi as i64)).collect()
        };
        let a = pick(act.lo, act.hi, m * k);
        let w = pick(wgt.lo, wgt.hi, k * n);
        Gemm { m, k, n, w4: w4 || !p.has_mode(), a, w }
    }

    /// Multiply-accumulates the GEMM needs.
    pub fn macs(&self) -> u64 {
        (self.m * self.k * self.n) as u64
    }

    /// The exact product, `C[i][j]` at `i * n + j`, by the textbook triple loop.
    pub fn exact(&self) -> Vec<i128> {
        let mut c = vec![0i128; self.m * self.n];
        for i in 0..self.m {
            for j in 0..self.n {
                c[i * self.n + j] = (0..self.k)
                    .map(|x| i128::from(self.a[i * self.k + x]) * i128::from(self.w[x * self.n + j]))
                    .sum();
            }
        }
        c
    }
}

/// A GEMM's shape and mode: `(M, K, N, W4A8)`.
pub type Shape = (usize, usize, usize, bool);

/// One weight tile and the activation rows that stream past it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    /// First row of `A` of the chunk.
    pub m0: usize,
    /// Rows of `A` streamed through the tile (the chunk's rows).
    pub rows: usize,
    /// First output column.
    pub n0: usize,
    /// Output columns that exist (at most a tile's worth).
    pub cols: usize,
    /// First K-row.
    pub k0: usize,
    /// K-rows that exist (at most `rows` of the array).
    pub k_rows: usize,
    /// First K-tile of its job: the ring rows start from zero.
    pub first_k: bool,
    /// Last K-tile of its job: its rows leave as results.
    pub last_k: bool,
    /// The last tile of the command.
    pub end: bool,
}

/// The tiles of one command, in the order the hardware runs them: chunks of `acc_rows` rows of
/// `A`, then column tiles, then K-tiles.
pub fn plan(p: &SystolicParams, m: usize, k: usize, n: usize, w4: bool) -> Vec<Tile> {
    let (ar, kr, nc) = (p.acc_rows as usize, p.rows as usize, p.tile_cols(w4) as usize);
    let mut tiles = Vec::new();
    for m0 in (0..m).step_by(ar) {
        for n0 in (0..n).step_by(nc) {
            for k0 in (0..k).step_by(kr) {
                tiles.push(Tile {
                    m0,
                    rows: ar.min(m - m0),
                    n0,
                    cols: nc.min(n - n0),
                    k0,
                    k_rows: kr.min(k - k0),
                    first_k: k0 == 0,
                    last_k: k0 + kr >= k,
                    end: m0 + ar >= m && n0 + nc >= n && k0 + kr >= k,
                });
            }
        }
    }
    tiles
}

/// Packs fields into little-endian 32-bit words, as stream beats travel in frames.
#[derive(Debug, Clone, Default)]
pub struct Packer {
    words: Vec<u32>,
    bits: u32,
}

impl Packer {
    /// Appends the low `width` bits of `value` (two's complement for negatives).
    pub fn put(&mut self, value: i64, width: u32) {
        let mut v = value as u64;
        let mut left = width;
        while left > 0 {
            let at = self.bits % 32;
            if at == 0 {
                self.words.push(0);
            }
            let take = left.min(32 - at);
            let chunk = (v & ((1u64 << take) - 1)) as u32;
            *self.words.last_mut().expect("pushed above") |= chunk << at;
            v = v.checked_shr(take).unwrap_or(0);
            left -= take;
            self.bits += take;
        }
    }

    /// The packed words.
    pub fn finish(self) -> Vec<u32> {
        self.words
    }
}

/// `values` of `width` bits each packed as [`Packer::put`] does, value 0 lowest.
pub fn pack(values: impl IntoIterator<Item = i64>, width: u32) -> Vec<u32> {
    let mut p = Packer::default();
    values.into_iter().for_each(|v| p.put(v, width));
    p.finish()
}

/// Reads the `width`-bit field starting at bit `at` of little-endian words (the inverse of
/// [`Packer::put`]).
pub fn unpack(words: &[u32], at: u32, width: u32) -> u64 {
    (0..width).fold(0, |v, b| v | u64::from(words[((at + b) / 32) as usize] >> ((at + b) % 32) & 1) << b)
}

/// One command on `cmd_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    /// `M - 1`.
    pub m_minus_1: u64,
    /// `K - 1`.
    pub k_minus_1: u64,
    /// `N - 1`.
    pub n_minus_1: u64,
    /// W4A8 mode.
    pub w4: bool,
}

/// One result beat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultBeat {
    /// `res_data_o` as words.
    pub data: Vec<u32>,
    /// `res_last_o`.
    pub last: bool,
}

/// Everything a host sends for a list of GEMMs, and what it gets back.
#[derive(Debug, Clone, Default)]
pub struct Streams {
    /// Commands, one per GEMM.
    pub commands: Vec<Command>,
    /// Weight beats, all commands in order.
    pub weights: Vec<Vec<u32>>,
    /// Activation beats, all commands in order.
    pub acts: Vec<Vec<u32>>,
    /// Expected result beats, all commands in order.
    pub results: Vec<ResultBeat>,
}

/// Wraps `v` to `bits` bits and returns the bit pattern.
fn wrap(v: i128, bits: u32) -> i64 {
    (v & ((1i128 << bits) - 1)) as i64
}

/// Builds the streams for `gemms`. Slots the hardware must ignore (weights of missing output
/// columns, activations of missing K-rows) are filled from `junk`, so a design that reads them
/// shows it.
pub fn streams(p: &SystolicParams, gemms: &[Gemm], junk: &mut impl FnMut() -> i64) -> Streams {
    let mut s = Streams::default();
    let (aw, ww, acc) = (p.act_width, p.weight_width, p.acc_bits());
    for g in gemms {
        assert!(
            g.m as u64 <= p.max_m && g.k as u64 <= p.max_k && g.n as u64 <= p.max_n,
            "GEMM exceeds max_m/k/n"
        );
        let w4 = g.w4 || !p.has_mode();
        s.commands.push(Command {
            m_minus_1: g.m as u64 - 1,
            k_minus_1: g.k as u64 - 1,
            n_minus_1: g.n as u64 - 1,
            w4,
        });
        let weight = |kk: usize, nn: usize, n_end: usize, junk: &mut dyn FnMut() -> i64| {
            if nn < n_end { g.w[kk * g.n + nn] } else { junk() }
        };
        // Ring rows of the current job: one accumulator per output slot, in lanes as the
        // hardware keeps them (two nibble lanes for W8A8 with 8-bit slots).
        let split = p.lanes() == 2 && !w4;
        let mut ring: Vec<Vec<i128>> = Vec::new();
        for t in plan(p, g.m, g.k, g.n, w4) {
            let n_end = t.n0 + t.cols;
            for r in (0..t.k_rows).rev() {
                let kk = t.k0 + r;
                let mut beat = Packer::default();
                for c in 0..p.cols as usize {
                    if p.lanes() == 2 && w4 {
                        beat.put(weight(kk, t.n0 + 2 * c, n_end, junk), 4);
                        beat.put(weight(kk, t.n0 + 2 * c + 1, n_end, junk), 4);
                    } else {
                        beat.put(weight(kk, t.n0 + c, n_end, junk), ww);
                    }
                }
                s.weights.push(beat.finish());
            }
            let slots = (p.lanes() * p.cols) as usize;
            if t.first_k {
                ring = vec![vec![0; slots]; t.rows];
            }
            for (i, acc_row) in ring.iter_mut().enumerate() {
                let row = t.m0 + i;
                let mut beat = Packer::default();
                for r in 0..p.rows as usize {
                    let v = if r < t.k_rows { g.a[row * g.k + t.k0 + r] } else { junk() };
                    beat.put(v, aw);
                }
                s.acts.push(beat.finish());
                for (slot, sum) in acc_row.iter_mut().enumerate() {
                    let (col, lane) = if split { (slot / 2, slot % 2) } else { (slot, 0) };
                    if t.n0 + col >= n_end || (split && col >= p.cols as usize) {
                        continue;
                    }
                    let dot: i128 = (0..t.k_rows)
                        .map(|r| {
                            let w = g.w[(t.k0 + r) * g.n + t.n0 + col];
                            let part = if !split {
                                w
                            } else if lane == 0 {
                                w & 15
                            } else {
                                w >> 4
                            };
                            i128::from(g.a[row * g.k + t.k0 + r]) * i128::from(part)
                        })
                        .sum();
                    *sum = i128::from(wrap(*sum + dot, acc));
                }
            }
            if t.last_k {
                for (i, acc_row) in ring.iter().enumerate() {
                    let mut beat = Packer::default();
                    for slot in 0..slots {
                        let v = if split {
                            if slot < p.cols as usize {
                                (acc_row[2 * slot + 1] << 4) + acc_row[2 * slot]
                            } else {
                                0
                            }
                        } else {
                            acc_row[slot]
                        };
                        beat.put(wrap(v, acc), acc);
                    }
                    s.results.push(ResultBeat { data: beat.finish(), last: t.end && i + 1 == t.rows });
                }
            }
        }
    }
    s
}

/// Cycles `gemms` would take with every PE doing useful work every cycle: their
/// multiply-accumulates over the peak of their modes.
pub fn ideal_cycles(p: &SystolicParams, gemms: &[Shape]) -> f64 {
    gemms.iter().map(|&(m, k, n, w4)| (m * k * n) as f64 / p.peak_macs(w4) as f64).sum()
}

/// What the cycle model predicts for a command stream.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Prediction {
    /// Cycle of the first command's transfer (cycle 0 is the reset cycle).
    pub start: u64,
    /// Cycle of the last result's transfer.
    pub end: u64,
    /// `end - start + 1`.
    pub cycles: u64,
    /// Useful multiply-accumulates over peak ones in those cycles.
    pub utilization: f64,
}

/// Timing of the hardware, row by row, assuming every stream is always valid and ready and the
/// commands are queued from cycle 1 on. It follows the rules of the sequencer, not its
/// registers:
/// - a weight load takes `rows` cycles; it starts once the previous tile has been switched in
///   and the switch wave has cleared the chain (`cols - 1` cycles later);
/// - a tile's last activation row waits for the next tile's weights and carries the switch; the
///   first tile is switched in by a bubble; a one-row tile is followed by a spare cycle;
/// - a row of a job's first K-tile takes a ring row, which is free again when the reader has
///   read the job's result for it; the ring holds `2·acc_rows` rows;
/// - results leave [`SystolicParams::result_latency`] cycles after their row, one per cycle.
pub fn predict(p: &SystolicParams, gemms: &[Shape]) -> Prediction {
    let (r, c) = (u64::from(p.rows), u64::from(p.cols));
    let mut tiles = Vec::new();
    for &(m, k, n, w4) in gemms {
        let planned = plan(p, m, k, n, w4);
        tiles.extend(planned.iter().enumerate().map(|(i, t)| (i == 0, *t)));
    }
    let count = tiles.len();
    let start = 1u64;
    let guard = (c - 1).max(1);
    let read_after = r + c + 2; // the reader reads a finished row this long after its issue
    let mut cmd_fire = start;
    let load_end_of = |j: usize, prev_load_end: u64, prev_switch: Option<u64>, cmd_fire: &mut u64| {
        let (opens, _) = tiles[j];
        let mut from = if opens {
            if j > 0 {
                *cmd_fire = prev_load_end + 1;
            }
            *cmd_fire + 1
        } else {
            prev_load_end + 1
        };
        if let Some(sw) = prev_switch {
            from = from.max(sw + guard);
        }
        from + r - 1
    };
    let mut load_end = load_end_of(0, 0, None, &mut cmd_fire);
    let mut switch = load_end + 1;
    let mut spare = 0;
    // Ring rows in allocation order: the cycle each is read (free from the next cycle on).
    let mut ring: std::collections::VecDeque<u64> = std::collections::VecDeque::new();
    let mut allocated = 0usize; // ring rows taken so far
    let mut freed = 0usize; // ring rows dropped from the front of `ring`
    let mut job_first = 0usize; // allocation index of the current job's first row
    let (mut last_read, mut result_at) = (0u64, 0u64);
    for (j, &(_, t)) in tiles.iter().enumerate() {
        // The next tile's load may start once this tile is switched in.
        let next_load_end =
            (j + 1 < count).then(|| load_end_of(j + 1, load_end, Some(switch), &mut cmd_fire));
        if t.first_k {
            job_first = allocated;
        }
        let mut at = switch + spare;
        for i in 0..t.rows {
            at += 1;
            if t.first_k {
                while ring.front().is_some_and(|&read| read < at) {
                    ring.pop_front();
                    freed += 1;
                }
                if ring.len() as u64 >= p.ring_rows() {
                    at = at.max(ring.pop_front().expect("full") + 1);
                    freed += 1;
                }
                ring.push_back(u64::MAX);
                allocated += 1;
            }
            if i + 1 == t.rows
                && let Some(ready) = next_load_end
            {
                at = at.max(ready + 1);
            }
            if t.last_k {
                last_read = (at + read_after).max(last_read + 1);
                result_at = last_read + p.result_latency() - read_after;
                let slot = job_first + i - freed;
                ring[slot] = last_read;
            }
        }
        spare = u64::from(t.rows == 1);
        if let Some(ready) = next_load_end {
            load_end = ready;
            switch = at;
        }
    }
    let cycles = result_at - start + 1;
    Prediction { start, end: result_at, cycles, utilization: ideal_cycles(p, gemms) / cycles as f64 }
}
