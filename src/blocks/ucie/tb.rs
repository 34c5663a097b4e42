//! Co-simulation of `vdx_ucie_crc`: random messages in chunks, with random idle cycles (junk on
//! the data inputs, `en_i` low) between chunks; `crc_o` is checked every cycle against the
//! golden LFSR, and a message's last chunk against [`golden::crc16`] of the whole message.

use super::golden::{self, crc_update};
use crate::sim::check::CycleModel;
use crate::sim::{PortLayout, Slot};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::collections::VecDeque;

struct Ports {
    rst: Slot,
    en: Slot,
    start: Slot,
    data: Slot,
    crc: Slot,
}

/// The host testbench of `vdx_ucie_crc` with `bytes` bytes per chunk.
pub struct CrcBench {
    bytes: usize,
    rng: StdRng,
    ports: Option<Ports>,
    cycle: u64,
    /// The model's state: the CRC after the last enabled chunk.
    state: u16,
    /// The bytes of the message so far.
    message: Vec<u8>,
    /// Chunks of the message being given still to come.
    chunks_planned: usize,
    /// Inputs given and not yet checked, oldest first: `(en, start, chunk)` (the runner asks
    /// for a batch of stimulus before it checks any of it).
    given: VecDeque<(bool, bool, Vec<u8>)>,
    /// Messages of exactly 128 bytes whose CRC was checked against [`golden::crc16`].
    pub whole_messages: usize,
    /// Enabled chunks checked.
    pub chunks: usize,
}

impl CrcBench {
    /// A bench for chunks of `bytes` bytes.
    pub fn new(bytes: u32, seed: u64) -> Self {
        CrcBench {
            bytes: bytes as usize,
            rng: StdRng::seed_from_u64(seed ^ 0xc4c1_6a11),
            ports: None,
            cycle: 0,
            state: 0,
            message: Vec::new(),
            chunks_planned: 0,
            given: VecDeque::new(),
            whole_messages: 0,
            chunks: 0,
        }
    }

    fn ports(&mut self, layout: &PortLayout) {
        if self.ports.is_some() {
            return;
        }
        let i = |n: &str| layout.input(n).unwrap_or_else(|e| panic!("CrcBench: {e}")).clone();
        let o = |n: &str| layout.output(n).unwrap_or_else(|e| panic!("CrcBench: {e}")).clone();
        self.ports = Some(Ports {
            rst: i("rst_ni"),
            en: i("en_i"),
            start: i("start_i"),
            data: i("data_i"),
            crc: o("crc_o"),
        });
    }
}

/// Little-endian 32-bit words of `bytes` (byte `j` in bits `[8j+7:8j]` of the port).
pub(super) fn words(bytes: &[u8]) -> Vec<u32> {
    bytes.chunks(4).map(|c| c.iter().rev().fold(0u32, |w, &b| w << 8 | u32::from(b))).collect()
}

impl CycleModel for CrcBench {
    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        self.ports(layout);
        let reset = self.cycle == 0;
        self.cycle += 1;
        let en = !reset && rng.random_bool(0.75);
        let chunk: Vec<u8> = (0..self.bytes).map(|_| self.rng.random()).collect();
        let start = if en {
            let start = self.chunks_planned == 0;
            if start {
                // Mostly whole 128-byte messages; sometimes longer or shorter runs of chunks.
                let whole = (128 / self.bytes).max(1);
                self.chunks_planned =
                    if self.rng.random_bool(0.8) { whole } else { self.rng.random_range(1..=2 * whole) };
            }
            self.chunks_planned -= 1;
            start
        } else {
            rng.random_bool(0.5)
        };
        let p = self.ports.as_ref().expect("resolved above");
        p.rst.set(frame, u64::from(!reset));
        p.en.set(frame, u64::from(en));
        p.start.set(frame, u64::from(start));
        p.data.set_words(frame, &words(&chunk));
        self.given.push_back((en, start, chunk));
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        self.ports(layout);
        let p = self.ports.as_ref().expect("resolved above");
        let (en, start, chunk) = self.given.pop_front().expect("stimulus before check");
        if p.rst.get(inputs) == 0 {
            self.state = 0;
            return Ok(0);
        }
        let from = if start { 0 } else { self.state };
        let want = crc_update(from, &chunk);
        let got = p.crc.get(outputs) as u16;
        if got != want {
            return Err(format!(
                "crc_o = {got:#06x}, want {want:#06x} (en {en}, start {start}, state {:#06x}, chunk {chunk:02x?})",
                self.state
            ));
        }
        if !en {
            return Ok(1);
        }
        if start {
            self.message.clear();
        }
        self.state = want;
        self.message.extend_from_slice(&chunk);
        self.chunks += 1;
        let mut checks = 1;
        let whole = (128 / self.bytes).max(1);
        if self.message.len() == whole * self.bytes && self.message.len() == golden::CRC_MESSAGE_BYTES {
            let whole = golden::crc16(&self.message);
            if got != whole {
                return Err(format!("CRC of a 128-byte message {got:#06x}, want {whole:#06x}"));
            }
            self.whole_messages += 1;
            checks += 1;
        }
        Ok(checks)
    }
}
