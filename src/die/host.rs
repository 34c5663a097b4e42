//! A host for a simulated die top: an AXI4-Lite master on its CSR port and a producer and
//! consumer on its `host_in` / `host_out` streams, one cycle at a time on any [`CycleSim`].
//! The die-level tests and `vdx sim --die` drive a die through it the way software would:
//! program routes and DMA channels, stream data in, start blocks, collect what comes out.

use super::regmap::RegMap;
use crate::sim::{CycleSim, PortLayout, SimError};
use std::collections::VecDeque;

/// Cycles an AXI4-Lite transfer may take before the host gives up.
const AXI_TIMEOUT: u64 = 1_000;

/// What went wrong while driving a die.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The simulator failed.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The die did not do something in time, or answered with an error.
    #[error("cycle {cycle}: {message}")]
    Die {
        /// Cycle of the failure.
        cycle: u64,
        /// What happened.
        message: String,
    },
}

/// Splits a beat of `width` bits (words of 32, least significant first) into fabric beats of
/// `fabric` bits, least significant first: what a die's upsizer gathers back.
pub fn to_fabric(words: &[u32], width: u32, fabric: u32) -> Vec<Vec<u32>> {
    let get = |b: u32| words.get((b / 32) as usize).is_some_and(|w| w >> (b % 32) & 1 == 1);
    (0..width.div_ceil(fabric))
        .map(|i| {
            let mut beat = vec![0u32; fabric.div_ceil(32) as usize];
            for b in 0..fabric {
                let at = i * fabric + b;
                if at < width && get(at) {
                    beat[(b / 32) as usize] |= 1 << (b % 32);
                }
            }
            beat
        })
        .collect()
}

/// Joins fabric beats back into beats of `width` bits: the inverse of [`to_fabric`].
pub fn from_fabric(beats: &[Vec<u32>], width: u32, fabric: u32) -> Vec<Vec<u32>> {
    let n = width.div_ceil(fabric) as usize;
    beats
        .chunks(n)
        .map(|parts| {
            let mut out = vec![0u32; width.div_ceil(32) as usize];
            for (i, p) in parts.iter().enumerate() {
                for b in 0..fabric {
                    let at = i as u32 * fabric + b;
                    if at < width && p[(b / 32) as usize] >> (b % 32) & 1 == 1 {
                        out[(at / 32) as usize] |= 1 << (at % 32);
                    }
                }
            }
            out
        })
        .collect()
}

/// A host attached to a die top.
pub struct DieHost<'a> {
    sim: &'a mut dyn CycleSim,
    layout: PortLayout,
    inputs: Vec<u32>,
    outputs: Vec<u32>,
    map: RegMap,
    sources: Vec<String>,
    fabric: u32,
    /// Prefix of the die's ports in the simulated top (empty for a die top simulated alone).
    prefix: String,
    /// Cycles simulated through this host.
    pub cycle: u64,
    /// Beats waiting to enter `host_in`, oldest first.
    pub send: VecDeque<Vec<u32>>,
    /// Beats taken from `host_out`, oldest first.
    pub received: Vec<Vec<u32>>,
}

impl<'a> DieHost<'a> {
    /// A host for a die whose map is `map` and whose switch sources are `sources`.
    pub fn new(sim: &'a mut dyn CycleSim, map: &RegMap, sources: &[String], fabric: u32) -> Self {
        let layout = sim.layout().clone();
        let inputs = vec![0u32; layout.in_words];
        let outputs = vec![0u32; layout.out_words];
        DieHost {
            sim,
            layout,
            inputs,
            outputs,
            map: map.clone(),
            sources: sources.to_vec(),
            fabric,
            prefix: String::new(),
            cycle: 0,
            send: VecDeque::new(),
            received: Vec::new(),
        }
    }

    /// A host for die `die` of a package top ([`super::package`]), whose ports carry the prefix
    /// `<die>_`. `frame` is the input frame the previous host of the same simulation left
    /// ([`Self::into_frame`]; `None` for the first), so that switching from one die's host to
    /// another's changes no other port; reset is held released.
    pub fn in_package(
        sim: &'a mut dyn CycleSim,
        die: &str,
        top: &super::DieTop,
        fabric: u32,
        frame: Option<Vec<u32>>,
    ) -> Result<Self, HostError> {
        let mut h = DieHost::new(sim, &top.regmap, &top.sources, fabric);
        h.cycle = h.sim.cycles_run();
        if let Some(f) = frame {
            h.inputs = f;
        }
        h.prefix = format!("{die}_");
        h.set(crate::sim::RESET_PORT, 1)?;
        Ok(h)
    }

