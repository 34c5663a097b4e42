//! `vdx bench tae`: the lanes' accuracy per mask (golden model, bit-exact with the RTL, against
//! f64 attention on the same operands), the gather's tokens per cycle from a co-simulated
//! 256-bank, 256-port latent buffer for several layouts (with a plain `address mod banks` map
//! for comparison), the lanes' MAC utilization at T = 30, d = 128 from a co-simulated engine
//! with the cycle model checked beat by beat against it, and, by that model, the time of one
//! Wan-14B layer's temporal pass at the config's clock and each mask's cycles per job.

use super::TemporalAttentionParams;
use super::golden::{Command, Mask, Operands, job_ends, job_timing, predict, reference_job, run_job};
use super::tb::TaeBench;
use crate::blocks::latent::LatentBufferParams;
use crate::blocks::latent::golden::{Beat, Mapping};
use crate::blocks::systolic::golden::pack;
use crate::blocks::{BlockParams, Pace};
use crate::hdl::Design;
use crate::sim::check::{CycleModel, Drains, run_until_done};
use crate::sim::verilator::VerilatorDut;
use crate::sim::{PortLayout, SimError, Slot};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

/// Output error of one mask over many jobs.
#[derive(Debug, Clone, Serialize)]
pub struct Accuracy {
    /// Mask name.
    pub mask: String,
    /// Frames.
    pub frames: usize,
    /// Jobs measured.
    pub jobs: usize,
    /// Largest `|O − O_ref|`, in value units.
    pub max_abs_error: f64,
    /// Cosine similarity of `O` and `O_ref` (flattened).
    pub cosine: f64,
    /// `‖O − O_ref‖ / ‖O_ref‖`.
    pub rel_l2: f64,
}

/// The masks the bench measures, by name.
pub fn masks(frames: usize) -> Vec<(&'static str, Mask)> {
    let every_third = (0..frames).filter(|j| j % 3 == 2).fold(0u64, |m, j| m | 1 << j);
    vec![
        ("full", Mask::default()),
        ("causal", Mask { causal: true, ..Mask::default() }),
        ("window 8 (band)", Mask { window: 8, ..Mask::default() }),
        ("causal window 8", Mask { causal: true, window: 8, ..Mask::default() }),
        ("skip every 3rd frame", Mask { skip: every_third, ..Mask::default() }),
    ]
}

/// Q, K, V of a job: int8 activations spread like a quantised normal (σ = 40 steps).
fn operands(rng: &mut StdRng, t: usize, d: usize) -> Operands {
    let mut m = || -> Vec<Vec<i64>> {
        (0..t)
            .map(|_| {
                (0..d)
                    .map(|_| {
                        let s: f64 = (0..4).map(|_| rng.random_range(-1.0..1.0)).sum::<f64>() * 40.0 * 0.866;
                        s.round().clamp(-128.0, 127.0) as i64
                    })
                    .collect()
            })
            .collect()
    };
    Operands { q: m(), k: m(), v: m() }
}

/// Accuracy of the lanes for each mask over `jobs` random jobs of `frames` frames.
pub fn accuracy(p: &TemporalAttentionParams, frames: usize, jobs: usize, seed: u64) -> Vec<Accuracy> {
    let unit = f64::from(1u32 << p.out_frac);
    masks(frames)
        .into_iter()
        .map(|(name, mask)| {
            let mut rng = StdRng::seed_from_u64(seed);
            let (mut dot, mut gg, mut rr, mut diff2, mut worst) = (0.0, 0.0, 0.0, 0.0, 0.0f64);
            for _ in 0..jobs {
                let ops = operands(&mut rng, frames, p.d as usize);
                let got = run_job(p, &ops, &mask);
                let want = reference_job(p, &ops, &mask);
                for (g, r) in got.iter().flatten().zip(want.iter().flatten()) {
                    let g = *g as f64 / unit;
                    dot += g * r;
                    gg += g * g;
                    rr += r * r;
                    diff2 += (g - r) * (g - r);
                    worst = worst.max((g - r).abs());
                }
            }
            Accuracy {
                mask: name.into(),
                frames,
                jobs,
                max_abs_error: worst,
                cosine: dot / (gg.sqrt() * rr.sqrt()),
                rel_l2: (diff2 / rr).sqrt(),
            }
        })
        .collect()
}

