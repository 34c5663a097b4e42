//! Co-simulation of `vdx_temporal_attention`: episodes of a random layout (frames, positions,
//! heads, padded channels; frame-major or position-major), its latent written through `wr` in
//! random order, then one to three commands with random masks (full, causal, windows, skipped
//! frames) and the odd command that overflows the address space. Every output beat (each lane's
//! row, the frame, the lane mask, the last flag), the conflict count after each command and the
//! error flag are checked against the golden models.

use super::TemporalAttentionParams;
use super::golden::{self, Command, Mask, OutBeat};
use crate::blocks::latent::golden::{Beat as BufferBeat, Buffer};
use crate::blocks::latent::tb::pack_words;
use crate::blocks::systolic::golden::{pack, unpack};
use crate::blocks::{BlockParams, CosimReport, CosimRun, Pace};
use crate::sim::check::{CycleModel, Drains};
use crate::sim::{PortLayout, SimError, Slot};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use std::collections::VecDeque;

/// Command fields in port order.
const CMD_FIELDS: [&str; 11] = [
    "frames",
    "positions",
    "heads",
    "base",
    "frame_stride",
    "tensor_stride",
    "head_stride",
    "pos_stride",
    "causal",
    "window",
    "skip",
];

/// A command's field values in [`CMD_FIELDS`] order (counts minus one where the port says so).
fn cmd_values(c: &Command) -> [u64; 11] {
    [
        c.frames as u64 - 1,
        c.positions - 1,
        c.heads - 1,
        c.base,
        c.frame_stride,
        c.tensor_stride,
        c.head_stride,
        c.pos_stride,
        u64::from(c.mask.causal),
        u64::from(c.mask.window),
        c.mask.skip,
    ]
}

struct Ports {
    rst: Slot,
    pitch: Slot,
    cmd_valid: Slot,
    cmd: Vec<Slot>,
    wr_valid: Slot,
    wr_token: Slot,
    wr_word: Slot,
    wr_keep: Slot,
    wr_data: Slot,
    out_ready: Slot,
    cmd_ready: Slot,
    wr_ready: Slot,
    out_valid: Slot,
    out_data: Slot,
    out_frame: Slot,
    out_lanes: Slot,
    out_last: Slot,
    conflicts: Slot,
    error: Slot,
}

/// What the bench sends next.
struct Episode {
    writes: VecDeque<BufferBeat>,
    cmds: VecDeque<Command>,
}

/// The host testbench.
pub struct TaeBench {
    params: TemporalAttentionParams,
    rng: StdRng,
    pace: Pace,
    ports: Option<Ports>,
    cycle: u64,
    model: Buffer,
    episode: Episode,
    offer_wr: Option<BufferBeat>,
    offer_cmd: Option<Command>,
    ready: bool,
    expected: VecDeque<OutBeat>,
    running: bool,
    episodes_left: usize,
    conflicts: u64,
    error_seen: bool,
    last_progress: u64,
    /// Commands run (taken and not rejected).
    pub commands: Vec<Command>,
    /// Commands rejected for overflowing the address space.
    pub rejected: usize,
    /// Output beats checked.
    pub results: usize,
    /// Cycle of each command transfer.
    pub cmd_cycles: Vec<u64>,
    /// Cycle of each output beat.
    pub out_cycles: Vec<u64>,
}

impl TaeBench {
    /// A bench running `episodes` random episodes with `pitch`-word tokens at `pace`.
    pub fn new(params: &TemporalAttentionParams, pitch: u64, episodes: usize, pace: Pace, seed: u64) -> Self {
        TaeBench {
            params: params.clone(),
            rng: StdRng::seed_from_u64(seed ^ 0x7ae0_5eed),
            pace,
            ports: None,
            cycle: 0,
            model: Buffer::new(&params.buffer(), pitch),
            episode: Episode { writes: VecDeque::new(), cmds: VecDeque::new() },
            offer_wr: None,
            offer_cmd: None,
            ready: false,
            expected: VecDeque::new(),
            running: false,
            episodes_left: episodes,
            conflicts: 0,
            error_seen: false,
            last_progress: 0,
            commands: Vec::new(),
            rejected: 0,
            results: 0,
            cmd_cycles: Vec::new(),
            out_cycles: Vec::new(),
        }
    }

