//! Cycles of one job on a die: the block's own cycle model (its `golden::predict`, the one the
//! block tests hold exact against co-simulation) and the die's fabric, which moves one
//! `fabric_bits` word per cycle on each stream. A job takes the longer of the two, plus the
//! die's stream latency ([`DIE_LATENCY`]); a long GEMM is extrapolated from the cycle model on
//! a few chunks of rows (its steady state repeats per chunk).

use crate::blocks::attention::SpatialAttentionParams;
use crate::blocks::systolic::SystolicParams;
use crate::blocks::temporal::TemporalAttentionParams;

/// Cycles a die adds to a job streamed from its memories: the DMA read and its FIFO, the
/// switch, the width converters on the way in and out, the host stream.
pub const DIE_LATENCY: u64 = 6;

/// Cycles of one part of a step on one die.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Cycles {
    /// What the block's cycle model says, its inputs always there.
    pub compute: u64,
    /// The busiest stream's fabric words: the least the die's switch needs.
    pub fabric: u64,
}

impl Cycles {
    /// The job's cycles on the die.
    pub fn total(&self) -> u64 {
        self.compute.max(self.fabric) + DIE_LATENCY
    }

    /// `compute` or `fabric`, whichever bounds the job.
    pub fn bound(&self) -> &'static str {
        if self.fabric > self.compute { "fabric" } else { "compute" }
    }

    /// Sum of two parts run one after the other.
    pub fn then(self, other: Cycles, times: u64) -> Cycles {
        Cycles { compute: self.compute + other.compute * times, fabric: self.fabric + other.fabric * times }
    }
}

/// Fabric words of `beats` beats of `width` bits.
fn words(beats: u64, width: u32, fabric: u32) -> u64 {
    beats * u64::from(width.div_ceil(fabric))
}

/// The GEMM `[m × k] · [k × n]` on the array `p` behind a `fabric`-bit switch.
pub fn gemm(p: &SystolicParams, fabric: u32, m: u64, k: u64, n: u64, w4: bool) -> Cycles {
    use crate::blocks::systolic::golden::predict;
    let w4 = w4 || !p.has_mode();
    let ar = p.acc_rows;
    let direct = |rows: u64| predict(p, &[(rows as usize, k as usize, n as usize, w4)]).cycles;
    let chunks = m.div_ceil(ar);
    let compute = if chunks <= 4 {
        direct(m)
    } else {
        // Chunks after the second repeat exactly; the last one may be short.
        let (c2, c3) = (direct(2 * ar), direct(3 * ar));
        let tail = m - (chunks - 1) * ar;
        let last = direct(2 * ar + tail) - c2;
        c3 + (chunks - 4) * (c3 - c2) + last
    };
    let col_tiles = n.div_ceil(u64::from(p.tile_cols(w4)));
    let k_tiles = k.div_ceil(u64::from(p.rows));
    let res_width = p.lanes() * p.cols * p.acc_bits() + 1;
    let fabric = [
        words(m * col_tiles * k_tiles, p.rows * p.act_width, fabric),
        words(chunks * col_tiles * k, p.cols * p.weight_width, fabric),
        words(m * col_tiles, res_width, fabric),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    Cycles { compute, fabric }
}

/// One head's attention over `n` tokens (query tiles of `bq` against all `n` keys) on one lane
/// of the engine `p` (a lane per head: `lanes` heads run side by side).
pub fn spatial(p: &SpatialAttentionParams, fabric: u32, n: u64, causal: bool) -> Cycles {
    use crate::blocks::attention::golden::{Job, predict};
    let jobs = Job::whole(p, n as usize, causal);
    let compute = predict(p, &jobs).cycles;
    let blocks: u64 = jobs.iter().map(|j| j.blocks(p) as u64).sum();
    let (d, bk, lanes) = (p.d, p.bk, p.lanes);
    let fabric = [
        words(n, lanes * d * p.q_width, fabric),
        words(blocks * u64::from(d), lanes * bk * 8, fabric),
        words(blocks * u64::from(bk), lanes * d * 8, fabric),
        words(n, lanes * d * p.out_width + 1, fabric),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    Cycles { compute, fabric }
}

/// Full temporal attention over `frames` frames for `positions` positions and `heads` heads on
/// the engine `p` (`lanes` positions at a time): the latent (a token per position and frame
/// holding Q, K and V of every head) written into the engine's buffer, then the passes.
pub fn temporal(p: &TemporalAttentionParams, fabric: u32, frames: u64, positions: u64, heads: u64) -> Cycles {
    use crate::blocks::latent::golden::Mapping;
    use crate::blocks::temporal::golden::{Command, predict};
    let lanes = u64::from(p.lanes);
    let frames = frames.min(u64::from(p.t_max));
    let map = Mapping::new(&p.buffer(), 3);
    let run = |groups: u64| -> u64 {
        let cmd = Command::frame_major(p, frames as usize, groups * lanes, 1, 0);
        let pr = predict(p, &map, &[cmd], 1);
        pr.out_cycles.last().copied().unwrap_or(1)
    };
    // A job (a group of positions for one head) repeats after the first.
    let (one, two) = (run(1), run(2));
    let jobs = positions.div_ceil(lanes) * heads;
    let compute = one + jobs.saturating_sub(1) * (two - one);
    let out_width = p.lanes * p.d * p.out_width + crate::hdl::index_bits(u64::from(p.t_max)) + p.lanes + 1;
    // The latent goes in through `wr` first: Q, K and V words of every position, frame and head.
    let b = p.buffer();
    let wr_width = b.token_width() + b.pitch_width + b.write_words * (1 + b.word_width);
    // A token holds Q, K and V of every head (pitch 3·heads words) and takes whole write beats.
    let wr_beats = positions * frames * (3 * heads).div_ceil(u64::from(b.write_words));
    // The passes start once the latent is in: the writes come first, then the slower of the
    // passes and their output.
    let writes = words(wr_beats, wr_width, fabric);
    Cycles { compute: writes + compute, fabric: writes + words(jobs * frames, out_width, fabric) }
}

/// `queries` query rows against `keys` keys per head (cross-attention to the text) on one lane.
pub fn cross(p: &SpatialAttentionParams, fabric: u32, queries: u64, keys: u64) -> Cycles {
    use crate::blocks::attention::golden::{Job, predict};
    let bq = p.bq;
    let tiles = queries.div_ceil(bq);
    // Tiles repeat: time two and four of them and extrapolate.
    let time =
        |t: u64| predict(p, &vec![Job::shape(bq as usize, keys as usize, false, 0); t as usize]).cycles;
    let compute = if tiles <= 4 {
        time(tiles)
    } else {
        let (a, b) = (time(2), time(4));
        b + (tiles - 4) * (b - a) / 2
    };
    let blocks = tiles * keys.div_ceil(u64::from(p.bk));
    let fabric = words(blocks * u64::from(p.d), p.lanes * p.bk * 8, fabric).max(words(
        queries,
        p.lanes * p.d * p.out_width + 1,
        fabric,
    ));
    Cycles { compute, fabric }
}