/// One latent layout of the gather table.
#[derive(Debug, Clone, Serialize)]
pub struct Layout {
    /// What it is.
    pub name: String,
    /// Frames.
    pub frames: usize,
    /// Positions (latent height × width).
    pub positions: u64,
    /// Words per token in the buffer (heads × Q, K, V).
    pub pitch: u64,
    /// `frame-major` (`[T][H·W][C]`, as written frame by frame) or `position-major`.
    pub order: String,
}

/// One layout's gather, co-simulated.
#[derive(Debug, Clone, Serialize)]
pub struct Gather {
    /// The layout.
    pub layout: Layout,
    /// Read beats co-simulated (the first groups and heads of the pass).
    pub beats: usize,
    /// Tokens read per cycle, from the first beat's data to the last's.
    pub tokens_per_cycle: f64,
    /// Conflict cycles `conflicts_o` counted (equal to the golden count, checked).
    pub conflict_cycles: u64,
    /// Tokens per cycle a plain `(token · pitch + word) mod banks` map would give (model).
    pub plain_map_tokens_per_cycle: f64,
}

/// The gather table's layouts.
pub fn layouts() -> Vec<Layout> {
    let l = |name: &str, frames, h: u64, w: u64, heads: u64, order: &str| Layout {
        name: name.into(),
        frames,
        positions: h * w,
        pitch: 3 * heads,
        order: order.into(),
    };
    vec![
        l("VDX-1: Wan-14B 720p, 40 heads", 30, 90, 160, 40, "frame-major"),
        l("Wan-14B 720p, position-major", 30, 90, 160, 40, "position-major"),
        l("Wan-14B 720p, one head per tile", 30, 90, 160, 1, "frame-major"),
        l("T = 16, 480p, 40 heads", 16, 60, 104, 40, "frame-major"),
        l("T = 32, 1080p, 40 heads", 32, 135, 240, 40, "frame-major"),
        l("T = 32, 1080p, position-major", 32, 135, 240, 40, "position-major"),
        l("Wan-1.3B 720p, 12 heads", 30, 90, 160, 12, "frame-major"),
        l("15 heads (odd), 480p", 16, 60, 104, 15, "frame-major"),
        l("7 heads (odd), 480p, position-major", 16, 60, 104, 7, "position-major"),
    ]
}

/// Drives read beats at full pace into a latent buffer and counts the cycles until the last
/// beat's data; checks `conflicts_o` against the golden count.
struct GatherBench {
    beats: Vec<Beat>,
    map: Mapping,
    p: LatentBufferParams,
    next: usize,
    cycle: u64,
    outs: usize,
    first_out: u64,
    last_out: u64,
    conflicts: u64,
    want_conflicts: u64,
    slots: Option<[Slot; 9]>,
}

impl CycleModel for GatherBench {
    fn reactive(&self) -> bool {
        true
    }

    fn stimulus(&mut self, _rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        let names = [
            "rst_ni",
            "pitch_i",
            "rd_valid_i",
            "rd_token_i",
            "rd_word_i",
            "rd_keep_i",
            "rdata_ready_i",
            "rd_ready_o",
            "rdata_valid_o",
        ];
        let s = self.slots.get_or_insert_with(|| {
            names.map(|n| layout.input(n).or_else(|_| layout.output(n)).expect("a buffer port").clone())
        });
        let reset = self.cycle == 0;
        self.cycle += 1;
        s[0].set(frame, u64::from(!reset));
        s[1].set(frame, self.map.pitch);
        s[6].set(frame, 1);
        if let (false, Some(Beat::Read { token, word, keep })) = (reset, self.beats.get(self.next)) {
            s[2].set(frame, 1);
            s[3].set_words(frame, &pack(token.iter().map(|&t| t as i64), self.p.token_width()));
            s[4].set_words(frame, &pack(word.iter().map(|&w| w as i64), self.p.pitch_width));
            s[5].set_words(frame, &pack(keep.iter().map(|&k| i64::from(k)), 1));
        }
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        let s = self.slots.as_ref().expect("set by stimulus");
        let cycle = self.cycle - 1;
        if s[0].get(inputs) == 0 {
            return Ok(0);
        }
        if s[2].get(inputs) == 1 && s[7].get(outputs) == 1 {
            self.want_conflicts += self.beats[self.next].cycles(&self.map) - 1;
            self.next += 1;
        }
        if s[8].get(outputs) == 1 {
            if self.outs == 0 {
                self.first_out = cycle;
            }
            self.outs += 1;
            self.last_out = cycle;
        }
        if self.finished() {
            self.conflicts = layout.output("conflicts_o").map_err(|e| e.to_string())?.get(outputs);
            if self.conflicts != self.want_conflicts {
                return Err(format!("conflicts_o = {}, want {}", self.conflicts, self.want_conflicts));
            }
        }
        Ok(1)
    }
}