    /// The input frame, for the next host of the same simulation.
    pub fn into_frame(self) -> Vec<u32> {
        self.inputs
    }

    /// The name of the die's port `port` in the simulated top.
    fn port(&self, port: &str) -> String {
        if port == crate::sim::RESET_PORT { port.to_string() } else { format!("{}{port}", self.prefix) }
    }

    /// Sets an input port of the simulated top that is not the die's (such as a package's
    /// link-up input); it holds until set again.
    pub fn set_top_input(&mut self, port: &str, value: u64) -> Result<(), HostError> {
        self.layout.input(port)?.set(&mut self.inputs, value);
        Ok(())
    }

    fn set(&mut self, port: &str, value: u64) -> Result<(), HostError> {
        let name = self.port(port);
        self.layout.input(&name)?.set(&mut self.inputs, value);
        Ok(())
    }

    fn out(&self, port: &str) -> Result<u64, HostError> {
        Ok(self.layout.output(&self.port(port))?.get(&self.outputs))
    }

    fn fail<T>(&self, message: String) -> Result<T, HostError> {
        Err(HostError::Die { cycle: self.cycle, message })
    }

    /// Simulates one cycle: offers the next `send` beat, takes any `host_out` beat.
    pub fn tick(&mut self) -> Result<(), HostError> {
        let offer = self.send.front().cloned();
        self.set("host_in_valid_i", u64::from(offer.is_some()))?;
        let beat = offer.clone().unwrap_or_else(|| vec![0; self.fabric.div_ceil(32) as usize]);
        self.layout.input(&self.port("host_in_data_i"))?.set_words(&mut self.inputs, &beat);
        self.set("host_out_ready_i", 1)?;
        self.sim.run(&self.inputs, &mut self.outputs)?;
        self.cycle += 1;
        if offer.is_some() && self.out("host_in_ready_o")? == 1 {
            self.send.pop_front();
        }
        if self.out("host_out_valid_o")? == 1 {
            let data = self.layout.output(&self.port("host_out_data_o"))?.get_words(&self.outputs).to_vec();
            self.received.push(data);
        }
        Ok(())
    }

    /// Simulates `cycles` cycles ([`Self::tick`]).
    pub fn idle(&mut self, cycles: u64) -> Result<(), HostError> {
        (0..cycles).try_for_each(|_| self.tick())
    }

    /// Holds reset for `cycles` cycles, then releases it.
    pub fn reset(&mut self, cycles: u64) -> Result<(), HostError> {
        self.set("rst_ni", 0)?;
        for _ in 0..cycles {
            self.sim.run(&self.inputs, &mut self.outputs)?;
            self.cycle += 1;
        }
        self.set("rst_ni", 1)
    }

    /// Ticks until output `port` is 1 in a cycle (the handshake happened at its edge), failing
    /// with `what` once [`AXI_TIMEOUT`] cycles have passed since `t0`.
    fn tick_until(&mut self, port: &str, t0: u64, what: impl Fn() -> String) -> Result<(), HostError> {
        loop {
            self.tick()?;
            if self.out(port)? == 1 {
                return Ok(());
            }
            if self.cycle - t0 > AXI_TIMEOUT {
                return self.fail(what());
            }
        }
    }

    /// One AXI4-Lite write of `data` at byte offset `addr`; returns `bresp`.
    pub fn axi_write(&mut self, addr: u32, data: u32) -> Result<u64, HostError> {
        self.set("s_axil_awaddr_i", u64::from(addr))?;
        self.set("s_axil_wdata_i", u64::from(data))?;
        self.set("s_axil_wstrb_i", 0xf)?;
        self.set("s_axil_awvalid_i", 1)?;
        self.set("s_axil_wvalid_i", 1)?;
        let t0 = self.cycle;
        self.tick_until("s_axil_awready_o", t0, || format!("write to {addr:#x}: awready never came"))?;
        self.set("s_axil_awvalid_i", 0)?;
        self.set("s_axil_wvalid_i", 0)?;
        self.set("s_axil_bready_i", 1)?;
        self.tick_until("s_axil_bvalid_o", t0, || format!("write to {addr:#x}: no response"))?;
        let resp = self.out("s_axil_bresp_o")?;
        self.set("s_axil_bready_i", 0)?;
        Ok(resp)
    }

