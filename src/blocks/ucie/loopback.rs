//! Two adapters back to back through a channel model, checked flit by flit against
//! [`super::model`]: die A's transmitter feeds die B's receiver and back, both protocol layers
//! send random flits, and the channel flips bits, drops, duplicates and stalls.
//!
//! `vdx_ucie_loopback` ([`loopback_top`]) holds the two adapters (`u_a`, `u_b`) with every port
//! brought out as `a_<port>` / `b_<port>`; the channel and both protocol layers live in the
//! host bench ([`LoopbackBench`]). In every cycle the bench mirrors each adapter: its decision at
//! a flit boundary ([`Adapter::send`]) and the chunks that follow, the replay timer
//! ([`Adapter::tick`]), each flit received ([`Adapter::receive`]), each credit returned, and
//! the link state; it compares every chunk sent, `pl_trdy`, `pl_valid`, `pl_flit_cancel`, the
//! state, the unacknowledged count and the credits with what the model says.

use super::UcieAdapterParams;
use super::adapter::{build as build_adapter, state};
use super::golden::{FLIT, PAYLOAD, PAYLOAD_START};
use super::model::{Adapter, Received, Sent};
use super::tb::words;
use crate::hdl::{HdlError, Module, ModuleBuilder};
use crate::sim::check::{CycleModel, Drains};
use crate::sim::{PortLayout, Slot};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::collections::VecDeque;