impl Drains for GatherBench {
    fn finished(&self) -> bool {
        self.outs == self.beats.len()
    }

    fn progress(&self) -> (usize, usize) {
        (self.outs, self.beats.len())
    }
}

/// The read beats of the first `groups` groups and `heads` heads of a layout's pass, tokens
/// folded modulo `banks · fold` (which keeps every bank) so a shallow buffer holds them.
fn layout_beats(p: &TemporalAttentionParams, lay: &Layout, groups: u64, heads: u64, fold: u64) -> Vec<Beat> {
    let mut cmd = Command::frame_major(p, lay.frames, lay.positions, lay.pitch / 3, 0);
    if lay.order == "position-major" {
        cmd = Command::position_major(p, lay.frames, lay.positions, lay.pitch / 3, 0);
    }
    cmd.heads = heads.min(cmd.heads);
    cmd.positions = (groups * u64::from(p.lanes)).min(cmd.positions);
    let span = u64::from(p.banks) * fold;
    cmd.read_beats(p)
        .into_iter()
        .map(|b| match b {
            Beat::Read { token, word, keep } => {
                Beat::Read { token: token.iter().map(|t| t % span).collect(), word, keep }
            }
            other => other,
        })
        .collect()
}

/// Co-simulates the gather of every layout on a `banks`-bank buffer with `p.lanes` ports.
pub fn gather(p: &TemporalAttentionParams, progress: &dyn Fn(&str)) -> Result<Vec<Gather>, SimError> {
    let fold: u64 = 64;
    let bp = LatentBufferParams {
        banks: p.banks,
        depth: (fold * 128).next_power_of_two(),
        word_width: 8,
        read_ports: p.lanes,
        write_words: 1,
        pitch_width: p.pitch_width,
    };
    progress("building the 256-port latent buffer");
    let mut dut = VerilatorDut::build(
        &Design::single(&bp.build().map_err(|e| SimError::Design(e.to_string()))?).emit().sim_source(0),
    )?;
    let mut out = Vec::new();
    for lay in layouts() {
        progress(&format!("gather: {}", lay.name));
        let beats = layout_beats(p, &lay, 2, 2, fold);
        let map = Mapping {
            banks: u64::from(bp.banks),
            depth: bp.depth,
            pitch: lay.pitch,
            tokens: 1 << bp.token_width(),
        };
        let tokens: usize = beats
            .iter()
            .map(|b| match b {
                Beat::Read { keep, .. } => keep.iter().filter(|&&k| k).count(),
                _ => 0,
            })
            .sum();
        let plain_cycles: u64 = beats
            .iter()
            .map(|b| match b {
                Beat::Read { token, word, .. } => {
                    let mut load = std::collections::HashMap::new();
                    for (t, w) in token.iter().zip(word) {
                        *load.entry((t * lay.pitch + w) % map.banks).or_insert(0u64) += 1;
                    }
                    load.values().copied().max().unwrap_or(1)
                }
                _ => 0,
            })
            .sum();
        let mut bench = GatherBench {
            beats: beats.clone(),
            map,
            p: bp.clone(),
            next: 0,
            cycle: 0,
            outs: 0,
            first_out: 0,
            last_out: 0,
            conflicts: 0,
            want_conflicts: 0,
            slots: None,
        };
        run_until_done(&mut dut, &mut bench, 10_000_000, 1)?;
        let cycles = bench.last_out - bench.first_out + 1;
        out.push(Gather {
            layout: lay,
            beats: beats.len(),
            tokens_per_cycle: tokens as f64 / cycles as f64,
            conflict_cycles: bench.conflicts,
            plain_map_tokens_per_cycle: tokens as f64 / plain_cycles as f64,
        });
    }
    Ok(out)
}

