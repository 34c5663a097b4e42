//! Golden model of `spatial_attention`: the blocks a command computes, the streams a host sends,
//! the bit-exact outputs (integer scores, the `online_softmax` row unit's model, integer `P·V`,
//! the rescaled accumulator, the final `1/l`), an f64 exact attention to measure them against,
//! and a cycle model.

use super::{KV_WIDTH, SpatialAttentionParams};
use crate::blocks::softmax::OnlineSoftmaxParams;
use crate::blocks::softmax::golden::{Beat, RowUnit};
use crate::blocks::systolic::golden::Packer;
use rand::RngExt;
use rand::rngs::StdRng;

/// One head's operands: `rows × d` queries, `keys × d` keys and values (row-major, signed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Query rows.
    pub q: Vec<Vec<i64>>,
    /// Key rows: at least every key of every block the command computes.
    pub k: Vec<Vec<i64>>,
    /// Value rows, as many as key rows.
    pub v: Vec<Vec<i64>>,
}

/// One command: a query tile of every lane against its key sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Query rows of the tile (1..=bq).
    pub rows: usize,
    /// Keys that count (1..=max_keys).
    pub len: usize,
    /// Causal mask: row `i` sees keys `0..=q_pos + i`.
    pub causal: bool,
    /// Position of the tile's first query row.
    pub q_pos: usize,
    /// One head per lane.
    pub heads: Vec<Head>,
}

impl Job {
    /// Keys past which no row of the tile looks.
    pub fn limit(&self) -> usize {
        if self.causal { self.len.min(self.q_pos + self.rows) } else { self.len }
    }

    /// Keys that count for row `i`.
    pub fn row_limit(&self, i: usize) -> usize {
        if self.causal { self.len.min(self.q_pos + i + 1) } else { self.len }
    }

    /// Key blocks the command computes.
    pub fn blocks(&self, p: &SpatialAttentionParams) -> usize {
        self.limit().div_ceil(p.bk as usize)
    }

    /// Whether key `j` counts for row `i`.
    pub fn counts(&self, i: usize, j: usize) -> bool {
        j < self.row_limit(i)
    }

    /// Multiply-accumulates of both meshes over the blocks computed.
    pub fn macs(&self, p: &SpatialAttentionParams) -> u64 {
        (self.rows * self.blocks(p)) as u64 * p.peak_macs()
    }

    /// A job's shape without operands (enough for [`predict`]).
    pub fn shape(rows: usize, len: usize, causal: bool, q_pos: usize) -> Job {
        Job { rows, len, causal, q_pos, heads: Vec::new() }
    }

    /// A whole attention over `n` tokens in tiles of `bq` queries: tile `t` holds queries
    /// `t·bq ..` against all `n` keys (causal: against keys up to each query).
    pub fn whole(p: &SpatialAttentionParams, n: usize, causal: bool) -> Vec<Job> {
        let bq = p.bq as usize;
        (0..n.div_ceil(bq)).map(|t| Job::shape(bq.min(n - t * bq), n, causal, t * bq)).collect()
    }

    /// The same shape with random operands (see [`Job::random`]).
    pub fn with_operands(&self, p: &SpatialAttentionParams, rng: &mut StdRng) -> Job {
        Job::random(p, rng, self.rows, self.len, self.causal, self.q_pos)
    }

    /// A job of random operands: queries of `q_width` bits, keys and values of 8; key rows for
    /// every block computed (padding past `len` is random too, the hardware must ignore it).
    pub fn random(
        p: &SpatialAttentionParams,
        rng: &mut StdRng,
        rows: usize,
        len: usize,
        causal: bool,
        q_pos: usize,
    ) -> Job {
        let mut job = Job::shape(rows, len, causal, q_pos);
        let keys = job.blocks(p) * p.bk as usize;
        let d = p.d as usize;
        let qmax = 1i64 << (p.q_width - 1);
        let vmax = 1i64 << (KV_WIDTH - 1);
        let mut matrix = |n: usize, max: i64| -> Vec<Vec<i64>> {
            (0..n).map(|_| (0..d).map(|_| rng.random_range(-max..max)).collect()).collect()
        };
        for _ in 0..p.lanes {
            let (q, k, v) = (matrix(rows, qmax), matrix(keys, vmax), matrix(keys, vmax));
            job.heads.push(Head { q, k, v });
        }
        job
    }
}

/// `O[i][c] · 2^out_frac` from an accumulator, `1/l ≈ inv_l · 2^-(recip_frac + inv_exp)` and the
/// probabilities' `2^-prob_width`: `o · inv_l >> s` rounded half up, saturated to `out_width`.
pub fn normalise(p: &SpatialAttentionParams, o: i64, inv_l: u64, inv_exp: i64) -> i64 {
    normalise_with(&p.softmax(), p.out_width, p.out_frac, o, inv_l, inv_exp)
}