/// Inputs of the adapter, with widths for `p`.
fn inputs(p: &UcieAdapterParams) -> [(&'static str, u32); 11] {
    let w = 8 * p.bytes;
    [
        ("lp_irdy_i", 1),
        ("lp_valid_i", 1),
        ("lp_data_i", w),
        ("lp_credit_return_i", 1),
        ("lp_state_req_i", 4),
        ("link_up_i", 1),
        ("phy_tx_ready_i", 1),
        ("phy_rx_valid_i", 1),
        ("phy_rx_sof_i", 1),
        ("phy_rx_data_i", w),
        ("lp_linkerror_i", 1),
    ]
}

/// Outputs of the adapter.
const OUTPUTS: [&str; 13] = [
    "pl_trdy_o",
    "phy_tx_valid_o",
    "phy_tx_sof_o",
    "phy_tx_data_o",
    "pl_valid_o",
    "pl_data_o",
    "pl_flit_cancel_o",
    "pl_state_sts_o",
    "tx_unacked_o",
    "tx_credits_o",
    "stat_accepted_o",
    "stat_acked_o",
    "stat_crc_errors_o",
];

/// The two adapters with their ports brought out (`a_…`, `b_…`).
pub fn loopback_top(p: &UcieAdapterParams) -> Result<Module, HdlError> {
    let adapter = build_adapter(p)?;
    let m = ModuleBuilder::new("vdx_ucie_loopback");
    m.block(<UcieAdapterParams as crate::blocks::BlockParams>::BLOCK)
        .param("bytes", p.bytes)
        .param("replay_depth", p.replay_depth)
        .param("credits", p.credits);
    for side in ["a", "b"] {
        let ins: Vec<(&str, crate::hdl::Signal)> =
            inputs(p).iter().map(|(n, w)| (*n, m.input(&format!("{side}_{n}"), *w))).collect();
        let refs: Vec<(&str, &crate::hdl::Signal)> = ins.iter().map(|(n, s)| (*n, s)).collect();
        let u = m.instance(&format!("u_{side}"), &adapter, &refs);
        for o in &OUTPUTS {
            m.output(&format!("{side}_{o}"), &u.output(o));
        }
    }
    m.finish()
}

/// Faults of the channel and pace of the protocol layers.
#[derive(Debug, Clone, Copy)]
pub struct LinkFaults {
    /// Bit error rate on the data.
    pub ber: f64,
    /// Chance that a flit is lost whole.
    pub drop: f64,
    /// Chance that a flit arrives twice.
    pub dup: f64,
    /// Chance per flit that a burst of 2–16 corrupted flits starts.
    pub burst: f64,
    /// Chance per cycle that the PHY takes a chunk (`phy_tx_ready_i`).
    pub ready: f64,
    /// Chance per cycle that a protocol layer with a free buffer entry frees one.
    pub consume: f64,
    /// Chance per cycle that the link goes down (for 20–200 cycles).
    pub link_down: f64,
    /// Chance per cycle that both protocol layers request a LinkReset (then NOP with the link
    /// held down for 30 cycles, then Active again).
    pub link_reset: f64,
    /// Chance per cycle that both protocol layers signal LinkError (`lp_linkerror` for 11
    /// cycles, requesting NOP with the link held down for 30 cycles, then Active again).
    pub link_error: f64,
}

impl LinkFaults {
    /// No faults, the PHY always ready, the protocol layers fast.
    pub const CLEAN: LinkFaults = LinkFaults {
        ber: 0.0,
        drop: 0.0,
        dup: 0.0,
        burst: 0.0,
        ready: 1.0,
        consume: 0.95,
        link_down: 0.0,
        link_reset: 0.0,
        link_error: 0.0,
    };
}

/// Cycles from a chunk leaving one adapter to its reaching the other (at least).
const LATENCY: u64 = 4;

/// A flit under way out of one adapter, as the bench expects it.
struct TxFlit {
    bytes: [u8; FLIT],
    new: bool,
    replay: bool,
    next: usize,
    /// The first cycle of a replay, when the buffer is read and nothing is sent.
    bubble: bool,
}

/// One direction of the channel.
struct Channel {
    queue: VecDeque<(u64, bool, Vec<u8>)>,
    chunk: usize,
    dropping: bool,
    dup: Vec<Vec<u8>>,
    duplicating: bool,
    burst_left: u32,
    corrupting: bool,
}

/// Flips bits of `data` at rate `ber` (the gaps between errors drawn geometrically).
pub(super) fn flip(data: &mut [u8], ber: f64, rng: &mut StdRng) {
    if ber <= 0.0 {
        return;
    }
    let bits = data.len() * 8;
    let mut k = 0usize;
    loop {
        let u: f64 = rng.random();
        k += (u.ln() / (1.0 - ber).ln()).floor() as usize;
        if k >= bits {
            return;
        }
        data[k / 8] ^= 1 << (k % 8);
        k += 1;
    }
}

impl Channel {
    fn new() -> Self {
        Channel {
            queue: VecDeque::new(),
            chunk: 0,
            dropping: false,
            dup: Vec::new(),
            duplicating: false,
            burst_left: 0,
            corrupting: false,
        }
    }

    fn flush(&mut self) {
        self.queue.clear();
        self.chunk = 0;
        self.dup.clear();
    }

    /// A chunk sent at `cycle` (chunk `k` of its flit: `sof` on chunk 0).
    fn push(&mut self, cycle: u64, sof: bool, data: &[u8], chunks: usize, f: &LinkFaults, rng: &mut StdRng) {
        if sof {
            self.chunk = 0;
            self.dropping = rng.random_bool(f.drop);
            self.duplicating = rng.random_bool(f.dup);
            self.dup.clear();
            if self.burst_left == 0 && rng.random_bool(f.burst) {
                self.burst_left = rng.random_range(2..=16);
            }
            self.corrupting = self.burst_left > 0;
            self.burst_left = self.burst_left.saturating_sub(1);
        }
        let mut d = data.to_vec();
        flip(&mut d, f.ber, rng);
        if self.corrupting {
            flip(&mut d, 0.01, rng);
        }
        if !self.dropping {
            self.queue.push_back((cycle + LATENCY, sof, d.clone()));
            if self.duplicating {
                self.dup.push(d);
            }
        }
        self.chunk += 1;
        if self.chunk == chunks && !self.dup.is_empty() {
            for (i, c) in std::mem::take(&mut self.dup).into_iter().enumerate() {
                self.queue.push_back((cycle + LATENCY, i == 0, c));
            }
        }
    }

    /// What reaches the receiver at `cycle`.
    fn pop(&mut self, cycle: u64) -> Option<(bool, Vec<u8>)> {
        match self.queue.front() {
            Some((at, _, _)) if *at <= cycle => self.queue.pop_front().map(|(_, s, d)| (s, d)),
            _ => None,
        }
    }
}

/// Inputs driven into one adapter in a cycle.
#[derive(Default, Clone)]
struct Drive {
    lp_valid: bool,
    credit_return: bool,
    state_req: u64,
    linkerror: bool,
    tx_ready: bool,
    rx: Option<(bool, Vec<u8>)>,
}

/// One die: its adapter's model and mirrors, its protocol layer.
struct Side {
    model: Adapter,
    state: u64,
    tx: Option<TxFlit>,
    // Protocol layer, transmit side.
    to_send: u64,
    offer: Option<(u8, [u8; PAYLOAD])>,
    offer_chunk: usize,
    sent: Vec<[u8; PAYLOAD]>,
    // Receive side.
    rx_buf: Vec<u8>,
    rx_deliver: bool,
    cancel_next: bool,
    pending: Option<[u8; PAYLOAD]>,
    received: Vec<[u8; PAYLOAD]>,
    buffer: u32,
    max_buffer: u32,
    drive: Drive,
    /// Chunks this side put on the link (payload, replays and NOPs).
    wire_chunks: u64,
    /// Cycle each flit's first chunk was taken from this side's protocol layer, until the far
    /// side delivers it.
    taken_at: VecDeque<u64>,
    /// Cycles from the first chunk taken to delivery, of each flit delivered to this side.
    latency: Vec<u32>,
    /// A flit was delivered in this cycle (its latency is taken from the far side).
    delivered_now: bool,
    /// Flits lost at a link reset, sent again before new ones.
    resend: VecDeque<[u8; PAYLOAD]>,
}

struct SidePorts {
    ins: Vec<Slot>,
    outs: Vec<Slot>,
}

/// The host testbench of `vdx_ucie_loopback`.
pub struct LoopbackBench {
    p: UcieAdapterParams,
    faults: LinkFaults,
    rng: StdRng,
    ports: Option<[SidePorts; 2]>,
    sides: [Side; 2],
    channels: [Channel; 2],
    cycle: u64,
    link_up: bool,
    down_left: u32,
    /// Cycles left of a link reset: its first cycle requests LinkReset, the rest NOP.
    reset_left: u32,
    /// Whether the reset under way is a LinkError (the first 11 cycles signal it, all NOP).
    error_episode: bool,
    /// LinkError episodes started.
    pub link_errors: u64,
    resets_pending: bool,
    /// Each side's (accepted, acknowledged, delivered to the far side) at the last link reset.
    epoch: [(u64, u64, u64); 2],
    /// Link resets done, and at each the flits A → B and B → A that were accepted, delivered
    /// and acknowledged: `(accepted, delivered, acked)`.
    pub link_resets: Vec<[(u64, u64, u64); 2]>,
    last_progress: u64,
    /// Flits each side's protocol layer sends (A, B).
    pub flits: [u64; 2],
    /// Cycles the link spent down.
    pub down_cycles: u64,
}

impl LoopbackBench {
    /// A bench in which each side sends `flits` random flits through a channel with `faults`.
    pub fn new(p: &UcieAdapterParams, flits: u64, faults: LinkFaults, seed: u64) -> Self {
        Self::new_each(p, [flits, flits], faults, seed)
    }

    /// A bench in which side A sends `flits[0]` flits and side B `flits[1]`.
    pub fn new_each(p: &UcieAdapterParams, flits: [u64; 2], faults: LinkFaults, seed: u64) -> Self {
        let side = |to_send| Side {
            model: Adapter::new(p),
            state: state::RESET,
            tx: None,
            to_send,
            offer: None,
            offer_chunk: 0,
            sent: Vec::new(),
            rx_buf: Vec::new(),
            rx_deliver: false,
            cancel_next: false,
            pending: None,
            received: Vec::new(),
            buffer: 0,
            max_buffer: 0,
            drive: Drive::default(),
            wire_chunks: 0,
            taken_at: VecDeque::new(),
            latency: Vec::new(),
            delivered_now: false,
            resend: VecDeque::new(),
        };
        LoopbackBench {
            p: p.clone(),
            faults,
            rng: StdRng::seed_from_u64(seed ^ 0x0c1e_11f7),
            ports: None,
            sides: [side(flits[0]), side(flits[1])],
            channels: [Channel::new(), Channel::new()],
            cycle: 0,
            link_up: true,
            down_left: 0,
            reset_left: 0,
            error_episode: false,
            link_errors: 0,
            resets_pending: false,
            epoch: [(0, 0, 0); 2],
            link_resets: Vec::new(),
            last_progress: 0,
            flits,
            down_cycles: 0,
        }
    }

    /// The adapters' counters as the models kept them (side A, side B).
    pub fn stats(&self) -> [super::model::Stats; 2] {
        [self.sides[0].model.stats.clone(), self.sides[1].model.stats.clone()]
    }

    /// The cycle of the last delivery.
    pub fn last_delivery(&self) -> u64 {
        self.last_progress
    }

    /// Chunks each side put on the link.
    pub fn wire_chunks(&self) -> [u64; 2] {
        [self.sides[0].wire_chunks, self.sides[1].wire_chunks]
    }

    /// Cycles from a flit's first chunk leaving side A's protocol layer to its delivery at B,
    /// and the same for B to A.
    pub fn latencies(&self) -> [&[u32]; 2] {
        [&self.sides[1].latency, &self.sides[0].latency]
    }

    /// Payload flits delivered to each side's protocol layer.
    pub fn delivered(&self) -> [usize; 2] {
        [self.sides[0].received.len(), self.sides[1].received.len()]
    }

    fn ports(&mut self, layout: &PortLayout) {
        if self.ports.is_some() {
            return;
        }
        let p = &self.p;
        let make = |side: &str| SidePorts {
            ins: inputs(p)
                .iter()
                .map(|(n, _)| layout.input(&format!("{side}_{n}")).expect("loopback input").clone())
                .collect(),
            outs: OUTPUTS
                .iter()
                .map(|n| layout.output(&format!("{side}_{n}")).expect("loopback output").clone())
                .collect(),
        };
        self.ports = Some([make("a"), make("b")]);
    }
}

// Input slots, in the order of `inputs()`.
const I_IRDY: usize = 0;
const I_VALID: usize = 1;
const I_DATA: usize = 2;
const I_CREDIT: usize = 3;
const I_STATE: usize = 4;
const I_UP: usize = 5;
const I_READY: usize = 6;
const I_RX_VALID: usize = 7;
const I_RX_SOF: usize = 8;
const I_RX_DATA: usize = 9;
const I_LINKERR: usize = 10;
// Output slots, in the order of `OUTPUTS`.
const O_TRDY: usize = 0;
const O_TX_VALID: usize = 1;
const O_TX_SOF: usize = 2;
const O_TX_DATA: usize = 3;
const O_PL_VALID: usize = 4;
const O_PL_DATA: usize = 5;
const O_CANCEL: usize = 6;
const O_STATE: usize = 7;
const O_UNACKED: usize = 8;
const O_CREDITS: usize = 9;
const O_ACCEPTED: usize = 10;
const O_ACKED: usize = 11;

/// Bytes of `words` (inverse of [`super::tb::words`]).
fn bytes_of(words: &[u32], n: usize) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).take(n).collect()
}