    /// The conflict cycles the golden buffer counts for the commands run so far.
    pub fn conflicts(&self) -> u64 {
        self.conflicts
    }

    fn random_mask(&mut self, frames: usize) -> Mask {
        let window = if self.rng.random_bool(0.5) { 0 } else { self.rng.random_range(1..=frames as u32) };
        let skip = if self.rng.random_bool(0.3) { self.rng.random::<u64>() & ((1 << frames) - 1) } else { 0 };
        Mask { causal: self.rng.random_bool(0.5), window, skip }
    }

    /// A random layout that fits the buffer, its writes in random order, and its commands.
    fn new_episode(&mut self) -> Episode {
        let p = self.params.clone();
        let pitch = self.model.map.pitch;
        let heads = (pitch / 3).clamp(1, 2).min(self.rng.random_range(1..=2));
        let fit = (u64::from(p.banks) * (p.depth / pitch)).min(1 << p.buffer().token_width());
        let lanes = u64::from(p.lanes);
        let frames = self.rng.random_range(1..=(p.t_max as usize).min((fit / lanes) as usize));
        let most = (fit / frames as u64).max(lanes);
        let positions = self.rng.random_range(lanes..=most.min(4 * lanes + 3));
        let first = self.rng.random_range(0..=fit - frames as u64 * positions);
        let position_major = self.rng.random_bool(0.4);
        let layout = |f: usize, ps: u64, h: u64, first: u64| {
            if position_major {
                Command::position_major(&p, f, ps, h, first)
            } else {
                Command::frame_major(&p, f, ps, h, first)
            }
        };
        let mut cmds = VecDeque::new();
        for _ in 0..self.rng.random_range(1..=3) {
            let mut c = layout(frames, positions, heads, first);
            c.mask = self.random_mask(frames);
            if self.rng.random_bool(0.08) {
                c.base = (1u64 << p.addr_width()) - 1 - self.rng.random_range(0..4);
            }
            cmds.push_back(c);
        }
        let mut writes = self.writes(first, frames as u64 * positions);
        writes.shuffle(&mut self.rng);
        Episode { writes: writes.into(), cmds }
    }

    /// Write beats filling tokens `first..first + tokens` with random words.
    fn writes(&mut self, first: u64, tokens: u64) -> Vec<BufferBeat> {
        let (w, pitch) = (u64::from(self.params.write_words), self.model.map.pitch);
        let mut writes = Vec::new();
        for n in first..first + tokens {
            for w0 in (0..pitch).step_by(w as usize) {
                let keep = (0..w).map(|j| w0 + j < pitch).collect();
                let data = (0..w).map(|_| self.random_word()).collect();
                writes.push(BufferBeat::Write { token: n, word: w0, keep, data });
            }
        }
        writes
    }

    /// A bench that writes tokens `0..tokens` with random data and then runs `cmds`.
    pub fn scripted(
        params: &TemporalAttentionParams,
        pitch: u64,
        tokens: u64,
        cmds: Vec<Command>,
        pace: Pace,
        seed: u64,
    ) -> Self {
        let mut bench = Self::new(params, pitch, 0, pace, seed);
        let writes = bench.writes(0, tokens);
        bench.episode = Episode { writes: writes.into(), cmds: cmds.into() };
        bench
    }

    fn random_word(&mut self) -> Vec<u64> {
        let bytes: Vec<u8> = (0..self.params.d)
            .map(|_| match self.rng.random_range(0..8) {
                0 => 0x80,
                1 => 0x7f,
                _ => self.rng.random(),
            })
            .collect();
        bytes.chunks(8).map(|c| c.iter().rev().fold(0u64, |v, &b| v << 8 | u64::from(b))).collect()
    }