/// [`normalise`] for any lane: the row unit `sp`, outputs of `out_width` bits with `out_frac`
/// fraction bits.
pub fn normalise_with(
    sp: &OnlineSoftmaxParams,
    out_width: u32,
    out_frac: u32,
    o: i64,
    inv_l: u64,
    inv_exp: i64,
) -> i64 {
    let s = i64::from(sp.prob_width + sp.recip_frac()) + inv_exp - i64::from(out_frac);
    let product = i128::from(o) * i128::from(inv_l);
    let rounded = ((product >> (s - 1)) + 1) >> 1;
    let top = (1i128 << (out_width - 1)) - 1;
    rounded.clamp(-top - 1, top) as i64
}

/// One head of a job through the lane, bit for bit: the output rows (`rows × d`, in units of
/// `2^-out_frac`).
pub fn run_head(p: &SpatialAttentionParams, job: &Job, head: &Head) -> Vec<Vec<i64>> {
    let (d, bk) = (p.d as usize, p.bk as usize);
    let mut unit = RowUnit::new(&p.softmax());
    let blocks = job.blocks(p);
    let mut acc = vec![vec![0i64; d]; job.rows];
    let mut out = vec![vec![0i64; d]; job.rows];
    for b in 0..blocks {
        for i in 0..job.rows {
            let keys = b * bk..(b + 1) * bk;
            let scores: Vec<i64> =
                keys.clone().map(|j| (0..d).map(|k| head.q[i][k] * head.k[j][k]).sum()).collect();
            let keep: Vec<bool> = keys.clone().map(|j| job.counts(i, j)).collect();
            let beat = Beat { scores, keep, row: i as u64, first: b == 0, last: b + 1 == blocks };
            let r = unit.beat(&beat);
            for c in 0..d {
                let pv: i64 = keys.clone().zip(&r.prob).map(|(j, &pj)| pj as i64 * head.v[j][c]).sum();
                acc[i][c] = if b == 0 { pv } else { (acc[i][c] >> r.shift.min(63)) + pv };
                if r.last {
                    out[i][c] = normalise(p, acc[i][c], r.inv_l, r.inv_exp);
                }
            }
        }
    }
    out
}

/// Exact attention in f64 on the same integer operands, with the exact `scale` (base 2):
/// `O[i] = Σ_j 2^(s_ij · scale − max) V[j] / Σ_j 2^(s_ij · scale − max)` over the keys that count.
pub fn reference_head(p: &SpatialAttentionParams, job: &Job, head: &Head) -> Vec<Vec<f64>> {
    let d = p.d as usize;
    (0..job.rows)
        .map(|i| {
            let keys = job.row_limit(i);
            let y: Vec<f64> = (0..keys)
                .map(|j| (0..d).map(|k| (head.q[i][k] * head.k[j][k]) as f64).sum::<f64>() * p.scale)
                .collect();
            let top = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = y.iter().map(|v| (v - top).exp2()).collect();
            let l: f64 = e.iter().sum();
            (0..d).map(|c| (0..keys).map(|j| e[j] * head.v[j][c] as f64).sum::<f64>() / l).collect()
        })
        .collect()
}

/// One command on `cmd_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    /// `rows - 1`.
    pub rows_minus_1: u64,
    /// `len - 1`.
    pub len_minus_1: u64,
    /// Causal mask.
    pub causal: bool,
    /// Position of the first query row.
    pub q_pos: u64,
}

/// One output beat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutBeat {
    /// `out_data_o` as words.
    pub data: Vec<u32>,
    /// `out_last_o`.
    pub last: bool,
}

/// Everything a host sends for a list of jobs, and what it gets back.
#[derive(Debug, Clone, Default)]
pub struct Streams {
    /// One command per job.
    pub commands: Vec<Command>,
    /// Query beats.
    pub q: Vec<Vec<u32>>,
    /// Key beats (transposed blocks).
    pub k: Vec<Vec<u32>>,
    /// Value beats.
    pub v: Vec<Vec<u32>>,
    /// Expected output beats.
    pub out: Vec<OutBeat>,
}

