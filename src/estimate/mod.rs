//! `vdx estimate`: what a die configuration would do on a video DiT. An analytic model of one
//! denoising step: its FLOP by part, the cycles of each part on each compute die from the
//! blocks' own cycle models and the die's fabric ([`cycles`]), whether the weights and
//! activations fit the SRAM, the UCIe traffic per die boundary, and the latency per step and
//! per clip. It also reproduces the article's accounting and says where it breaks.
//!
//! # What is modelled
//! Per transformer block on a compute die, one after the other: the linear layers on the die's
//! `systolic_ws` (self-attention Q, K, V, O; cross-attention Q, O and the text's K, V; the
//! feed-forward pair; W4A8 or W8A8 per step), factored spatial attention (every frame, every head)
//! and cross-attention on its `spatial_attention` lanes, factored temporal attention on its
//! `temporal_attention`. The dies run the layers in a pipeline (`--split`); a step passes
//! through them in turn (sequential), or, with micro-batches of tokens, as fast as the slowest
//! die (pipelined). Not modelled: the VAE decoder (not available), softmax-free glue (norms,
//! modulation, residuals), overlap between engines of one die.

pub mod cycles;
pub mod models;
pub mod report;

use crate::config::{Die, DieConfig};
use cycles::Cycles;
use models::{Flops, Geometry, Model};
use serde::de::DeserializeOwned;

/// Which linear-layer precision each step uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// 4-bit weights, 8-bit activations: two MACs per PE per cycle.
    W4a8,
    /// 8-bit weights and activations.
    W8a8,
    /// W4A8 for the first half of the steps (noisy latents tolerate it), W8A8 for the rest.
    Schedule,
}

/// What to estimate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Workload {
    /// The model.
    pub model: Model,
    /// `(name, width, height)`.
    pub resolution: (String, u64, u64),
    /// Video frames.
    pub frames: u64,
    /// Denoising steps.
    pub steps: u64,
    /// Linear-layer precision.
    pub precision: Precision,
    /// Layers per compute die, in die order.
    pub split: Vec<u64>,
    /// Energy per operation in pJ, if known.
    pub pj_per_op: Option<f64>,
}

/// One compute die's share of a step.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DieShare {
    /// Die.
    pub die: String,
    /// Transformer blocks it runs.
    pub layers: u64,
    /// Linear layers of one block, W4A8.
    pub linear_w4: Cycles,
    /// Linear layers of one block, W8A8.
    pub linear_w8: Cycles,
    /// Spatial attention of one block.
    pub spatial: Cycles,
    /// Cross-attention of one block.
    pub cross: Cycles,
    /// Temporal attention of one block.
    pub temporal: Cycles,
    /// Weight bytes of its layers at the step's widest precision.
    pub weight_bytes: u64,
    /// Its weight SRAM, bytes.
    pub weight_sram_bytes: u64,
    /// One step's activations (the tokens × hidden size, INT8), bytes.
    pub activation_bytes: u64,
    /// Its scratchpad, bytes.
    pub scratchpad_bytes: u64,
}

impl DieShare {
    /// Cycles of one step's layers on the die at W4A8 (`w4`) or W8A8.
    pub fn step_cycles(&self, w4: bool) -> u64 {
        let lin = if w4 { self.linear_w4 } else { self.linear_w8 };
        self.layers * (lin.total() + self.spatial.total() + self.cross.total() + self.temporal.total())
    }
}