/// The lanes' MAC utilization from a co-simulated engine, and the cycle model against it.
#[derive(Debug, Clone, Serialize)]
pub struct Utilization {
    /// Lanes of the co-simulated engine.
    pub lanes: u32,
    /// Head dimension.
    pub d: u32,
    /// Frames per sequence.
    pub frames: usize,
    /// Jobs (heads) co-simulated back to back.
    pub jobs: u64,
    /// Cycles from the command to its last output.
    pub cycles: u64,
    /// Kept (query, key) pairs per lane.
    pub pairs: u64,
    /// `pairs / cycles`: each pair is `2·d` multiply-accumulates on the lane's `2·d` multipliers.
    pub mac_utilization: f64,
    /// Cycles from the command to the first job's last output.
    pub fill_cycles: u64,
    /// Cycles between consecutive jobs' last outputs, in steady state.
    pub cycles_per_job: f64,
    /// Cycles the cycle model predicts from the command to the last output.
    pub predicted_cycles: u64,
    /// `(predicted − co-simulated) / co-simulated` cycles.
    pub cycle_model_error: f64,
    /// Output beats whose cycle the model got wrong (of `jobs · frames`).
    pub cycle_model_beats_off: usize,
}

/// Co-simulates `jobs` heads of one group on a 2-lane engine of `p`'s `d` and `t_max` (the lanes
/// are identical and in lockstep, so two stand for 256) at full pace, full mask, `frames` frames,
/// and compares every output beat's cycle with the cycle model's.
pub fn utilization(
    p: &TemporalAttentionParams,
    frames: usize,
    jobs: u64,
    progress: &dyn Fn(&str),
) -> Result<Utilization, SimError> {
    let q = TemporalAttentionParams {
        lanes: 2,
        banks: 8,
        depth: 512,
        write_words: 8,
        pitch_width: 5,
        ..p.clone()
    };
    let pitch = 3 * jobs;
    let cmd = Command::frame_major(&q, frames, 2, jobs, 0);
    cmd.check(&q).map_err(|e| SimError::Design(format!("{}: {}", e.field, e.message)))?;
    progress("building a 2-lane engine");
    let mut dut = VerilatorDut::build(
        &Design::single(&q.build().map_err(|e| SimError::Design(e.to_string()))?).emit().sim_source(0),
    )?;
    progress("co-simulating the temporal pass");
    let mut bench = TaeBench::scripted(&q, pitch, frames as u64 * 2, vec![cmd.clone()], Pace::FULL, 1);
    run_until_done(&mut dut, &mut bench, 50_000_000, 1)?;
    let start = bench.cmd_cycles[0];
    let model = predict(&q, &Mapping::new(&q.buffer(), pitch), std::slice::from_ref(&cmd), start);
    let off = bench.out_cycles.iter().zip(&model.out_cycles).filter(|(a, b)| a != b).count()
        + bench.out_cycles.len().abs_diff(model.out_cycles.len());
    let ends = job_ends(&bench.out_cycles, frames);
    let last = *ends.last().expect("one job at least");
    let predicted = model.out_cycles.last().copied().unwrap_or(start) - start;
    let pairs = jobs * cmd.mask.pairs(frames);
    let cycles = last - start;
    Ok(Utilization {
        lanes: q.lanes,
        d: q.d,
        frames,
        jobs,
        cycles,
        pairs,
        mac_utilization: pairs as f64 / cycles as f64,
        fill_cycles: ends[0] - start,
        cycles_per_job: (last - ends[0]) as f64 / (ends.len() - 1).max(1) as f64,
        predicted_cycles: predicted,
        cycle_model_error: (predicted as f64 - cycles as f64) / cycles as f64,
        cycle_model_beats_off: off,
    })
}

