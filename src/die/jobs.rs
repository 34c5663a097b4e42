//! End-to-end jobs on whole dies: what `vdx sim --die-top`, `make demo` and the die tests run
//! through a die top, the way software would. Each job programs the die over AXI4-Lite, loads
//! its operands through `host_in` into the die's memories, routes the switch, starts the DMA
//! channels and the block, collects the block's output on `host_out` and compares every value
//! with the block's golden model:
//! - `gemm` (a die with a `systolic_ws`): weights from the weight SRAM and activations from the
//!   scratchpad into the array, two GEMMs (W8A8 and W4A8), every result row checked;
//! - `spatial` (a `spatial_attention`): Q, K and V from three scratchpad read channels at once,
//!   a full and a causal query tile, every output row checked;
//! - `temporal` (a `temporal_attention`): the latent written from the scratchpad into the
//!   engine's buffer, then a full and a causal pass, every output beat checked;
//! - `noise` (an `sgu` and a `noise_buffer`): the lanes seeded over CSR, the SGU filling both
//!   banks of the buffer through the switch, each bank read out by its read channel and checked;
//! - `tcu` (a `timestep_cond`): both conditioning tables loaded through the switch,
//!   broadcasts of the first, last and random rows and a few timesteps' embeddings checked value
//!   by value, and the sticky range-error flags.

use super::DieTop;
use super::host::{DieHost, HostError, from_fabric, to_fabric};
use crate::blocks::systolic::golden::unpack;
use crate::config::DieConfig;
use crate::hdl::{Design, Module, StreamType};
use crate::sim::SimError;
use crate::sim::verilator::VerilatorDut;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

mod tcu;

/// One job that passed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobReport {
    /// Die.
    pub die: String,
    /// Job name.
    pub job: String,
    /// Values compared with the golden model.
    pub checks: u64,
    /// Cycles the job took, reset and loading included.
    pub cycles: u64,
    /// What ran.
    pub detail: String,
}

/// Why a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The die could not be built or simulated.
    #[error("{0}")]
    Build(String),
    /// The die misbehaved or disagreed with the golden model.
    #[error("die {die}, job {job}: {message}")]
    Failed {
        /// Die.
        die: String,
        /// Job.
        job: String,
        /// What happened.
        message: String,
    },
}

impl From<SimError> for JobError {
    fn from(e: SimError) -> Self {
        JobError::Build(e.to_string())
    }
}

/// Appends `width` bits of `value` (words of 32, least significant first) to a bit string.
#[derive(Default)]
struct Bits {
    words: Vec<u32>,
    at: u32,
}

impl Bits {
    fn put(&mut self, value: &[u32], width: u32) {
        for b in 0..width {
            let bit = value.get((b / 32) as usize).is_some_and(|w| w >> (b % 32) & 1 == 1);
            if self.at.is_multiple_of(32) {
                self.words.push(0);
            }
            if bit {
                *self.words.last_mut().unwrap_or_else(|| unreachable!("pushed")) |= 1 << (self.at % 32);
            }
            self.at += 1;
        }
    }
}

fn u64_words(v: u64) -> [u32; 2] {
    [v as u32, (v >> 32) as u32]
}

/// The payload type of stream `name` of `module`.
fn stream_type(module: &Module, name: &str) -> StreamType {
    module
        .streams()
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.ty.clone())
        .unwrap_or_else(|| StreamType::data(1))
}

/// The signed field of `width` bits at bit `at`.
fn signed(words: &[u32], at: u32, width: u32) -> i64 {
    let v = unpack(words, at, width);
    ((v << (64 - width)) as i64) >> (64 - width)
}

struct Ctx<'a, 'h> {
    /// Cycle at which the timed part of the job starts (its first command or stream).
    t_go: u64,
    /// Cycle of the last output beat collected.
    last_beat: u64,
    die: &'a str,
    job: &'static str,
    top: &'a DieTop,
    host: &'a mut DieHost<'h>,
    fabric: u32,
    checks: u64,
}

impl Ctx<'_, '_> {
    fn fail<T>(&self, message: String) -> Result<T, JobError> {
        Err(JobError::Failed { die: self.die.to_string(), job: self.job.to_string(), message })
    }