/// The flit the protocol layer offers: its identifier in byte 0 bits `[7:6]`, the payload in
/// bytes 2–241, 0 on the adapter's bytes.
fn pl_flit(protocol: u8, payload: &[u8; PAYLOAD]) -> [u8; FLIT] {
    let mut f = [0u8; FLIT];
    f[0] = protocol << 6;
    f[PAYLOAD_START..PAYLOAD_START + PAYLOAD].copy_from_slice(payload);
    f
}

impl CycleModel for LoopbackBench {
    fn reactive(&self) -> bool {
        true
    }

    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        self.ports(layout);
        let reset = self.cycle == 0;
        let cycle = self.cycle;
        self.cycle += 1;
        // A link reset: LinkReset requested for a cycle, then NOP with the link down (the PHY is
        // reset too, so nothing sent before arrives after), then Active again.
        let both_active = self.sides.iter().all(|s| s.state == state::ACTIVE);
        if self.reset_left > 0 {
            self.reset_left -= 1;
            self.link_up = self.reset_left == 0;
        } else if !reset && self.down_left == 0 && both_active && rng.random_bool(self.faults.link_reset) {
            self.reset_left = 31;
            self.error_episode = false;
        } else if !reset
            && self.down_left == 0
            && both_active
            && self.faults.link_error > 0.0
            && rng.random_bool(self.faults.link_error)
        {
            self.reset_left = 31;
            self.error_episode = true;
            self.link_errors += 1;
            self.link_up = false;
        }
        let linkerror = self.error_episode && self.reset_left > 20;
        let state_req = match self.reset_left {
            31 if !self.error_episode => state::LINK_RESET,
            0 => state::ACTIVE,
            _ => state::RESET,
        };
        if self.reset_left > 0 && self.reset_left < 31 {
            self.link_up = false;
        }
        // The link: down now and then for a while; everything on the wires is lost.
        if self.reset_left > 0 {
        } else if self.down_left > 0 {
            self.down_left -= 1;
            self.link_up = self.down_left == 0;
        } else if !reset && rng.random_bool(self.faults.link_down) {
            self.down_left = rng.random_range(20..=200);
            self.link_up = false;
        }
        if !self.link_up {
            self.down_cycles += 1;
            for c in &mut self.channels {
                c.flush();
            }
        }
        let b = self.p.bytes as usize;
        for s in 0..2 {
            let side = &mut self.sides[s];
            if side.offer.is_none()
                && side.to_send > 0
                && !reset
                && state_req == state::ACTIVE
                && rng.random_bool(0.9)
            {
                let mut payload = [0u8; PAYLOAD];
                match side.resend.pop_front() {
                    Some(again) => payload = again,
                    None => self.rng.fill(&mut payload[..]),
                }
                side.offer = Some((1 + s as u8, payload));
                side.offer_chunk = 0;
            }
            let credit_return = side.buffer > 0 && rng.random_bool(self.faults.consume);
            if credit_return {
                side.buffer -= 1;
            }
            let rx = if self.link_up { self.channels[1 - s].pop(cycle) } else { None };
            side.drive = Drive {
                lp_valid: side.offer.is_some(),
                credit_return,
                state_req,
                linkerror,
                tx_ready: rng.random_bool(self.faults.ready),
                rx,
            };
            let ports = &self.ports.as_ref().expect("resolved above")[s];
            let d = &side.drive;
            let chunk = match &side.offer {
                Some((proto, payload)) => {
                    pl_flit(*proto, payload)[side.offer_chunk * b..(side.offer_chunk + 1) * b].to_vec()
                }
                None => vec![0u8; b],
            };
            ports.ins[I_IRDY].set(frame, u64::from(d.lp_valid));
            ports.ins[I_VALID].set(frame, u64::from(d.lp_valid));
            ports.ins[I_DATA].set_words(frame, &words(&chunk));
            ports.ins[I_CREDIT].set(frame, u64::from(d.credit_return));
            ports.ins[I_STATE].set(frame, d.state_req);
            ports.ins[I_LINKERR].set(frame, u64::from(d.linkerror));
            ports.ins[I_UP].set(frame, u64::from(self.link_up));
            ports.ins[I_READY].set(frame, u64::from(d.tx_ready));
            ports.ins[I_RX_VALID].set(frame, u64::from(d.rx.is_some()));
            ports.ins[I_RX_SOF].set(frame, u64::from(d.rx.as_ref().is_some_and(|r| r.0)));
            ports.ins[I_RX_DATA].set_words(frame, &words(d.rx.as_ref().map_or(&chunk[..0], |r| &r.1[..])));
        }
        let rst = layout.input("rst_ni").expect("rst_ni");
        rst.set(frame, u64::from(!reset));
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        self.ports(layout);
        let cycle = self.cycle - 1;
        if layout.input("rst_ni").expect("rst_ni").get(inputs) == 0 {
            return Ok(0);
        }
        let (b, k) = (self.p.bytes as usize, self.p.chunks() as usize);
        let mut checks = 0u64;
        let mut link_reset = [false; 2];
        for s in 0..2 {
            let name = ["A", "B"][s];
            let ports = &self.ports.as_ref().expect("resolved above")[s];
            let out = |i: usize| ports.outs[i].get(outputs);
            let side = &mut self.sides[s];
            let d = side.drive.clone();
            let err = |what: String| Err(format!("side {name}, cycle {cycle}: {what}"));
            // Registers first: state, unacknowledged flits, credits.
            let got = (out(O_STATE), out(O_UNACKED) as usize, out(O_CREDITS) as u32);
            let want = (side.state, side.model.unacked(), side.model.credits());
            if got != want {
                return err(format!("(state, unacked, credits) = {got:?}, model {want:?}"));
            }
            // Cancel of the flit that ended last cycle.
            if (out(O_CANCEL) == 1) != side.cancel_next {
                return err(format!("pl_flit_cancel = {}, want {}", out(O_CANCEL), side.cancel_next));
            }
            side.cancel_next = false;
            if let Some(pl) = side.pending.take() {
                side.received.push(pl);
                side.delivered_now = true;
                side.buffer += 1;
                side.max_buffer = side.max_buffer.max(side.buffer);
                self.last_progress = cycle;
            }
            checks += 4;
            // Transmitter.
            let active = side.state == state::ACTIVE;
            let busy_before = side.tx.is_some();
            if active && side.tx.is_none() {
                let offer = side.offer.as_ref().filter(|_| d.lp_valid).map(|(proto, pl)| (*proto, pl));
                let sent = side.model.send(offer);
                side.tx = match &sent {
                    Sent::New(f) => {
                        Some(TxFlit { bytes: **f, new: true, replay: false, next: 0, bubble: false })
                    }
                    Sent::Replay(f) => {
                        Some(TxFlit { bytes: **f, new: false, replay: true, next: 0, bubble: true })
                    }
                    Sent::Nop(f) => {
                        Some(TxFlit { bytes: **f, new: false, replay: false, next: 0, bubble: false })
                    }
                    Sent::Idle => None,
                };
            }
            let (mut want_valid, mut want_trdy) = (false, false);
            if let Some(tx) = &mut side.tx {
                let src_ok = if tx.new { d.lp_valid } else { !(tx.replay && tx.bubble) };
                let link_ok = !active || d.tx_ready;
                want_valid = active && src_ok;
                want_trdy = tx.new && link_ok;
                if want_valid {
                    let chunk = &tx.bytes[tx.next * b..(tx.next + 1) * b];
                    let data = bytes_of(ports.outs[O_TX_DATA].get_words(outputs), b);
                    if data != chunk || (out(O_TX_SOF) == 1) != (tx.next == 0) {
                        return err(format!(
                            "chunk {} of a {} flit differs from the model's",
                            tx.next,
                            if tx.new {
                                "new"
                            } else if tx.replay {
                                "replayed"
                            } else {
                                "NOP"
                            }
                        ));
                    }
                    checks += 1;
                }
                tx.bubble = false;
                if src_ok && link_ok {
                    if tx.new && tx.next == 0 {
                        side.taken_at.push_back(cycle);
                    }
                    if active {
                        side.wire_chunks += 1;
                        let chunk = tx.bytes[tx.next * b..(tx.next + 1) * b].to_vec();
                        self.channels[s].push(cycle, tx.next == 0, &chunk, k, &self.faults, &mut self.rng);
                    }
                    if tx.new {
                        side.offer_chunk += 1;
                        if side.offer_chunk == k {
                            let (_, pl) = side.offer.take().expect("offered");
                            side.sent.push(pl);
                            side.to_send -= 1;
                        }
                    }
                    tx.next += 1;
                    if tx.next == k {
                        side.tx = None;
                    }
                }
            }
            if (out(O_TX_VALID) == 1, out(O_TRDY) == 1) != (want_valid, want_trdy) {
                return err(format!(
                    "(phy_tx_valid, pl_trdy) = ({}, {}), model ({want_valid}, {want_trdy})",
                    out(O_TX_VALID),
                    out(O_TRDY)
                ));
            }
            checks += 2;
            side.model.tick();
            // Receiver.
            let mid = !side.rx_buf.is_empty();
            let mut want_pl_valid = false;
            match (&d.rx, active) {
                (Some((sof, data)), true) if *sof || mid => {
                    if *sof && mid {
                        side.model.receive_broken();
                        side.cancel_next |= side.rx_deliver;
                        side.rx_buf.clear();
                    }
                    if *sof {
                        let (b0, b1) = (data[0], data[1]);
                        let seq = (b0 & 15) << 4 | (b1 & 15);
                        side.rx_deliver = b0 >> 6 != 0
                            && b0 & 0x30 == 0
                            && b1 & 0xf0 == 0
                            && seq != 0
                            && seq == side.model.expected();
                    }
                    side.rx_buf.extend_from_slice(data);
                    want_pl_valid = side.rx_deliver;
                    if side.rx_buf.len() == FLIT {
                        let mut f = [0u8; FLIT];
                        f.copy_from_slice(&side.rx_buf);
                        side.rx_buf.clear();
                        match side.model.receive(&f) {
                            Received::Delivered(_, pl) if side.rx_deliver => side.pending = Some(*pl),
                            Received::Delivered(..) => return err("a flit delivered without pl_valid".into()),
                            _ => side.cancel_next |= side.rx_deliver,
                        }
                    }
                }
                (_, false) if mid => {
                    side.cancel_next |= side.rx_deliver;
                    side.rx_buf.clear();
                }
                _ => {}
            }
            if (out(O_PL_VALID) == 1) != want_pl_valid {
                return err(format!("pl_valid = {}, model {want_pl_valid}", out(O_PL_VALID)));
            }
            if want_pl_valid {
                let data = bytes_of(ports.outs[O_PL_DATA].get_words(outputs), b);
                if Some(&data) != d.rx.as_ref().map(|r| &r.1) {
                    return err("pl_data is not the chunk received".into());
                }
            }
            checks += 1;
            if d.credit_return {
                side.model.return_credit();
            }
            // Link state, as the RTL's state machine moves.
            let up_idle = self.link_up && !busy_before;
            let next = match side.state {
                st if d.linkerror && st != state::LINK_ERROR => {
                    link_reset[s] = true;
                    state::LINK_ERROR
                }
                state::LINK_ERROR if !d.linkerror && d.state_req == state::RESET => state::RESET,
                state::RESET if d.state_req == state::ACTIVE && up_idle => state::ACTIVE,
                state::ACTIVE if d.state_req == state::LINK_RESET => {
                    link_reset[s] = true;
                    state::LINK_RESET
                }
                state::LINK_RESET if d.state_req == state::RESET => state::RESET,
                state::ACTIVE if !self.link_up || d.state_req == state::RETRAIN => state::RETRAIN,
                state::RETRAIN if d.state_req == state::ACTIVE && up_idle => {
                    side.model.retrained();
                    state::ACTIVE
                }
                st => st,
            };
            side.state = next;
        }
        for s in 0..2 {
            if std::mem::take(&mut self.sides[s].delivered_now) {
                let taken = self.sides[1 - s].taken_at.pop_front().expect("a delivered flit was taken");
                self.sides[s].latency.push((cycle - taken) as u32);
            }
        }
        if link_reset.iter().any(|&r| r) {
            if link_reset != [true, true] {
                return Err(format!("cycle {cycle}: only one side took the LinkReset"));
            }
            for s in 0..2 {
                self.sides[s].model.link_reset(&self.p);
            }
            self.resets_pending = true;
        }
        // Once both sides have drained their last flit (the counters are final), check what
        // each protocol layer is told: every acknowledged flit was delivered, nothing was
        // delivered that was not accepted; then the sender sends the rest again.
        if self.resets_pending && self.sides.iter().all(|s| s.state == state::RESET && s.tx.is_none()) {
            self.resets_pending = false;
            let ports = self.ports.as_ref().expect("resolved above");
            let mut record = [(0, 0, 0); 2];
            for s in 0..2 {
                // The counters run on across resets: what happened since the last one.
                let (acc0, ack0, del0) = self.epoch[s];
                let accepted = ports[s].outs[O_ACCEPTED].get(outputs) - acc0;
                let acked = ports[s].outs[O_ACKED].get(outputs) - ack0;
                let delivered = self.sides[1 - s].received.len() as u64 - del0;
                let handed = self.sides[s].sent.len() as u64 - del0;
                if accepted != handed || acked > delivered || delivered > accepted {
                    return Err(format!(
                        "cycle {cycle}: after a link reset side {s} reports {accepted} accepted and {acked} acknowledged since the last one, its protocol layer handed over {handed} and {delivered} arrived"
                    ));
                }
                record[s] = (accepted, delivered, acked);
                self.epoch[s] = (acc0 + accepted, ack0 + acked, del0 + delivered);
                // The protocol layer sends again what did not arrive (it learns that count from
                // the far side, above the adapter).
                let side = &mut self.sides[s];
                let lost: Vec<[u8; PAYLOAD]> = side.sent.split_off((del0 + delivered) as usize);
                side.to_send += lost.len() as u64;
                side.resend.extend(lost);
                side.taken_at.clear();
            }
            for side in &mut self.sides {
                side.buffer = 0;
            }
            self.link_resets.push(record);
            checks += 6;
        }
        for (s, side) in self.sides.iter().enumerate() {
            if side.max_buffer > self.p.credits {
                return Err(format!(
                    "side {s}: receive buffer held {} > {} credits",
                    side.max_buffer, self.p.credits
                ));
            }
            let other = &self.sides[1 - s];
            if let Some(last) = side.received.last()
                && other.sent.get(side.received.len() - 1) != Some(last)
            {
                return Err(format!(
                    "cycle {cycle}: flit {} delivered to side {s} is not the one sent (lost, repeated or reordered)",
                    side.received.len() - 1
                ));
            }
        }
        if !self.finished() && cycle > self.last_progress + 20_000 {
            let [a, b] = self.delivered();
            let [fa, fb] = self.flits;
            return Err(format!("no flit delivered for 20,000 cycles ({a} of {fb} and {b} of {fa})"));
        }
        Ok(checks)
    }
}

