//! The link job: streams across every UCIe link of a package, through the package top
//! ([`super::package`]) with both dies programmed over their own AXI4-Lite ports.
//!
//! For each link `a` ↔ `b` and each direction: the link is brought up (both adapters asked for
//! Active over CSR), the receiving die routes its adapter's `rx` into its scratchpad write
//! channel, the sending die loads random beats into its scratchpad and routes a scratchpad read
//! channel into its adapter's `tx`; once the receiver's write channel is done its scratchpad is
//! read out on `host_out` and every beat is compared with what was sent. In the second
//! direction the link goes down for a while in the middle of the transfer (the adapters retrain
//! and replay; a flit under way is cancelled). Afterwards each adapter must hold all its
//! credits again (every flit freed by the far bridge), count no CRC errors, and its bridge must
//! have flagged neither an overflow nor a bad flit.

use super::DieTop;
use super::host::DieHost;
use super::jobs::{JobError, JobReport};
use crate::config::DieConfig;
use crate::hdl::Design;
use crate::sim::CycleSim;
use crate::sim::verilator::VerilatorDut;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Cycles a transfer or a link state change may take.
const LIMIT: u64 = 200_000;

/// `pl_state_sts` of an adapter retraining.
const RETRAIN: u64 = 0b1011;

/// Beats sent each way: as many as the smaller scratchpad holds, at most this.
const MAX_BEATS: u64 = 160;

struct Pkg<'s> {
    sim: &'s mut VerilatorDut,
    frame: Option<Vec<u32>>,
    tops: &'s [(String, DieTop)],
    fabric: u32,
    what: String,
}

impl Pkg<'_> {
    fn fail<T>(&self, message: String) -> Result<T, JobError> {
        Err(JobError::Failed { die: self.what.clone(), job: "link".into(), message })
    }

    /// Runs `f` with the host of die `die`, then keeps its input frame for the next host.
    fn on<T>(
        &mut self,
        die: &str,
        f: impl FnOnce(&mut DieHost<'_>) -> Result<T, super::host::HostError>,
    ) -> Result<T, JobError> {
        let top = &self.tops.iter().find(|(d, _)| d == die).unwrap_or_else(|| unreachable!("die {die}")).1;
        let frame = self.frame.take();
        let mut h = DieHost::in_package(self.sim, die, top, self.fabric, frame)
            .map_err(|e| JobError::Build(e.to_string()))?;
        let r = f(&mut h);
        self.frame = Some(h.into_frame());
        r.map_err(|e| JobError::Failed { die: self.what.clone(), job: "link".into(), message: e.to_string() })
    }
}