    fn h<T>(&self, r: Result<T, HostError>) -> Result<T, JobError> {
        r.map_err(|e| JobError::Failed {
            die: self.die.to_string(),
            job: self.job.to_string(),
            message: e.to_string(),
        })
    }

    fn fab(&self, beats: &[Vec<u32>], width: u32) -> Vec<Vec<u32>> {
        beats.iter().flat_map(|b| to_fabric(b, width, self.fabric)).collect()
    }

    /// Fails unless `words` words from 0 fit the memory behind channel `chan` (a DMA channel
    /// would wrap around and overwrite its own first words).
    fn fits(&self, chan: &str, words: usize) -> Result<(), JobError> {
        let role = if chan.starts_with("wsram") { "weight_sram" } else { "scratchpad" };
        let depth = self.top.srams.iter().find(|(r, _)| r == role).map(|(_, s)| s.depth).unwrap_or(0);
        if words as u64 > depth {
            return self.fail(format!(
                "{words} words do not fit the {role}'s {depth}: choose a smaller job or a larger memory"
            ));
        }
        Ok(())
    }

    /// Writes the command fields of block `inst` that its register map has.
    fn command(&mut self, inst: &str, fields: &[(&str, u64)]) -> Result<(), JobError> {
        for (f, v) in fields {
            let name = format!("{inst}_cmd_{f}");
            if self.top.regmap.find(&name).is_some() {
                let r = self.host.set_value(&name, *v);
                self.h(r)?;
            }
        }
        Ok(())
    }

    /// Offers the command written to `inst` (the timed part starts with the first) and, with
    /// `wait`, runs until the block has taken it.
    fn go(&mut self, inst: &str, wait: bool) -> Result<(), JobError> {
        let r = self.host.set_value(&format!("{inst}_cmd_go"), 1);
        self.h(r)?;
        if self.t_go == 0 {
            self.t_go = self.host.cycle;
        }
        while wait && {
            let r = self.host.get_value(&format!("{inst}_cmd_pending"));
            self.h(r)?
        } == 1
        {}
        Ok(())
    }

    fn module(&self, instance: &str) -> Module {
        self.top
            .units
            .iter()
            .find(|u| u.0 == instance)
            .map(|u| u.2.clone())
            .unwrap_or_else(|| unreachable!("instance {instance} is on the die"))
    }

    fn expect_eq<T: PartialEq + std::fmt::Debug>(
        &mut self,
        got: T,
        want: T,
        what: &str,
    ) -> Result<(), JobError> {
        if got != want {
            return self.fail(format!("{what}: got {got:?}, the golden model says {want:?}"));
        }
        self.checks += 1;
        Ok(())
    }

    /// Runs until `beats` fabric beats came out of `host_out`; returns them and the cycles.
    fn collect(&mut self, beats: usize, limit: u64) -> Result<(Vec<Vec<u32>>, u64), JobError> {
        let t = self.host.run_until("the block's output", limit, |h| h.received.len() >= beats);
        let cycles = self.h(t)?;
        self.last_beat = self.host.cycle;
        Ok((std::mem::take(&mut self.host.received), cycles))
    }
}

/// The parameters of instance `instance` on die `die`, as configured.
pub(super) fn params<P: serde::de::DeserializeOwned>(
    config: &DieConfig,
    die: &str,
    instance: &str,
) -> Result<P, JobError> {
    let d = config.die(die).map_err(|e| JobError::Build(e.to_string()))?;
    let b = d.blocks.iter().find(|b| b.instance == instance).and_then(|b| b.elaborated.as_ref());
    let Some(b) = b else { return Err(JobError::Build(format!("die {die}: no instance {instance}"))) };
    toml::Value::Table(b.params_table()).try_into().map_err(|e| JobError::Build(format!("{instance}: {e}")))
}

