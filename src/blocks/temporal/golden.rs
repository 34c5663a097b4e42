//! Golden models of `temporal_attention`: the mask, a command's layout and its check (naming the
//! field at fault), the addresses it reads, one lane's job bit for bit, an f64 reference, and
//! the output beats of a command on a buffer's contents.

use super::{DATA_WIDTH, TemporalAttentionParams};
use crate::blocks::FieldIssue;
use crate::blocks::attention::golden::normalise_with;
use crate::blocks::latent::golden::{Beat as BufferBeat, Buffer, Mapping, Word};
use crate::blocks::softmax::golden::{Beat, RowUnit};

/// Which key frames a query frame sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mask {
    /// Frame `i` sees frames `0..=i` only.
    pub causal: bool,
    /// `W > 0`: frame `i` sees frames `j` with `|i − j| < W` (with `causal`, `i − W < j ≤ i`).
    pub window: u32,
    /// Bit `j`: key frame `j` is seen by no frame.
    pub skip: u64,
}

impl Mask {
    /// Whether key `j` counts for query `i` in a sequence of `frames` frames.
    pub fn keeps(&self, frames: usize, i: usize, j: usize) -> bool {
        let w = self.window as usize;
        j < frames
            && self.skip >> j & 1 == 0
            && (!self.causal || j <= i)
            && (w == 0 || (j + w > i && (self.causal || i + w > j)))
    }

    /// Kept pairs of a job.
    pub fn pairs(&self, frames: usize) -> u64 {
        (0..frames).map(|i| (0..frames).filter(|&j| self.keeps(frames, i, j)).count() as u64).sum()
    }

    /// Cycles a lane spends on a job: one per kept pair, one for a row with none.
    pub fn cycles(&self, frames: usize) -> u64 {
        (0..frames).map(|i| ((0..frames).filter(|&j| self.keeps(frames, i, j)).count() as u64).max(1)).sum()
    }
}

/// One command: a pass over a tile of `positions` positions, `heads` heads, `frames` frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// `T`.
    pub frames: usize,
    /// `P`.
    pub positions: u64,
    /// `H`.
    pub heads: u64,
    /// Packed address of Q, frame 0, position 0, head 0.
    pub base: u64,
    /// Packed address step per frame.
    pub frame_stride: u64,
    /// Packed address step from Q to K and from K to V.
    pub tensor_stride: u64,
    /// Packed address step per head.
    pub head_stride: u64,
    /// Packed address step per position.
    pub pos_stride: u64,
    /// The mask.
    pub mask: Mask,
}

impl Command {
    /// A frame-major layout (`[T][P][R]` tokens of `R` words, Q, K, V of all heads in one token:
    /// `tensor_stride = heads`) starting at token `first`.
    pub fn frame_major(
        p: &TemporalAttentionParams,
        frames: usize,
        positions: u64,
        heads: u64,
        first: u64,
    ) -> Self {
        let tok = 1u64 << p.pitch_width;
        Command {
            frames,
            positions,
            heads,
            base: first * tok,
            frame_stride: positions * tok,
            tensor_stride: heads,
            head_stride: 1,
            pos_stride: tok,
            mask: Mask::default(),
        }
    }

    /// A position-major layout (`[P][T][R]`: the frames of a position are neighbours).
    pub fn position_major(
        p: &TemporalAttentionParams,
        frames: usize,
        positions: u64,
        heads: u64,
        first: u64,
    ) -> Self {
        let tok = 1u64 << p.pitch_width;
        Command {
            frame_stride: tok,
            pos_stride: frames as u64 * tok,
            ..Self::frame_major(p, frames, positions, heads, first)
        }
    }

    /// Groups of `lanes` positions.
    pub fn groups(&self, p: &TemporalAttentionParams) -> u64 {
        self.positions.div_ceil(u64::from(p.lanes))
    }

    /// Packed address of frame `t` of tensor `x` (0 Q, 1 K, 2 V), head `h`, position `pos`.
    pub fn address(&self, t: usize, x: u64, h: u64, pos: u64) -> u64 {
        self.base
            + t as u64 * self.frame_stride
            + x * self.tensor_stride
            + h * self.head_stride
            + pos * self.pos_stride
    }

    /// The highest address the command reads.
    pub fn top_address(&self) -> u128 {
        u128::from(self.base)
            + (self.frames.max(1) as u128 - 1) * u128::from(self.frame_stride)
            + 2 * u128::from(self.tensor_stride)
            + (u128::from(self.heads.max(1)) - 1) * u128::from(self.head_stride)
            + (u128::from(self.positions.max(1)) - 1) * u128::from(self.pos_stride)
    }