/// Runs the link job on every link of `config` (Verilator, one package model).
pub fn run(
    config: &DieConfig,
    seed: u64,
    mut report: impl FnMut(&JobReport),
) -> Result<Vec<JobReport>, JobError> {
    if config.links.is_empty() {
        return Ok(Vec::new());
    }
    let (module, tops) =
        crate::generate::build_package(config).map_err(|e| JobError::Build(e.to_string()))?;
    let mut sim = VerilatorDut::build(&Design::single(&module).emit().sim_source(0))?;
    let mut out = Vec::new();
    let mut rng = StdRng::seed_from_u64(seed);
    for (i, l) in config.links.iter().enumerate() {
        let fabric = config.die(&l.a.0).map_err(|e| JobError::Build(e.to_string()))?.fabric.bits;
        let what = format!("{}.{} <-> {}.{}", l.a.0, l.a.1, l.b.0, l.b.1);
        let mut p = Pkg { sim: &mut sim, frame: None, tops: &tops, fabric, what: what.clone() };
        if i == 0 {
            p.on(&l.a.0, |h| h.reset(3))?;
        }
        let up = format!("link{i}_up_i");
        let t0 = p.sim.cycles_run();
        p.on(&l.a.0, |h| h.set_top_input(&up, 1))?;
        for (die, inst) in [&l.a, &l.b] {
            p.on(die, |h| h.set_value(&format!("{inst}_lp_state_req"), 1))?;
        }
        for (die, inst) in [&l.a, &l.b] {
            let sts = p.on(die, |h| {
                let t = h.cycle;
                while h.get_value(&format!("{inst}_pl_state_sts"))? != 1 && h.cycle - t < LIMIT {}
                h.get_value(&format!("{inst}_pl_state_sts"))
            })?;
            if sts != 1 {
                return p.fail(format!("{die}.{inst} never reached Active (status {sts:#06b})"));
            }
        }
        let mut checks = 0;
        for (dir, (from, to)) in [(&l.a, &l.b), (&l.b, &l.a)].into_iter().enumerate() {
            let depth = |die: &str| {
                tops.iter()
                    .find(|(d, _)| d == die)
                    .and_then(|(_, t)| t.srams.iter().find(|(r, _)| r == "scratchpad"))
                    .map(|(_, s)| s.depth)
                    .unwrap_or(0)
            };
            let n = depth(&from.0).min(depth(&to.0)).min(MAX_BEATS);
            if n == 0 {
                return p
                    .fail(format!("dies {} and {} need a scratchpad each for the link job", from.0, to.0));
            }
            let words = fabric.div_ceil(32) as usize;
            let beats: Vec<Vec<u32>> = (0..n)
                .map(|_| {
                    let mut b: Vec<u32> = (0..words).map(|_| rng.random()).collect();
                    if fabric % 32 != 0 {
                        b[words - 1] &= (1 << (fabric % 32)) - 1;
                    }
                    b
                })
                .collect();
            let rx = format!("{}_rx", to.1);
            let before = p.on(&to.0, |h| {
                h.route("spad_wr", Some(&rx))?;
                h.start_dma("spad_wr", 0, n)?;
                h.get_value("switch_beats_spad_wr")
            })?;
            let tx = format!("{}_tx", from.1);
            p.on(&from.0, |h| {
                h.load("spad_wr", 0, &beats)?;
                h.route(&tx, Some("spad_rd0"))?;
                h.start_dma("spad_rd0", 0, n)
            })?;
            if dir == 1 {
                // Down in the middle of the transfer, then up again: the adapters retrain.
                let inst = &from.1;
                let (sts, moved) = p.on(&from.0, |h| {
                    h.idle(40)?;
                    h.set_top_input(&up, 0)?;
                    h.idle(10)?;
                    let sts = h.get_value(&format!("{inst}_pl_state_sts"))?;
                    let moved = h.get_value(&format!("switch_beats_{inst}_tx"))?;
                    h.idle(40)?;
                    h.set_top_input(&up, 1)?;
                    Ok((sts, moved))
                })?;
                if sts != RETRAIN || moved == 0 || moved >= n {
                    return p.fail(format!(
                        "{}.{inst} with the link down: status {sts:#06b} (Retrain is {RETRAIN:#06b}), {moved} of {n} beats taken: the drop must fall mid-transfer",
                        from.0
                    ));
                }
                checks += 1;
            }
            let done = p.on(&to.0, |h| {
                let t = h.cycle;
                while h.get_value("spad_wr_done")? == 0 && h.cycle - t < LIMIT {}
                let done = h.get_value("spad_wr_done")?;
                h.set_value("spad_wr_done", 1)?;
                h.route("spad_wr", None)?;
                Ok(done)
            })?;
            if done == 0 {
                let got = p.on(&to.0, |h| h.get_value("switch_beats_spad_wr"))? - before;
                return p.fail(format!(
                    "{} -> {}: the write channel did not finish; {got} beats of {n} arrived",
                    from.0, to.0
                ));
            }
            p.on(&from.0, |h| h.route(&tx, None))?;
            let got = p.on(&to.0, |h| {
                h.route("host_out", Some("spad_rd0"))?;
                h.start_dma("spad_rd0", 0, n)?;
                h.run_until("reading the received beats", LIMIT, |h| h.received.len() as u64 >= n)?;
                h.route("host_out", None)?;
                Ok(std::mem::take(&mut h.received))
            })?;
            for (j, (g, w)) in got.iter().zip(&beats).enumerate() {
                if g != w {
                    return p
                        .fail(format!("{} -> {}: beat {j} arrived as {g:x?}, sent {w:x?}", from.0, to.0));
                }
                checks += 1;
            }
        }
        for (die, inst) in [&l.a, &l.b] {
            let credits = Some(u64::from(
                super::jobs::params::<crate::blocks::ucie::UcieAdapterParams>(config, die, inst)?.credits,
            ));
            let (held, crc, overflow, error) = p.on(die, |h| {
                let t = h.cycle;
                while Some(h.get_value(&format!("{inst}_tx_credits"))?) != credits && h.cycle - t < 2_000 {}
                Ok((
                    h.get_value(&format!("{inst}_tx_credits"))?,
                    h.get_value(&format!("{inst}_stat_crc_errors"))?,
                    h.get_value(&format!("{inst}_rx_overflow"))?,
                    h.get_value(&format!("{inst}_rx_error"))?,
                ))
            })?;
            if Some(held) != credits || crc != 0 || overflow != 0 || error != 0 {
                return p.fail(format!(
                    "{die}.{inst} after the transfers: {held} credits held of {credits:?}, {crc} CRC errors, overflow {overflow}, bad flit {error}"
                ));
            }
            checks += 1;
        }
        let cycles = p.sim.cycles_run() - t0;
        let r = JobReport {
            die: what,
            job: "link".into(),
            checks,
            cycles,
            detail: "beats both ways through the UCIe link, the second way with the link down mid-transfer"
                .into(),
        };
        report(&r);
        out.push(r);
    }
    Ok(out)
}