fn gemm(
    c: &mut Ctx<'_, '_>,
    config: &DieConfig,
    inst: &str,
    rng: &mut StdRng,
    shapes: &[(usize, usize, usize, bool)],
) -> Result<String, JobError> {
    use crate::blocks::systolic::SystolicParams;
    use crate::blocks::systolic::golden::{Gemm, streams};
    let p: SystolicParams = params(config, c.die, inst)?;
    let gemms: Vec<Gemm> = shapes.iter().map(|&(m, k, n, w4)| Gemm::random(&p, rng, m, k, n, w4)).collect();
    let mut junk = StdRng::seed_from_u64(rng.random());
    let s = streams(&p, &gemms, &mut || junk.random_range(-8..8));
    let weights = c.fab(&s.weights, p.cols * p.weight_width);
    let acts = c.fab(&s.acts, p.rows * p.act_width);
    c.fits("wsram_wr", weights.len())?;
    c.fits("spad_wr", acts.len())?;
    let r = c.host.load("wsram_wr", 0, &weights);
    c.h(r)?;
    let r = c.host.load("spad_wr", 0, &acts);
    c.h(r)?;
    for (sink, source) in
        [(format!("{inst}_wgt"), "wsram_rd"), (format!("{inst}_act"), "spad_rd0"), ("host_out".into(), "")]
    {
        let src = if source.is_empty() { format!("{inst}_res") } else { source.to_string() };
        let r = c.host.route(&sink, Some(&src));
        c.h(r)?;
    }
    let r = c.host.start_dma("wsram_rd", 0, weights.len() as u64);
    c.h(r)?;
    let r = c.host.start_dma("spad_rd0", 0, acts.len() as u64);
    c.h(r)?;
    for cmd in &s.commands {
        c.command(
            inst,
            &[("m", cmd.m_minus_1), ("k", cmd.k_minus_1), ("n", cmd.n_minus_1), ("w4", u64::from(cmd.w4))],
        )?;
        c.go(inst, true)?;
    }
    let ty = stream_type(&c.module(inst), "res");
    let per = ty.width().div_ceil(c.fabric) as usize;
    let (beats, _) = c.collect(s.results.len() * per, 50_000)?;
    let got = from_fabric(&beats, ty.width(), c.fabric);
    let (hi, lo) = ty.range("last").unwrap_or((0, 0));
    for (i, (g, w)) in got.iter().zip(&s.results).enumerate() {
        let data_bits = lo;
        for word in 0..data_bits.div_ceil(32) {
            let width = (data_bits - 32 * word).min(32);
            c.expect_eq(
                unpack(g, 32 * word, width),
                unpack(&w.data, 32 * word, width),
                &format!("result row {i} word {word}"),
            )?;
        }
        c.expect_eq(unpack(g, hi, 1) == 1, w.last, &format!("result row {i} last"))?;
    }
    let shown: Vec<String> = shapes
        .iter()
        .map(|(m, k, n, w4)| format!("{m}×{k}×{n} {}", if *w4 { "W4A8" } else { "W8A8" }))
        .collect();
    Ok(format!("{} GEMM(s) ({}), {} result rows", gemms.len(), shown.join(", "), got.len()))
}