    /// One AXI4-Lite read at byte offset `addr`; returns `(rdata, rresp)`.
    pub fn axi_read(&mut self, addr: u32) -> Result<(u32, u64), HostError> {
        self.set("s_axil_araddr_i", u64::from(addr))?;
        self.set("s_axil_arvalid_i", 1)?;
        let t0 = self.cycle;
        self.tick_until("s_axil_arready_o", t0, || format!("read of {addr:#x}: arready never came"))?;
        self.set("s_axil_arvalid_i", 0)?;
        self.set("s_axil_rready_i", 1)?;
        self.tick_until("s_axil_rvalid_o", t0, || format!("read of {addr:#x}: no data"))?;
        let data = self.out("s_axil_rdata_o")? as u32;
        let resp = self.out("s_axil_rresp_o")?;
        self.set("s_axil_rready_i", 0)?;
        Ok((data, resp))
    }

    /// Writes CSR value `name` (every register it spans), checking for OKAY.
    pub fn write(&mut self, name: &str, value: &[u32]) -> Result<(), HostError> {
        let Some(v) = self.map.find(name).cloned() else {
            return self.fail(format!("the register map has no value `{name}`"));
        };
        for (i, (reg, offset, _, _)) in v.parts().into_iter().enumerate() {
            let resp = self.axi_write(offset, value.get(i).copied().unwrap_or(0))?;
            if resp != 0 {
                return self.fail(format!("write of {reg} answered {resp:#b}"));
            }
        }
        Ok(())
    }

    /// [`Self::write`] of a value of at most 64 bits.
    pub fn set_value(&mut self, name: &str, value: u64) -> Result<(), HostError> {
        self.write(name, &[value as u32, (value >> 32) as u32])
    }

    /// Reads CSR value `name` (at most 64 bits), checking for OKAY.
    pub fn get_value(&mut self, name: &str) -> Result<u64, HostError> {
        let Some(v) = self.map.find(name).cloned() else {
            return self.fail(format!("the register map has no value `{name}`"));
        };
        let mut value = 0u64;
        for (i, (reg, offset, _, _)) in v.parts().into_iter().enumerate().take(2) {
            let (data, resp) = self.axi_read(offset)?;
            if resp != 0 {
                return self.fail(format!("read of {reg} answered {resp:#b}"));
            }
            value |= u64::from(data) << (32 * i);
        }
        Ok(value)
    }

    /// Routes switch sink `sink` to source `source` (`None`: to nothing).
    pub fn route(&mut self, sink: &str, source: Option<&str>) -> Result<(), HostError> {
        let code = match source {
            None => 0,
            Some(s) => match self.sources.iter().position(|x| x == s) {
                Some(i) => i as u64 + 1,
                None => {
                    return self
                        .fail(format!("no switch source `{s}`; sources: {}", self.sources.join(", ")));
                }
            },
        };
        self.set_value(&format!("switch_route_{sink}"), code)
    }

    /// Programs DMA channel `chan` (`base`, `count` words) and starts it.
    pub fn start_dma(&mut self, chan: &str, base: u64, count: u64) -> Result<(), HostError> {
        self.set_value(&format!("{chan}_base"), base)?;
        self.set_value(&format!("{chan}_count"), count)?;
        self.set_value(&format!("{chan}_start"), 1)
    }

    /// Runs until `done` says so or `limit` cycles pass (an error naming `what`).
    pub fn run_until(
        &mut self,
        what: &str,
        limit: u64,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Result<u64, HostError> {
        let t0 = self.cycle;
        while !done(self) {
            if self.cycle - t0 >= limit {
                return self.fail(format!(
                    "{what}: not done after {limit} cycles ({} beats left to send, {} received)",
                    self.send.len(),
                    self.received.len()
                ));
            }
            self.tick()?;
        }
        Ok(self.cycle - t0)
    }

    /// Streams `beats` (fabric beats) into memory channel `chan` at `base` and waits until every
    /// one is written: routes `chan` to `host_in`, starts it, sends, then checks its `done` flag.
    pub fn load(&mut self, chan: &str, base: u64, beats: &[Vec<u32>]) -> Result<(), HostError> {
        self.route(chan, Some("host_in"))?;
        self.start_dma(chan, base, beats.len() as u64)?;
        self.send.extend(beats.iter().cloned());
        self.run_until(
            &format!("loading {} beats through {chan}", beats.len()),
            100 * beats.len() as u64 + 100,
            |h| h.send.is_empty(),
        )?;
        let t0 = self.cycle;
        while self.get_value(&format!("{chan}_done"))? == 0 {
            if self.cycle - t0 > 1_000 {
                return self.fail(format!("{chan}: done never set after its beats were sent"));
            }
        }
        self.set_value(&format!("{chan}_done"), 1)?;
        self.route(chan, None)
    }
}