    /// Whether the engine runs this command, naming the field at fault when it does not.
    pub fn check(&self, p: &TemporalAttentionParams) -> Result<(), FieldIssue> {
        let err = |field: &str, message: String| Err(FieldIssue { field: field.into(), message });
        let t_max = p.t_max as usize;
        if self.frames == 0 || self.frames > t_max {
            return err("frames", format!("T = {} must be in 1..={t_max} (t_max)", self.frames));
        }
        if self.mask.window as usize > self.frames {
            return err(
                "window",
                format!("W = {} is more than T = {} frames", self.mask.window, self.frames),
            );
        }
        if self.mask.skip >> self.frames != 0 {
            return err("skip", format!("bits at or above frame T = {} are set", self.frames));
        }
        if self.positions < u64::from(p.lanes) {
            return err(
                "positions",
                format!("{} positions leave lanes idle: the engine has {} lanes", self.positions, p.lanes),
            );
        }
        let tokens = 1u64 << p.buffer().token_width();
        if self.positions > tokens {
            return err("positions", format!("{} positions do not fit {tokens} tokens", self.positions));
        }
        if self.heads == 0 || self.heads > 1 << p.pitch_width {
            return err("heads", format!("H = {} must be in 1..={}", self.heads, 1u64 << p.pitch_width));
        }
        let space = 1u128 << p.addr_width();
        let parts = [
            ("base", u128::from(self.base)),
            ("frame_stride", (self.frames as u128 - 1) * u128::from(self.frame_stride)),
            ("tensor_stride", 2 * u128::from(self.tensor_stride)),
            ("head_stride", (u128::from(self.heads) - 1) * u128::from(self.head_stride)),
            ("pos_stride", (u128::from(self.positions) - 1) * u128::from(self.pos_stride)),
        ];
        let mut sum = 0u128;
        for (field, part) in parts {
            sum += part;
            if sum >= space {
                return err(
                    field,
                    format!(
                        "the command reaches address {} of a {}-bit address space",
                        self.top_address(),
                        p.addr_width()
                    ),
                );
            }
        }
        Ok(())
    }

    /// The read beats the command sends to the buffer, in order: per group, head, tensor, frame
    /// (see [`Command::read_beat`]).
    pub fn read_beats(&self, p: &TemporalAttentionParams) -> Vec<BufferBeat> {
        let mut beats = Vec::new();
        for g in 0..self.groups(p) {
            for h in 0..self.heads {
                for x in 0..3 {
                    for t in 0..self.frames {
                        beats.push(self.read_beat(p, g, h, x, t));
                    }
                }
            }
        }
        beats
    }

    /// The read beat of frame `t` of tensor `x`, head `h`, group `g`: one request per lane
    /// (not kept where the lane holds no position).
    pub fn read_beat(&self, p: &TemporalAttentionParams, g: u64, h: u64, x: u64, t: usize) -> BufferBeat {
        let (l, pw) = (u64::from(p.lanes), p.pitch_width);
        let addrs: Vec<u64> = (0..l).map(|ln| self.address(t, x, h, g * l + ln)).collect();
        BufferBeat::Read {
            token: addrs.iter().map(|a| a >> pw).collect(),
            word: addrs.iter().map(|a| a & ((1 << pw) - 1)).collect(),
            keep: (0..l).map(|ln| g * l + ln < self.positions).collect(),
        }
    }

    /// Conflict cycles of the command's reads.
    pub fn conflicts(&self, p: &TemporalAttentionParams, map: &Mapping) -> u64 {
        self.read_beats(p).iter().map(|b| b.cycles(map) - 1).sum()
    }
}

/// The `d` signed channels of a word.
pub fn channels(word: &Word, d: u32) -> Vec<i64> {
    (0..d)
        .map(|c| {
            let bit = c * DATA_WIDTH;
            let byte = (word[(bit / 64) as usize] >> (bit % 64)) & 0xff;
            i64::from(byte as u8 as i8)
        })
        .collect()
}

/// Q, K and V of one job: `T × d` each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operands {
    /// Queries.
    pub q: Vec<Vec<i64>>,
    /// Keys.
    pub k: Vec<Vec<i64>>,
    /// Values.
    pub v: Vec<Vec<i64>>,
}