fn spatial(
    c: &mut Ctx<'_, '_>,
    config: &DieConfig,
    inst: &str,
    rng: &mut StdRng,
    whole: Option<usize>,
) -> Result<String, JobError> {
    use crate::blocks::attention::SpatialAttentionParams;
    use crate::blocks::attention::golden::{Job, streams};
    let p: SpatialAttentionParams = params(config, c.die, inst)?;
    let bq = p.bq as usize;
    let jobs: Vec<Job> = match whole {
        Some(n) => Job::whole(&p, n, false).iter().map(|j| j.with_operands(&p, rng)).collect(),
        None => {
            vec![Job::random(&p, rng, bq.min(6), 11, false, 0), Job::random(&p, rng, bq.min(5), 13, true, 3)]
        }
    };
    let s = streams(&p, &jobs);
    let m = c.module(inst);
    let q = c.fab(&s.q, stream_type(&m, "q").width());
    let k = c.fab(&s.k, stream_type(&m, "k").width());
    let v = c.fab(&s.v, stream_type(&m, "v").width());
    let all: Vec<Vec<u32>> = q.iter().chain(&k).chain(&v).cloned().collect();
    c.fits("spad_wr", all.len())?;
    let r = c.host.load("spad_wr", 0, &all);
    c.h(r)?;
    let bases = [
        ("q", "spad_rd0", 0, q.len()),
        ("k", "spad_rd1", q.len(), k.len()),
        ("v", "spad_rd2", q.len() + k.len(), v.len()),
    ];
    for (stream, chan, base, n) in bases {
        let r = c.host.route(&format!("{inst}_{stream}"), Some(chan));
        c.h(r)?;
        let r = c.host.start_dma(chan, base as u64, n as u64);
        c.h(r)?;
    }
    let r = c.host.route("host_out", Some(&format!("{inst}_out")));
    c.h(r)?;
    for cmd in &s.commands {
        c.command(
            inst,
            &[
                ("rows", cmd.rows_minus_1),
                ("len", cmd.len_minus_1),
                ("causal", u64::from(cmd.causal)),
                ("q_pos", cmd.q_pos),
            ],
        )?;
        c.go(inst, true)?;
    }
    let ty = stream_type(&m, "out");
    let per = ty.width().div_ceil(c.fabric) as usize;
    let (beats, _) = c.collect(s.out.len() * per, 50_000)?;
    let got = from_fabric(&beats, ty.width(), c.fabric);
    let (last_at, _) = ty.range("last").unwrap_or((0, 0));
    let ow = p.out_width;
    for (i, (g, w)) in got.iter().zip(&s.out).enumerate() {
        for e in 0..(p.lanes * p.d) {
            c.expect_eq(
                signed(g, e * ow, ow),
                signed(&w.data, e * ow, ow),
                &format!("output row {i} element {e}"),
            )?;
        }
        c.expect_eq(unpack(g, last_at, 1) == 1, w.last, &format!("output row {i} last"))?;
    }
    Ok(format!("{} tile(s), {} query rows, {} output rows", jobs.len(), s.q.len(), got.len()))
}