/// The estimate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Estimate {
    /// Config.
    pub config: String,
    /// Clock, MHz.
    pub clock_mhz: f64,
    /// What was estimated.
    pub workload: Workload,
    /// The article's token count.
    pub geometry: Geometry,
    /// The model's own token count (with its patchify and causal VAE).
    pub model_geometry: Geometry,
    /// FLOP per step, article geometry.
    pub flops: Flops,
    /// FLOP per step, the model's geometry.
    pub model_flops: Flops,
    /// Per compute die.
    pub dies: Vec<DieShare>,
    /// Peak of the compute dies in TOPS (2 ops per MAC, W4A8 on the arrays).
    pub peak_tops: f64,
    /// Bytes crossing each die boundary per step (INT8 activations of every token).
    pub boundary_bytes: u64,
    /// UCIe bandwidth of a link as the die uses it, GB/s: the lesser of the two below.
    pub link_gb_s: f64,
    /// Payload the link's lanes carry per direction, GB/s.
    pub link_phy_gb_s: f64,
    /// What one adapter with its protocol-layer bridge moves between the die's switch and the
    /// link per direction, GB/s ([`crate::blocks::ucie::bridge::BridgeShape::beats_per_cycle`]
    /// beats of `fabric_bits` per cycle).
    pub link_bridge_gb_s: f64,
    /// Seconds per step, W4A8 and W8A8: dies in turn.
    pub step_seconds: (f64, f64),
    /// Seconds per step, W4A8 and W8A8: dies pipelined (the slowest die).
    pub step_seconds_pipelined: (f64, f64),
    /// Seconds of denoising for the clip (in turn, pipelined).
    pub clip_seconds: (f64, f64),
    /// Effective TOPS the factored workload would need for 1.3 s of denoising (the article's
    /// budget for its 1.5 s clip).
    pub tops_for_claim: f64,
    /// Joules per clip, if an energy per operation is given.
    pub clip_joules: Option<f64>,
}

/// Seconds of denoising the article claims for a 5 s 720p clip (1.5 s with the VAE's 0.12 s).
pub const ARTICLE_DENOISE_SECONDS: f64 = 1.3;

fn block<P: DeserializeOwned>(die: &Die, name: &str) -> Option<P> {
    let b = die.blocks.iter().find(|b| b.block == name)?;
    toml::Value::Table(b.elaborated.as_ref()?.params_table()).try_into().ok()
}