    fn ports(&mut self, layout: &PortLayout) {
        if self.ports.is_some() {
            return;
        }
        let i = |n: &str| layout.input(n).unwrap_or_else(|e| panic!("TaeBench: {e}")).clone();
        let o = |n: &str| layout.output(n).unwrap_or_else(|e| panic!("TaeBench: {e}")).clone();
        self.ports = Some(Ports {
            rst: i("rst_ni"),
            pitch: i("pitch_i"),
            cmd_valid: i("cmd_valid_i"),
            cmd: CMD_FIELDS.iter().map(|f| i(&format!("cmd_{f}_i"))).collect(),
            wr_valid: i("wr_valid_i"),
            wr_token: i("wr_token_i"),
            wr_word: i("wr_word_i"),
            wr_keep: i("wr_keep_i"),
            wr_data: i("wr_data_i"),
            out_ready: i("out_ready_i"),
            cmd_ready: o("cmd_ready_o"),
            wr_ready: o("wr_ready_o"),
            out_valid: o("out_valid_o"),
            out_data: o("out_data_o"),
            out_frame: o("out_frame_o"),
            out_lanes: o("out_lanes_o"),
            out_last: o("out_last_o"),
            conflicts: o("conflicts_o"),
            error: o("error_o"),
        });
    }

    fn check_out(&mut self, outputs: &[u32]) -> Result<u64, String> {
        let p = self.ports.as_ref().expect("resolved");
        let Some(want) = self.expected.pop_front() else {
            return Err("an output beat with no command outstanding".into());
        };
        let (d, ow) = (self.params.d as usize, self.params.out_width);
        let words = p.out_data.get_words(outputs);
        for (ln, row) in want.data.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                let raw = unpack(words, ((ln * d + c) as u32) * ow, ow);
                let got = ((raw << (64 - ow)) as i64) >> (64 - ow);
                if got != v {
                    return Err(format!(
                        "output beat {} (frame {}): lane {ln} element {c} is {got}, want {v}",
                        self.results, want.frame
                    ));
                }
            }
        }
        let lanes = p.out_lanes.get_words(outputs);
        let got_lanes: Vec<bool> = (0..want.lanes.len()).map(|ln| unpack(lanes, ln as u32, 1) == 1).collect();
        let got = (p.out_frame.get(outputs) as usize, got_lanes, p.out_last.get(outputs) == 1);
        if got != (want.frame, want.lanes.clone(), want.last) {
            return Err(format!(
                "output beat {}: (frame, lanes, last) = {got:?}, want {:?}",
                self.results,
                (want.frame, &want.lanes, want.last)
            ));
        }
        self.results += 1;
        if want.last {
            self.running = false;
            let conflicts = p.conflicts.get(outputs);
            if conflicts != self.conflicts {
                return Err(format!("conflicts_o = {conflicts} after a command, want {}", self.conflicts));
            }
        }
        Ok((want.data.len() * d) as u64 + 3)
    }
}