fn temporal(
    c: &mut Ctx<'_, '_>,
    config: &DieConfig,
    inst: &str,
    rng: &mut StdRng,
    timed: Option<(usize, u64)>,
) -> Result<String, JobError> {
    use crate::blocks::latent::golden::{Beat, Buffer};
    use crate::blocks::temporal::TemporalAttentionParams;
    use crate::blocks::temporal::golden::{Command, Mask, outputs};
    let p: TemporalAttentionParams = params(config, c.die, inst)?;
    // A timed run lays the latent out as the estimate does: one head, Q, K, V in a 3-word token.
    let (pitch, frames, positions, heads) = match timed {
        Some((f, pos)) => (3, f, pos, 1),
        None => {
            let pitch = crate::blocks::temporal::tb::default_pitch(&p);
            (pitch, (p.t_max as usize).min(5), 2 * u64::from(p.lanes), (pitch / 3).clamp(1, 2))
        }
    };
    let mut cmds =
        vec![Command::frame_major(&p, frames, positions, heads, 0); if timed.is_some() { 1 } else { 2 }];
    if let Some(c1) = cmds.get_mut(1) {
        c1.mask = Mask { causal: true, ..Mask::default() };
    }
    let m = c.module(inst);
    let wr = stream_type(&m, "wr");
    let ww = u64::from(p.write_words);
    let limbs = (p.d * 8).div_ceil(64) as usize;
    let mut buffer = Buffer::new(&p.buffer(), pitch);
    let mut beats = Vec::new();
    for token in 0..frames as u64 * positions {
        for w0 in (0..pitch).step_by(ww as usize) {
            let keep: Vec<bool> = (0..ww).map(|j| w0 + j < pitch).collect();
            let data: Vec<Vec<u64>> = (0..ww)
                .map(|_| {
                    let bytes: Vec<u8> = (0..p.d).map(|_| rng.random()).collect();
                    let mut word: Vec<u64> = bytes
                        .chunks(8)
                        .map(|ch| ch.iter().rev().fold(0u64, |v, &b| v << 8 | u64::from(b)))
                        .collect();
                    word.resize(limbs, 0);
                    word
                })
                .collect();
            let beat = Beat::Write { token, word: w0, keep: keep.clone(), data: data.clone() };
            buffer.apply(&beat);
            let mut bits = Bits::default();
            for (f, w) in wr.fields() {
                match f.as_str() {
                    "token" => bits.put(&u64_words(token), *w),
                    "word" => bits.put(&u64_words(w0), *w),
                    "keep" => bits.put(
                        &u64_words(keep.iter().enumerate().fold(0, |a, (j, &k)| a | u64::from(k) << j)),
                        *w,
                    ),
                    _ => {
                        let each = w / ww as u32;
                        for word in &data {
                            let words: Vec<u32> = word.iter().flat_map(|l| u64_words(*l)).collect();
                            bits.put(&words, each);
                        }
                    }
                }
            }
            beats.push(bits.words);
        }
    }
    let fab = c.fab(&beats, wr.width());
    c.fits("spad_wr", fab.len())?;
    let r = c.host.set_value(&format!("{inst}_pitch"), pitch);
    c.h(r)?;
    let r = c.host.load("spad_wr", 0, &fab);
    c.h(r)?;
    let r = c.host.route(&format!("{inst}_wr"), Some("spad_rd0"));
    c.h(r)?;
    let r = c.host.route("host_out", Some(&format!("{inst}_out")));
    c.h(r)?;
    let out = stream_type(&m, "out");
    let per = out.width().div_ceil(c.fabric) as usize;
    let mut total = 0;
    for (n, cmd) in cmds.iter().enumerate() {
        let fields = [
            ("frames", cmd.frames as u64 - 1),
            ("positions", cmd.positions - 1),
            ("heads", cmd.heads - 1),
            ("base", cmd.base),
            ("frame_stride", cmd.frame_stride),
            ("tensor_stride", cmd.tensor_stride),
            ("head_stride", cmd.head_stride),
            ("pos_stride", cmd.pos_stride),
            ("causal", u64::from(cmd.mask.causal)),
            ("window", u64::from(cmd.mask.window)),
            ("skip", cmd.mask.skip),
        ];
        c.command(inst, &fields)?;
        if n == 0 {
            // The latent goes in (the timed part starts here), then the first pass.
            c.t_go = c.host.cycle;
            let r = c.host.start_dma("spad_rd0", 0, fab.len() as u64);
            c.h(r)?;
            let t0 = c.host.cycle;
            while {
                let r = c.host.get_value("spad_rd0_busy");
                c.h(r)?
            } == 1
            {
                if c.host.cycle - t0 > 50_000 {
                    return c.fail("the latent never went into the engine's buffer".into());
                }
            }
        }
        // The temporal timing starts with the latent's first word, set above.
        c.go(inst, false)?;
        let want = outputs(&p, cmd, &buffer);
        let (beats, _) = c.collect(want.len() * per, 100_000)?;
        let got = from_fabric(&beats, out.width(), c.fabric);
        let (ow, d) = (p.out_width, p.d as usize);
        let r = |f: &str| out.range(f).unwrap_or((0, 0));
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            for (ln, row) in w.data.iter().enumerate() {
                for (ch, v) in row.iter().enumerate() {
                    let at = r("data").1 + ((ln * d + ch) as u32) * ow;
                    c.expect_eq(
                        signed(g, at, ow),
                        *v,
                        &format!("command {n} beat {i} lane {ln} channel {ch}"),
                    )?;
                }
            }
            let (fh, fl) = r("frame");
            c.expect_eq(
                unpack(g, fl, fh - fl + 1) as usize,
                w.frame,
                &format!("command {n} beat {i} frame"),
            )?;
            let (lh, ll) = r("lanes");
            let lanes = w.lanes.iter().enumerate().fold(0u64, |a, (j, &b)| a | u64::from(b) << j);
            c.expect_eq(unpack(g, ll, lh - ll + 1), lanes, &format!("command {n} beat {i} lanes"))?;
            c.expect_eq(unpack(g, r("last").0, 1) == 1, w.last, &format!("command {n} beat {i} last"))?;
        }
        total += got.len();
    }
    let error = {
        let r = c.host.get_value(&format!("{inst}_error"));
        c.h(r)?
    };
    c.expect_eq(error, 0, "the engine's error flag")?;
    Ok(format!(
        "{frames} frames × {positions} positions × {heads} head(s), full and causal, {total} output beats"
    ))
}