/// One lane's job, bit for bit: `T` output rows of `d` elements (units of `2^-out_frac`).
pub fn run_job(p: &TemporalAttentionParams, ops: &Operands, mask: &Mask) -> Vec<Vec<i64>> {
    let (t, tm, d) = (ops.q.len(), p.t_max as usize, p.d as usize);
    let sp = p.softmax();
    let mut unit = RowUnit::new(&sp);
    (0..t)
        .map(|i| {
            let keep: Vec<bool> = (0..tm).map(|j| mask.keeps(t, i, j)).collect();
            let scores: Vec<i64> = (0..tm)
                .map(|j| if keep[j] { (0..d).map(|c| ops.q[i][c] * ops.k[j][c]).sum() } else { 0 })
                .collect();
            let r = unit.beat(&Beat { scores, keep: keep.clone(), row: 0, first: true, last: true });
            (0..d)
                .map(|c| {
                    let o: i64 = (0..t).filter(|&j| keep[j]).map(|j| r.prob[j] as i64 * ops.v[j][c]).sum();
                    normalise_with(&sp, p.out_width, p.out_frac, o, r.inv_l, r.inv_exp)
                })
                .collect()
        })
        .collect()
}

/// Exact temporal attention in f64 on the same integer operands with the exact scale (base 2),
/// in value units; a row with no key is 0.
pub fn reference_job(p: &TemporalAttentionParams, ops: &Operands, mask: &Mask) -> Vec<Vec<f64>> {
    let (t, d) = (ops.q.len(), p.d as usize);
    (0..t)
        .map(|i| {
            let keys: Vec<usize> = (0..t).filter(|&j| mask.keeps(t, i, j)).collect();
            if keys.is_empty() {
                return vec![0.0; d];
            }
            let y: Vec<f64> = keys
                .iter()
                .map(|&j| (0..d).map(|c| (ops.q[i][c] * ops.k[j][c]) as f64).sum::<f64>() * p.scale)
                .collect();
            let top = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = y.iter().map(|v| (v - top).exp2()).collect();
            let l: f64 = e.iter().sum();
            (0..d)
                .map(|c| keys.iter().zip(&e).map(|(&j, w)| w * ops.v[j][c] as f64).sum::<f64>() / l)
                .collect()
        })
        .collect()
}

/// One beat on `out`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutBeat {
    /// Per lane, `d` elements.
    pub data: Vec<Vec<i64>>,
    /// Query frame.
    pub frame: usize,
    /// Lanes holding a position.
    pub lanes: Vec<bool>,
    /// The command's last beat.
    pub last: bool,
}

/// The operands of lane `ln` of group `g`, head `h`, read from `buffer` (zeros past the
/// command's positions).
pub fn operands(
    p: &TemporalAttentionParams,
    cmd: &Command,
    buffer: &Buffer,
    g: u64,
    h: u64,
    ln: u64,
) -> Operands {
    let pos = g * u64::from(p.lanes) + ln;
    let pw = p.pitch_width;
    let rows = |x: u64| -> Vec<Vec<i64>> {
        (0..cmd.frames)
            .map(|t| {
                if pos >= cmd.positions {
                    return vec![0; p.d as usize];
                }
                let a = cmd.address(t, x, h, pos);
                channels(&buffer.read(a >> pw, a & ((1 << pw) - 1)), p.d)
            })
            .collect()
    };
    Operands { q: rows(0), k: rows(1), v: rows(2) }
}

/// The output beats of `cmd` on `buffer`'s contents, in order.
pub fn outputs(p: &TemporalAttentionParams, cmd: &Command, buffer: &Buffer) -> Vec<OutBeat> {
    let l = u64::from(p.lanes);
    let groups = cmd.groups(p);
    let mut beats = Vec::new();
    for g in 0..groups {
        let lanes: Vec<bool> = (0..l).map(|ln| g * l + ln < cmd.positions).collect();
        for h in 0..cmd.heads {
            let rows: Vec<Vec<Vec<i64>>> =
                (0..l).map(|ln| run_job(p, &operands(p, cmd, buffer, g, h, ln), &cmd.mask)).collect();
            for i in 0..cmd.frames {
                beats.push(OutBeat {
                    data: rows.iter().map(|r| r[i].clone()).collect(),
                    frame: i,
                    lanes: lanes.clone(),
                    last: g + 1 == groups && h + 1 == cmd.heads && i + 1 == cmd.frames,
                });
            }
        }
    }
    beats
}