/// One Wan-14B layer's temporal pass on the configured engine, by the cycle model.
#[derive(Debug, Clone, Serialize)]
pub struct LayerPass {
    /// Jobs per lane: `ceil(14,400 / lanes) · 40` (the lanes run in lockstep).
    pub jobs_per_lane: u64,
    /// Cycles from the command to the last output.
    pub cycles: u64,
    /// Bank conflict cycles of the layer's read beats on the configured banks.
    pub conflict_cycles: u64,
    /// Kept pairs of all lanes over `cycles · lanes` (positions past 14,400 count as idle).
    pub mac_utilization: f64,
    /// The pass at the clock, ms.
    pub ms: f64,
    /// The same pass on an H200 (best of SDPA, bmm-softmax-bmm, torch.compile), ms.
    pub h200_ms: f64,
    /// Q, K and V bytes the pass reads (int8), GB.
    pub latent_gb: f64,
    /// The rate the latent buffer must be refilled at to keep the lanes busy, TB/s.
    pub refill_tb_per_s: f64,
}

/// The layer: 14,400 positions, 40 heads of d = 128 in 120-word tokens, T = 30, frame-major,
/// full mask, every read beat's conflicts from `p`'s bank map. The latent (6.6 GB) does not fit
/// the buffer; the pass assumes it is refilled as fast as it is read, without taking read cycles.
pub fn layer_pass(p: &TemporalAttentionParams, clock_mhz: f64) -> LayerPass {
    let (frames, positions, heads) = (30usize, 14_400u64, 40u64);
    let cmd = Command::frame_major(p, frames, positions, heads, 0);
    let map = Mapping { banks: u64::from(p.banks), depth: u64::MAX, pitch: 3 * heads, tokens: u64::MAX };
    let mut beat_cycles = Vec::new();
    for g in 0..cmd.groups(p) {
        for h in 0..heads {
            for x in 0..3 {
                beat_cycles.extend((0..frames).map(|t| cmd.read_beat(p, g, h, x, t).cycles(&map)));
            }
        }
    }
    let jobs = cmd.groups(p) * heads;
    let outs = job_timing(p, frames, &cmd.mask, jobs, 0, &beat_cycles);
    let cycles = *outs.last().expect("a beat");
    let ms = cycles as f64 / (clock_mhz * 1e3);
    let latent_gb = (positions * frames as u64 * heads * 3 * u64::from(p.d)) as f64 / 1e9;
    LayerPass {
        jobs_per_lane: jobs,
        cycles,
        conflict_cycles: beat_cycles.iter().map(|k| k - 1).sum(),
        mac_utilization: (positions * heads * cmd.mask.pairs(frames)) as f64
            / (cycles as f64 * f64::from(p.lanes)),
        ms,
        h200_ms: 9.8,
        latent_gb,
        refill_tb_per_s: latent_gb / ms,
    }
}

/// Steady-state pace of one mask, by the cycle model.
#[derive(Debug, Clone, Serialize)]
pub struct MaskPace {
    /// The mask.
    pub mask: String,
    /// Cycles a lane issues per job: one per kept pair, one per row with none.
    pub lane_cycles: u64,
    /// Read beats the loader needs per job (`3·T`).
    pub load_beats: u64,
    /// Cycles between consecutive jobs in steady state.
    pub cycles_per_job: u64,
    /// `(kept pairs per job) / cycles_per_job`.
    pub mac_utilization: f64,
}

/// Cycles per job of every mask at `frames` frames, conflict-free, by the cycle model.
pub fn mask_pace(p: &TemporalAttentionParams, frames: usize) -> Vec<MaskPace> {
    let jobs = 12u64;
    let mut all = masks(frames);
    all.push(("window 1 (the diagonal)", Mask { window: 1, ..Mask::default() }));
    all.into_iter()
        .map(|(name, mask)| {
            let outs = job_timing(p, frames, &mask, jobs, 0, &vec![1; jobs as usize * 3 * frames]);
            let ends = job_ends(&outs, frames);
            let per_job = ends[ends.len() - 1] - ends[ends.len() - 2];
            MaskPace {
                mask: name.into(),
                lane_cycles: mask.cycles(frames),
                load_beats: 3 * frames as u64,
                cycles_per_job: per_job,
                mac_utilization: mask.pairs(frames) as f64 / per_job as f64,
            }
        })
        .collect()
}

/// The whole benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct TaeReport {
    /// Clock the layer time uses, MHz.
    pub clock_mhz: f64,
    /// Lanes of the configured engine.
    pub lanes: u32,
    /// Accuracy per mask (T = 30, d = the config's).
    pub accuracy: Vec<Accuracy>,
    /// Gather per layout.
    pub gather: Vec<Gather>,
    /// MAC utilization and the cycle model, co-simulated.
    pub utilization: Utilization,
    /// One layer's pass by the cycle model.
    pub layer: LayerPass,
    /// Cycles per job per mask (T = 30) by the cycle model.
    pub masks: Vec<MaskPace>,
}