fn noise(
    c: &mut Ctx<'_, '_>,
    config: &DieConfig,
    sgu: &str,
    buf: &str,
    rng: &mut StdRng,
) -> Result<String, JobError> {
    use crate::blocks::noise_buffer::NoiseBufferParams;
    use crate::blocks::sgu::SguParams;
    use crate::blocks::sgu::tb::SguModel;
    use crate::blocks::xoshiro::golden::Xoshiro256pp;
    let sp: SguParams = params(config, c.die, sgu)?;
    let np: NoiseBufferParams = params(config, c.die, buf)?;
    let seed: u64 = rng.random();
    for lane in 0..sp.lanes {
        let words: Vec<u32> = Xoshiro256pp::lane(seed, lane).s.iter().flat_map(|w| u64_words(*w)).collect();
        let r = c.host.set_value(&format!("{sgu}_seed_lane"), u64::from(lane));
        c.h(r)?;
        let r = c.host.write(&format!("{sgu}_seed_state"), &words);
        c.h(r)?;
        let r = c.host.set_value(&format!("{sgu}_seed_valid"), 1);
        c.h(r)?;
    }
    let r = c.host.route(&format!("{buf}_in"), Some(&format!("{sgu}_out")));
    c.h(r)?;
    let r = c.host.set_value(&format!("{sgu}_en"), 1);
    c.h(r)?;
    let r = c.host.route("host_out", Some(&format!("{buf}_rd")));
    c.h(r)?;
    let (words, word_bits) = (np.words(), np.word_bits());
    let mut model = SguModel::seeded(&sp, seed);
    for bank in 0..2u64 {
        let t0 = c.host.cycle;
        while {
            let r = c.host.get_value(&format!("{buf}_rd_valid"));
            c.h(r)?
        } == 0
        {
            if c.host.cycle - t0 > 50_000 {
                return c.fail(format!("bank {bank} never filled"));
            }
        }
        let b = {
            let r = c.host.get_value(&format!("{buf}_rd_bank"));
            c.h(r)?
        };
        c.expect_eq(b, bank, "the bank offered")?;
        let r = c.host.start_dma(&format!("{buf}_rd"), 0, words);
        c.h(r)?;
        let per = word_bits.div_ceil(c.fabric) as usize;
        let (beats, _) = c.collect(words as usize * per, 50_000)?;
        for (i, g) in from_fabric(&beats, word_bits, c.fabric).iter().enumerate() {
            for (lane, pair) in model.next_transfer().iter().enumerate() {
                for (k, v) in pair.iter().enumerate() {
                    let at = (lane * 2 + k) as u32 * sp.out_width;
                    c.expect_eq(
                        signed(g, at, sp.out_width),
                        *v,
                        &format!("bank {bank} word {i} lane {lane} sample {k}"),
                    )?;
                }
            }
        }
        let r = c.host.set_value(&format!("{buf}_release"), 1);
        c.h(r)?;
    }
    Ok(format!("2 banks of {} samples from {} seeded lanes", np.tensor_samples, sp.lanes))
}