/// What the cycle model predicts for a list of commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prediction {
    /// Cycle each command is taken, refused ones included.
    pub cmd_cycles: Vec<u64>,
    /// Cycle of every output beat.
    pub out_cycles: Vec<u64>,
}

/// Timing of `cmds` with `cmd` always valid and `out` always ready, the first command taken at
/// cycle `start` and no write offered meanwhile; `map` is the buffer's map (its pitch). See
/// [`job_timing`] for the rules; a command is taken the cycle after the previous one's last
/// beat, a refused one takes one cycle.
pub fn predict(p: &TemporalAttentionParams, map: &Mapping, cmds: &[Command], start: u64) -> Prediction {
    let mut at = start;
    let (mut cmd_cycles, mut out_cycles) = (Vec::new(), Vec::new());
    for c in cmds {
        cmd_cycles.push(at);
        if c.check(p).is_err() {
            at += 1;
            continue;
        }
        let beats: Vec<u64> = c.read_beats(p).iter().map(|b| b.cycles(map)).collect();
        let outs = job_timing(p, c.frames, &c.mask, c.groups(p) * c.heads, at, &beats);
        at = outs.last().expect("a command has a beat") + 1;
        out_cycles.extend(outs);
    }
    Prediction { cmd_cycles, out_cycles }
}

/// The cycle of each job's last output beat, from a command's output beat cycles (jobs of
/// `frames` beats each).
pub fn job_ends(out_cycles: &[u64], frames: usize) -> Vec<u64> {
    out_cycles.iter().copied().skip(frames - 1).step_by(frames).collect()
}

/// The output beats' cycles of one command of `jobs` jobs of `frames` frames under `mask`, taken
/// at cycle `start`, when read beat `b` (walk order) holds the banks `beat_cycles[b]` cycles.
/// It follows the datasheet's rules, not the RTL's registers:
/// - the walker offers its first beat the cycle after the command; the buffer takes a beat
///   `k` cycles after the previous one when that one had a `k`-fold conflict, and returns it
///   `k + 2` cycles after taking it;
/// - a job's first beat waits until at most one job holds a lane slot: a slot is released
///   two cycles after its job's last output pass issues;
/// - a lane takes a job the cycle after its last beat returns, or in the cycle its previous job
///   issues its last pair, whichever is later; then each row issues `max(1, kept keys)` pairs,
///   one per cycle, and a row begins only while fewer than `rows_in_flight` rows await output
///   (a row leaves the count the cycle after its output beat);
/// - a row reaches the softmax 3 cycles after its last pair and its output pass can begin a
///   cycle after the softmax's result; output passes run one pair per cycle in row order; a
///   row's beat leaves 4 cycles after its pass's last pair.
pub fn job_timing(
    p: &TemporalAttentionParams,
    frames: usize,
    mask: &Mask,
    jobs: u64,
    start: u64,
    beat_cycles: &[u64],
) -> Vec<u64> {
    let score_to_pass = super::lane::SCORE_STAGES + p.softmax().latency() + 1;
    let to_beat = super::lane::VALUE_STAGES + 1;
    let keys: Vec<u64> = (0..frames)
        .map(|i| ((0..frames).filter(|&j| mask.keeps(frames, i, j)).count() as u64).max(1))
        .collect();
    let credits = p.rows_in_flight as usize;
    let per_job = 3 * frames;
    assert_eq!(beat_cycles.len() as u64, jobs * per_job as u64, "one entry per read beat");
    let (mut beat_at, mut releases, mut beats_out) = (start + 1, Vec::new(), Vec::new());
    let (mut lane_end, mut pass_end) = (None, 0u64);
    for j in 0..jobs as usize {
        if j >= 2 {
            beat_at = beat_at.max(releases[j - 2] + 1);
        }
        let mut loaded = 0;
        for &k in &beat_cycles[j * per_job..(j + 1) * per_job] {
            loaded = beat_at + k + 2;
            beat_at += k;
        }
        let take = lane_end.map_or(loaded + 1, |end: u64| end.max(loaded + 1));
        let mut issue = take + 1;
        for &n in &keys {
            let row = beats_out.len();
            if row >= credits {
                issue = issue.max(beats_out[row - credits] + 1);
            }
            let last_pair = issue + n - 1;
            let pass = (last_pair + score_to_pass).max(pass_end + 1);
            pass_end = pass + n - 1;
            beats_out.push(pass_end + to_beat);
            issue = last_pair + 1;
        }
        lane_end = Some(issue - 1);
        releases.push(pass_end + 1);
    }
    beats_out
}