impl Drains for LoopbackBench {
    fn finished(&self) -> bool {
        (0..2).all(|s| {
            self.sides[s].received.len() as u64 == self.flits[1 - s] && self.sides[s].model.unacked() == 0
        })
    }

    fn progress(&self) -> (usize, usize) {
        let [a, b] = self.delivered();
        (a + b, (self.flits[0] + self.flits[1]) as usize)
    }
}

/// Co-simulates two adapters back to back for `run.cycles` cycles through a channel with bit
/// errors (BER 1e-5), bursts, drops, duplicates, PHY stalls and link-downs, flit by flit
/// against the model.
pub fn cosim_verilator(
    p: &UcieAdapterParams,
    run: crate::blocks::CosimRun,
) -> Result<crate::blocks::CosimReport, crate::sim::SimError> {
    let faults = LinkFaults {
        ber: 1e-5,
        burst: 0.002,
        drop: 0.002,
        dup: 0.002,
        ready: 0.9,
        consume: 0.8,
        link_down: 0.0002,
        link_reset: 0.0,
        link_error: 0.0,
    };
    let mut bench = LoopbackBench::new(p, u64::MAX, faults, run.seed);
    let cycles = run.cycles;
    let mut report = crate::blocks::cosim_verilator(loopback_top(p), &mut bench, run)?;
    let [a, b] = bench.delivered();
    if a == 0 || b == 0 {
        return Err(crate::sim::SimError::Design(format!("no flit crossed the link in {cycles} cycles")));
    }
    report.scope = format!("two adapters back to back through a faulty channel: {a} and {b} flits delivered");
    Ok(report)
}