/// Runs every job the dies of `config` (or die `only`) can run through their die tops
/// (Verilator), reporting each before the next starts.
pub fn run(
    config: &DieConfig,
    only: Option<&str>,
    seed: u64,
    mut report: impl FnMut(&JobReport),
) -> Result<Vec<JobReport>, JobError> {
    let mut out = Vec::new();
    for die in config.dies.iter().filter(|d| only.is_none_or(|o| o == d.name)) {
        let top =
            crate::generate::build_die_top(config, &die.name).map_err(|e| JobError::Build(e.to_string()))?;
        let find = |block: &str| top.units.iter().find(|u| u.1 == block).map(|u| u.0.clone());
        let jobs: Vec<(&'static str, Vec<String>)> = [
            ("gemm", vec![find("systolic_ws")]),
            ("spatial", vec![find("spatial_attention")]),
            ("temporal", vec![find("temporal_attention")]),
            ("noise", vec![find("sgu"), find("noise_buffer")]),
            ("tcu", vec![find("timestep_cond")]),
        ]
        .into_iter()
        .filter(|(_, insts)| insts.iter().all(Option::is_some))
        .map(|(j, insts)| (j, insts.into_iter().flatten().collect()))
        .collect();
        if jobs.is_empty() {
            continue;
        }
        let src = Design::single(&top.module).emit().sim_source(0);
        let mut dut = VerilatorDut::build(&src)?;
        for (job, insts) in jobs {
            let mut host = DieHost::new(&mut dut, &top.regmap, &top.sources, die.fabric.bits);
            host.reset(3).map_err(|e| JobError::Build(e.to_string()))?;
            let mut rng = StdRng::seed_from_u64(seed ^ job.len() as u64);
            let mut c = Ctx {
                t_go: 0,
                last_beat: 0,
                die: &die.name,
                job,
                top: &top,
                host: &mut host,
                fabric: die.fabric.bits,
                checks: 0,
            };
            let t0 = c.host.cycle;
            let detail = match job {
                "gemm" => gemm(&mut c, config, &insts[0], &mut rng, &[(7, 10, 9, false), (5, 6, 3, true)])?,
                "spatial" => spatial(&mut c, config, &insts[0], &mut rng, None)?,
                "temporal" => temporal(&mut c, config, &insts[0], &mut rng, None)?,
                "tcu" => tcu::tcu(&mut c, config, &insts[0], &mut rng)?,
                _ => noise(&mut c, config, &insts[0], &insts[1], &mut rng)?,
            };
            let r = JobReport {
                die: die.name.clone(),
                job: job.to_string(),
                checks: c.checks,
                cycles: c.host.cycle - t0,
                detail,
            };
            report(&r);
            out.push(r);
        }
    }
    Ok(out)
}

/// A job timed on a die for the estimate's check: one GEMM, one head's whole attention over `n`
/// tokens, or one temporal pass over `frames` frames and `positions` positions.
#[derive(Debug, Clone, Copy)]
pub enum Timed {
    /// `(m, k, n, w4)` on the die's `systolic_ws`.
    Gemm(usize, usize, usize, bool),
    /// Self-attention of `n` tokens on the die's `spatial_attention`.
    Spatial(usize),
    /// Full temporal attention, `(frames, positions)`, one head, on the die's `temporal_attention`.
    Temporal(usize, u64),
}

/// Runs `job` through die `die`'s top (checked against the golden model like every job) and
/// returns the cycles from its first command (or, for the temporal engine, its latent's first
/// word) to its last output beat.
pub fn timed(config: &DieConfig, die: &str, job: Timed, seed: u64) -> Result<u64, JobError> {
    let d = config.die(die).map_err(|e| JobError::Build(e.to_string()))?;
    let top = crate::generate::build_die_top(config, die).map_err(|e| JobError::Build(e.to_string()))?;
    let find = |block: &str| {
        top.units
            .iter()
            .find(|u| u.1 == block)
            .map(|u| u.0.clone())
            .ok_or_else(|| JobError::Build(format!("die {die} has no {block}")))
    };
    let mut dut = VerilatorDut::build(&Design::single(&top.module).emit().sim_source(0))?;
    let mut host = DieHost::new(&mut dut, &top.regmap, &top.sources, d.fabric.bits);
    host.reset(3).map_err(|e| JobError::Build(e.to_string()))?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut c = Ctx {
        t_go: 0,
        last_beat: 0,
        die,
        job: "timed",
        top: &top,
        host: &mut host,
        fabric: d.fabric.bits,
        checks: 0,
    };
    match job {
        Timed::Gemm(m, k, n, w4) => gemm(&mut c, config, &find("systolic_ws")?, &mut rng, &[(m, k, n, w4)])?,
        Timed::Spatial(n) => spatial(&mut c, config, &find("spatial_attention")?, &mut rng, Some(n))?,
        Timed::Temporal(f, p) => {
            temporal(&mut c, config, &find("temporal_attention")?, &mut rng, Some((f, p)))?
        }
    };
    Ok(c.last_beat - c.t_go)
}