/// Runs the benchmark for engine `p`.
pub fn run(
    p: &TemporalAttentionParams,
    clock_mhz: f64,
    jobs: u64,
    progress: &dyn Fn(&str),
) -> Result<TaeReport, SimError> {
    progress("accuracy per mask");
    let accuracy = accuracy(p, 30, 64, 7);
    let gather = gather(p, progress)?;
    let utilization = utilization(p, 30, jobs, progress)?;
    progress("one layer by the cycle model");
    let layer = layer_pass(p, clock_mhz);
    let masks = mask_pace(p, 30);
    Ok(TaeReport { clock_mhz, lanes: p.lanes, accuracy, gather, utilization, layer, masks })
}

/// The report as text.
pub fn format_report(r: &TaeReport) -> String {
    let mut s = String::from("Accuracy vs f64 attention (T = 30, 64 jobs per mask)\n");
    s += &format!("{:<24} {:>14} {:>10} {:>10}\n", "mask", "max |err|", "cosine", "rel L2");
    for a in &r.accuracy {
        s += &format!("{:<24} {:>14.4} {:>10.6} {:>10.2e}\n", a.mask, a.max_abs_error, a.cosine, a.rel_l2);
    }
    s += &format!("\nGather on {} banks, {} read ports (co-simulated; plain map: model)\n", 256, r.lanes);
    s += &format!(
        "{:<38} {:>4} {:>7} {:>6} {:>11} {:>10} {:>10}\n",
        "layout", "T", "P", "words", "tokens/cyc", "conflicts", "plain map"
    );
    for g in &r.gather {
        let l = &g.layout;
        s += &format!(
            "{:<38} {:>4} {:>7} {:>6} {:>11.1} {:>10} {:>10.1}\n",
            l.name,
            l.frames,
            l.positions,
            l.pitch,
            g.tokens_per_cycle,
            g.conflict_cycles,
            g.plain_map_tokens_per_cycle
        );
    }
    let u = &r.utilization;
    s += &format!(
        "\nLanes (co-simulated {} lanes, d = {}, T = {}, {} jobs): MAC utilization {:.1}%, {:.1} cycles per job, fill {} cycles\n",
        u.lanes,
        u.d,
        u.frames,
        u.jobs,
        100.0 * u.mac_utilization,
        u.cycles_per_job,
        u.fill_cycles
    );
    s += &format!(
        "Cycle model: {} cycles vs {} co-simulated ({:+.2}% error), {} of {} output beats off\n",
        u.predicted_cycles,
        u.cycles,
        100.0 * u.cycle_model_error,
        u.cycle_model_beats_off,
        u.jobs * u.frames as u64
    );
    let l = &r.layer;
    s += &format!(
        "One Wan-14B layer's temporal pass (cycle model, {} lanes, {} jobs per lane): {} cycles, {} conflict cycles, MAC utilization {:.1}%\n",
        r.lanes,
        l.jobs_per_lane,
        l.cycles,
        l.conflict_cycles,
        100.0 * l.mac_utilization
    );
    s += &format!(
        "  at {:.0} MHz: {:.3} ms (H200: {} ms, {:.1}x); reads {:.2} GB of Q, K, V: the buffer must be refilled at {:.2} TB/s\n",
        r.clock_mhz,
        l.ms,
        l.h200_ms,
        l.h200_ms / l.ms,
        l.latent_gb,
        l.refill_tb_per_s
    );
    s += "\nCycles per job by mask (T = 30, cycle model, conflict-free)\n";
    s += &format!(
        "{:<24} {:>12} {:>11} {:>10} {:>10}\n",
        "mask", "lane cycles", "load beats", "cycles/job", "MAC util"
    );
    for m in &r.masks {
        s += &format!(
            "{:<24} {:>12} {:>11} {:>10} {:>9.1}%\n",
            m.mask,
            m.lane_cycles,
            m.load_beats,
            m.cycles_per_job,
            100.0 * m.mac_utilization
        );
    }
    s
}