/// Builds the streams of `jobs` (every lane's head side by side, lane 0 in the low bits) and the
/// outputs the golden model expects.
pub fn streams(p: &SpatialAttentionParams, jobs: &[Job]) -> Streams {
    let (d, bk) = (p.d as usize, p.bk as usize);
    let mut s = Streams::default();
    for job in jobs {
        assert!(job.rows >= 1 && job.rows as u64 <= p.bq, "rows out of range");
        assert!(job.len >= 1 && job.len as u64 <= p.max_keys && (job.q_pos as u64) < p.max_keys);
        s.commands.push(Command {
            rows_minus_1: job.rows as u64 - 1,
            len_minus_1: job.len as u64 - 1,
            causal: job.causal,
            q_pos: job.q_pos as u64,
        });
        let beat = |f: &dyn Fn(&Head, &mut Packer)| {
            let mut pk = Packer::default();
            job.heads.iter().for_each(|h| f(h, &mut pk));
            pk.finish()
        };
        for i in 0..job.rows {
            s.q.push(beat(&|h, pk| h.q[i].iter().for_each(|&x| pk.put(x, p.q_width))));
        }
        for b in 0..job.blocks(p) {
            for t in 0..d {
                s.k.push(beat(&|h, pk| (0..bk).for_each(|c| pk.put(h.k[b * bk + c][d - 1 - t], KV_WIDTH))));
            }
            for t in 0..bk {
                s.v.push(beat(&|h, pk| h.v[b * bk + bk - 1 - t].iter().for_each(|&x| pk.put(x, KV_WIDTH))));
            }
        }
        let outs: Vec<Vec<Vec<i64>>> = job.heads.iter().map(|h| run_head(p, job, h)).collect();
        for i in 0..job.rows {
            let mut pk = Packer::default();
            outs.iter().for_each(|o| o[i].iter().for_each(|&x| pk.put(x, p.out_width)));
            s.out.push(OutBeat { data: pk.finish(), last: i + 1 == job.rows });
        }
    }
    s
}

/// Cycles with both meshes doing useful work every cycle: the blocks' multiply-accumulates over
/// the lane's peak.
pub fn ideal_cycles(p: &SpatialAttentionParams, jobs: &[Job]) -> u64 {
    jobs.iter().map(|j| j.macs(p)).sum::<u64>() / p.peak_macs()
}

/// What the cycle model predicts for a list of jobs.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Cycle of every output transfer (cycle 0 is the reset cycle).
    pub out_cycles: Vec<u64>,
    /// Cycles from the first after reset to the last output, inclusive.
    pub cycles: u64,
    /// Multiply-accumulates of the computed blocks over `cycles × peak`.
    pub utilization: f64,
}

/// A block's descriptor in the cycle model.
#[derive(Debug, Clone, Copy, Default)]
struct Desc {
    rows: u64,
    first: bool,
    last: bool,
}