impl CycleModel for TaeBench {
    fn reactive(&self) -> bool {
        true
    }

    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        self.ports(layout);
        let reset = self.cycle == 0;
        self.cycle += 1;
        let idle = self.episode.writes.is_empty() && self.offer_wr.is_none();
        if !reset && idle && self.episode.cmds.is_empty() && !self.running && self.episodes_left > 0 {
            self.episodes_left -= 1;
            self.episode = self.new_episode();
        }
        if !reset
            && self.offer_wr.is_none()
            && !self.episode.writes.is_empty()
            && rng.random_bool(self.pace.valid)
        {
            self.offer_wr = self.episode.writes.pop_front();
        }
        let idle = self.episode.writes.is_empty() && self.offer_wr.is_none();
        if !reset && idle && !self.running && self.offer_cmd.is_none() && rng.random_bool(self.pace.valid) {
            self.offer_cmd = self.episode.cmds.pop_front();
        }
        self.ready = !reset && rng.random_bool(self.pace.ready);
        let bp = self.params.buffer();
        let p = self.ports.as_ref().expect("resolved above");
        p.rst.set(frame, u64::from(!reset));
        p.pitch.set(frame, self.model.map.pitch);
        p.out_ready.set(frame, u64::from(self.ready));
        if let Some(c) = &self.offer_cmd {
            p.cmd_valid.set(frame, 1);
            for (slot, v) in p.cmd.iter().zip(cmd_values(c)) {
                slot.set(frame, v);
            }
        }
        if let Some(BufferBeat::Write { token, word, keep, data }) = &self.offer_wr {
            p.wr_valid.set(frame, 1);
            p.wr_token.set(frame, *token);
            p.wr_word.set(frame, *word);
            p.wr_keep.set_words(frame, &pack(keep.iter().map(|&k| i64::from(k)), 1));
            p.wr_data.set_words(frame, &pack_words(data, bp.word_width));
        }
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        self.ports(layout);
        let cycle = self.cycle - 1;
        let p = self.ports.as_ref().expect("resolved above");
        if p.rst.get(inputs) == 0 {
            return Ok(0);
        }
        let mut checks = 1;
        if (p.error.get(outputs) == 1) != self.error_seen {
            return Err(format!("error_o is {}, want {}", p.error.get(outputs), self.error_seen));
        }
        let (out_fire, cmd_taken, wr_taken) = (
            p.out_valid.get(outputs) == 1 && self.ready,
            self.offer_cmd.is_some() && p.cmd_ready.get(outputs) == 1,
            self.offer_wr.is_some() && p.wr_ready.get(outputs) == 1,
        );
        if out_fire {
            checks += self.check_out(outputs)?;
            self.out_cycles.push(cycle);
            self.last_progress = cycle;
        }
        if cmd_taken {
            let c = self.offer_cmd.take().expect("offered");
            self.cmd_cycles.push(cycle);
            match c.check(&self.params) {
                Ok(()) => {
                    self.expected.extend(golden::outputs(&self.params, &c, &self.model));
                    self.conflicts += c.conflicts(&self.params, &self.model.map);
                    self.running = true;
                    self.commands.push(c);
                }
                Err(_) => {
                    self.rejected += 1;
                    self.error_seen = true;
                }
            }
            self.last_progress = cycle;
        }
        if wr_taken {
            let beat = self.offer_wr.take().expect("offered");
            self.model.apply(&beat);
            self.last_progress = cycle;
        }
        if !self.finished() && cycle > self.last_progress + 5000 {
            return Err(format!(
                "no progress for 5000 cycles: {} output beats outstanding",
                self.expected.len()
            ));
        }
        Ok(checks)
    }
}

impl Drains for TaeBench {
    fn finished(&self) -> bool {
        self.episodes_left == 0
            && self.episode.writes.is_empty()
            && self.episode.cmds.is_empty()
            && self.offer_wr.is_none()
            && self.offer_cmd.is_none()
            && !self.running
    }

    fn progress(&self) -> (usize, usize) {
        (self.results, self.results + self.expected.len())
    }
}

/// The pitch co-simulation uses: 7 words (two heads of Q, K, V and one word of padding), or the
/// most the pitch input holds.
pub fn default_pitch(p: &TemporalAttentionParams) -> u64 {
    7.min((1u64 << p.pitch_width) - 1)
}

/// Builds the engine, compiles it with Verilator (cached) and runs random episodes for
/// `run.cycles` cycles under random gaps and backpressure.
pub fn cosim_verilator(params: &TemporalAttentionParams, run: CosimRun) -> Result<CosimReport, SimError> {
    let mut bench = TaeBench::new(params, default_pitch(params), usize::MAX, Pace::RANDOM, run.seed);
    let cycles = run.cycles;
    let report = crate::blocks::cosim_verilator(params.build(), &mut bench, run)?;
    if bench.results == 0 {
        return Err(SimError::Design(format!("no output beat in {cycles} cycles")));
    }
    Ok(report)
}