/// Estimates `w` on `config`'s compute dies (those with a `systolic_ws`).
pub fn estimate(config: &DieConfig, w: &Workload) -> Result<Estimate, String> {
    use crate::blocks::attention::SpatialAttentionParams;
    use crate::blocks::systolic::SystolicParams;
    use crate::blocks::temporal::TemporalAttentionParams;
    let m = &w.model;
    let (_, width, height) = w.resolution;
    let g = Geometry::article(width, height, w.frames);
    let mg = Geometry::model(m, width, height, w.frames);
    let compute: Vec<&Die> =
        config.dies.iter().filter(|d| d.blocks.iter().any(|b| b.block == "systolic_ws")).collect();
    if compute.is_empty() {
        return Err(format!("config {}: no die has a systolic_ws to run the linear layers", config.name));
    }
    if w.split.len() != compute.len() || w.split.iter().sum::<u64>() != m.layers {
        return Err(format!(
            "--split {:?}: give one layer count per compute die ({}) adding up to {}'s {} layers",
            w.split,
            compute.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", "),
            m.name,
            m.layers
        ));
    }
    let (n, d, heads) = (g.tokens(), m.dim, m.heads);
    let head_dim = d / heads;
    let mut dies = Vec::new();
    let mut peak_macs = 0u64;
    for (die, &layers) in compute.iter().zip(&w.split) {
        let fb = die.fabric.bits;
        let mesh: SystolicParams = block(die, "systolic_ws").ok_or("unreadable systolic_ws")?;
        peak_macs += mesh.peak_macs(true);
        let linear = |w4: bool| {
            let shapes = [(n, d, d, 6u64), (n, d, m.ffn, 1), (n, m.ffn, d, 1), (m.text_tokens, d, d, 2)];
            shapes.iter().fold(Cycles { compute: 0, fabric: 0 }, |acc, &(mm, k, nn, times)| {
                acc.then(cycles::gemm(&mesh, fb, mm, k, nn, w4), times)
            })
        };
        let none = Cycles { compute: 0, fabric: 0 };
        let (spatial, cross) = match block::<SpatialAttentionParams>(die, "spatial_attention") {
            Some(sae) => {
                peak_macs += sae.peak_macs() * u64::from(sae.lanes);
                if u64::from(sae.d) != head_dim {
                    return Err(format!(
                        "die {}: the SAE's d = {} is not {}'s head size {head_dim}",
                        die.name, sae.d, m.name
                    ));
                }
                let passes = heads.div_ceil(u64::from(sae.lanes));
                let one = cycles::spatial(&sae, fb, g.tokens_per_frame, false);
                let x = cycles::cross(&sae, fb, n, m.text_tokens);
                (none.then(one, g.frames * passes), none.then(x, passes))
            }
            None => return Err(format!("die {}: no spatial_attention for the attention", die.name)),
        };
        let temporal = match block::<TemporalAttentionParams>(die, "temporal_attention") {
            Some(tae) => {
                peak_macs += tae.macs();
                cycles::temporal(&tae, fb, g.frames, g.tokens_per_frame, heads)
            }
            None => return Err(format!("die {}: no temporal_attention", die.name)),
        };
        let per_layer_weights = 4 * d * d + 2 * d * m.ffn + 4 * d * d;
        let bytes_per_weight = if w.precision == Precision::W4a8 { 0.5 } else { 1.0 };
        dies.push(DieShare {
            die: die.name.clone(),
            layers,
            linear_w4: linear(true),
            linear_w8: linear(false),
            spatial,
            cross,
            temporal,
            weight_bytes: (layers as f64 * per_layer_weights as f64 * bytes_per_weight) as u64,
            weight_sram_bytes: die.fabric.weight_sram_kib * 1024,
            activation_bytes: n * d,
            scratchpad_bytes: die.fabric.scratchpad_kib * 1024,
        });
    }
    let hz = config.clock_mhz * 1e6;
    let seq = |w4: bool| dies.iter().map(|s| s.step_cycles(w4)).sum::<u64>() as f64 / hz;
    let pipe = |w4: bool| dies.iter().map(|s| s.step_cycles(w4)).max().unwrap_or(0) as f64 / hz;
    let steps = w.steps as f64;
    let w4_steps = match w.precision {
        Precision::W4a8 => steps,
        Precision::W8a8 => 0.0,
        Precision::Schedule => (w.steps.div_ceil(2)) as f64,
    };
    let clip = |f: &dyn Fn(bool) -> f64| w4_steps * f(true) + (steps - w4_steps) * f(false);
    let flops = Flops::of(m, &g);
    // A link moves what the lanes carry as payload, or what one adapter with its bridge moves
    // between the die's switch and the flits, whichever is less.
    let link = config.dies.iter().find_map(|d| {
        let b = d.blocks.iter().find(|b| b.block == "ucie_adapter")?;
        let e = b.elaborated.as_ref()?;
        let u: crate::blocks::ucie::UcieAdapterParams =
            toml::Value::Table(e.params_table()).try_into().ok()?;
        let phy = u.bandwidth(config.clock_mhz, crate::blocks::ucie::golden::PAYLOAD as u32).payload_gb_s;
        let shape = crate::blocks::ucie::bridge::BridgeShape::new(d.fabric.bits, u.bytes, u.credits);
        let bridge = shape.beats_per_cycle() * f64::from(d.fabric.bits) / 8.0 * config.clock_mhz / 1000.0;
        Some((phy, bridge))
    });
    let (link_phy_gb_s, link_bridge_gb_s) = link.unwrap_or((0.0, 0.0));
    let link_gb_s = link_phy_gb_s.min(link_bridge_gb_s);
    let boundary = n * d;
    let boundary_s = if link_gb_s > 0.0 { boundary as f64 / (link_gb_s * 1e9) } else { 0.0 };
    let step = (
        seq(true) + boundary_s * (dies.len() as f64 - 1.0),
        seq(false) + boundary_s * (dies.len() as f64 - 1.0),
    );
    let step_p = (pipe(true).max(boundary_s), pipe(false).max(boundary_s));
    let clip_seq = w4_steps * step.0 + (steps - w4_steps) * step.1;
    let clip_pipe = clip(&pipe);
    let ops = flops.factored() * steps;
    Ok(Estimate {
        config: config.name.clone(),
        clock_mhz: config.clock_mhz,
        workload: w.clone(),
        geometry: g,
        model_geometry: mg,
        flops,
        model_flops: Flops::of(m, &mg),
        peak_tops: 2.0 * peak_macs as f64 * hz / 1e12,
        dies,
        boundary_bytes: boundary,
        link_gb_s,
        link_phy_gb_s,
        link_bridge_gb_s,
        step_seconds: step,
        step_seconds_pipelined: step_p,
        clip_seconds: (clip_seq, clip_pipe.max(steps * boundary_s)),
        tops_for_claim: ops / ARTICLE_DENOISE_SECONDS / 1e12,
        clip_joules: w.pj_per_op.map(|pj| ops * pj * 1e-12),
    })
}