/// Timing of the engine with every input stream always valid and `out` always ready, cycle by
/// cycle. It follows the rules of the datasheet, not the registers of the RTL:
/// - a command is taken when the key loader is idle; the loader loads the command's blocks, `d`
///   beats each, a block starting `bk - 1` cycles after the previous switch at the earliest;
/// - value rows are staged whenever the staging queue has room; a staged block is shifted into
///   the output mesh (`bk` cycles) `d - 1` cycles after that mesh switched, which happens
///   [`SpatialAttentionParams::value_offset`] cycles after the score mesh did;
/// - query rows enter the ring whenever it has room; a row is issued when it is in the ring,
///   the tile's first block finds a free output row, and the last row of a block waits until the
///   next block's keys are loaded and its values staged (it goes alone when nothing follows);
///   a one-row block is followed by a spare cycle;
/// - a row's output is read `value_offset + bk + d + 2` cycles after its last block's issue (or
///   a cycle after the previous read) and leaves 3 cycles after the read.
pub fn predict(p: &SpatialAttentionParams, jobs: &[Job]) -> Prediction {
    let (d, bk, ring) = (u64::from(p.d), u64::from(p.bk), p.ring_rows());
    let depth = p.stage_rows();
    let blocks: Vec<u64> = jobs.iter().map(|j| j.blocks(p) as u64).collect();
    let total_k = blocks.iter().sum::<u64>() * d;
    let total_v = blocks.iter().sum::<u64>() * bk;
    let total_q: u64 = jobs.iter().map(|j| j.rows as u64).sum();
    let offset = p.value_offset();
    let write_after = offset + 1 + bk + d;
    let (mut next_cmd, mut busy, mut c_rows, mut c_limit, mut key_base) = (0usize, false, 0u64, 0u64, 0u64);
    let (mut k_sent, mut beat_k, mut have_k, mut guard_k) = (0u64, 0u64, false, 0u64);
    let (mut v_sent, mut v_count, mut v_beat_in, mut v_blocks) = (0u64, 0u64, 0u64, 0u64);
    let (mut beat_v, mut have_v, mut guard_v) = (0u64, false, 0u64);
    let (mut q_sent, mut q_held) = (0u64, 0u64);
    let (mut next, mut cur) = (Desc::default(), Desc::default());
    let (mut active, mut row, mut cool, mut o_used) = (false, 0u64, false, 0u64);
    let (mut ready_rows, mut outstanding, mut queued) = (0u64, 0u64, 0u64);
    let mut switches: Vec<bool> = vec![false]; // by cycle
    let mut finals: Vec<bool> = vec![false]; // a last-block row issued, by cycle
    let mut reads: Vec<bool> = vec![false];
    let mut out_cycles = Vec::new();
    let mut cycle = 0u64;
    while (out_cycles.len() as u64) < total_q {
        cycle += 1;
        assert!(cycle < 1 << 40, "the cycle model does not finish");
        let past = |v: &Vec<bool>, back: u64| cycle >= back && v[(cycle - back) as usize];
        // Combinational decisions of this cycle.
        let cmd_fire = next_cmd < jobs.len() && !busy;
        let k_ready = busy && !have_k && (beat_k != 0 || guard_k == 0);
        let k_fire = k_ready && k_sent < total_k;
        let k_loaded = k_fire && beat_k == d - 1;
        let last_block = key_base + bk >= c_limit;
        let v_push = v_sent < total_v && v_count < depth;
        let v_fire = !have_v && (beat_v != 0 || (guard_v == 0 && v_count >= bk));
        let v_loaded = v_fire && beat_v == bk - 1;
        let pv_switch = past(&switches, offset);
        let next_ok = have_k && v_blocks != 0;
        let at_last = row + 1 == cur.rows;
        let nothing_next = !busy && !have_k;
        let space = !cur.first || o_used < ring;
        let row_fire = active && !cool && space && row < q_held && (!at_last || next_ok || nothing_next);
        let switch = (row_fire && at_last && next_ok) || (!active && next_ok && !cool);
        let block_done = row_fire && at_last;
        let tile_end = block_done && cur.last;
        let final_issue = row_fire && cur.last;
        let q_push = q_sent < total_q && q_held < ring;
        let read = ready_rows != 0 && outstanding < 4;
        let pop = queued != 0;
        if pop {
            out_cycles.push(cycle);
        }
        let final_write = past(&finals, write_after);
        let push = past(&reads, 2);
        // Register updates at the end of the cycle.
        if cmd_fire {
            let j = &jobs[next_cmd];
            next_cmd += 1;
            (busy, c_rows, c_limit, key_base) = (true, j.rows as u64, j.limit() as u64, 0);
        } else if k_loaded {
            next = Desc { rows: c_rows, first: key_base == 0, last: last_block };
            busy = !last_block;
            key_base += bk;
        }
        if k_fire {
            k_sent += 1;
            beat_k = if k_loaded { 0 } else { beat_k + 1 };
        }
        have_k = if k_loaded { true } else { have_k && !switch };
        guard_k = if switch { bk.saturating_sub(2) } else { guard_k.saturating_sub(1) };
        if v_push {
            v_sent += 1;
            if v_beat_in == bk - 1 {
                v_beat_in = 0;
                v_blocks += 1;
            } else {
                v_beat_in += 1;
            }
        }
        v_blocks -= u64::from(switch);
        v_count = v_count + u64::from(v_push) - u64::from(v_fire);
        if v_fire {
            beat_v = if v_loaded { 0 } else { beat_v + 1 };
        }
        have_v = if v_loaded { true } else { have_v && !pv_switch };
        guard_v = if pv_switch { d.saturating_sub(2) } else { guard_v.saturating_sub(1) };
        let released = if tile_end { cur.rows } else { 0 };
        q_held = q_held + u64::from(q_push) - released;
        q_sent += u64::from(q_push);
        o_used = o_used + u64::from(row_fire && cur.first) - u64::from(read);
        ready_rows = ready_rows + u64::from(final_write) - u64::from(read);
        outstanding = outstanding + u64::from(read) - u64::from(pop);
        queued = queued + u64::from(push) - u64::from(pop);
        cool = block_done && cur.rows == 1;
        if switch {
            cur = next;
            active = true;
            row = 0;
        } else {
            active = active && !block_done;
            row += u64::from(row_fire);
        }
        switches.push(switch);
        finals.push(final_issue);
        reads.push(read);
    }
    let cycles = out_cycles.last().copied().unwrap_or(0);
    let macs: u64 = jobs.iter().map(|j| j.macs(p)).sum();
    Prediction { out_cycles, cycles, utilization: macs as f64 / (cycles as f64 * p.peak_macs() as f64) }
}
