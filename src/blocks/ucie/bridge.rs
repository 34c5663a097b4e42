//! The protocol layer that puts a die's stream switch on a UCIe link: `vdx_ucie_bridge` packs
//! the beats of a stream into the payload of 256B flits for the adapter's FDI and unpacks the
//! flits the adapter delivers back into a stream, honouring `pl_flit_cancel` and returning a
//! credit for every flit it frees; `vdx_ucie_port` ([`port`]) is an adapter and its bridge with
//! the stream side as `tx`/`rx` and the PHY side as the adapter's.
//!
//! # Units
//! The stream's `word_bits`-bit beats are cut into `units_per_beat` units of `unit_bits` bits
//! (least significant first, by [`crate::hdl::stream_downsizer`]) and a flit carries up to
//! `units_per_flit = floor(1920 / unit_bits)` of them, so a beat may straddle two flits. The
//! unit is chosen ([`BridgeShape::new`]) to move the most beats per cycle: filling a flit takes
//! `units_per_flit + 1` cycles and sending it `256 / bytes`, and a unit narrower than the beat
//! costs `units_per_beat` cycles per beat; ties go to the wider unit.
//!
//! # Flit payload (the adapter owns bytes 0–1 but the protocol identifier, and 242–255)
//! | bytes | content |
//! |---|---|
//! | 0 `[7:6]` | protocol identifier: 1 a full flit (`units_per_flit` units), 2 a partial one |
//! | 2 … | unit `i` in bits `16 + unit_bits·i` upward of the flit |
//! | 241 | in a partial flit, the number of units it carries (its unused units are 0) |
//!
//! A partial flit leaves when the stream has offered nothing for [`FLUSH_IDLE`] cycles, so the
//! tail of a transfer never waits for more data.
//!
//! # Receiving
//! Delivered chunks are gathered; in the cycle after a flit's last chunk the flit is kept
//! unless `pl_flit_cancel_i` is high (a bad CRC or header: the adapter will deliver it again
//! from its replay), and a cancel in the middle of a flit (the link left Active) discards what
//! was gathered. Kept flits wait in a buffer of `credits` flits rounded up to a power of two
//! (the far transmitter holds at most `credits` unreturned flits, so it never overflows; if it
//! would, the flit is dropped and `rx_overflow_o` pulses), one unit leaves per cycle, and the
//! cycle after a flit's last unit leaves, `lp_credit_return_o` pulses. A flit with a protocol
//! identifier or count this bridge does not send is freed unread and flagged in `rx_error_o`.
//!
//! # Ports of `vdx_ucie_bridge`
//! | port | width | meaning |
//! |---|---|---|
//! | `tx_valid_i`, `tx_data_i`, `tx_ready_o` | 1, `unit_bits`, 1 | units to send |
//! | `rx_valid_o`, `rx_data_o`, `rx_ready_i` | 1, `unit_bits`, 1 | units received, in order |
//! | `lp_irdy_o`, `lp_valid_o`, `lp_data_o`, `pl_trdy_i` | 1, 1, `8·bytes`, 1 | FDI transmit |
//! | `pl_valid_i`, `pl_data_i`, `pl_flit_cancel_i`, `lp_credit_return_o` | 1, `8·bytes`, 1, 1 | FDI receive |
//! | `rx_overflow_o`, `rx_error_o` | 1, 1 | one-cycle flags, see above |

use super::golden::{FLIT, PAYLOAD, PAYLOAD_END, PAYLOAD_START};
use crate::hdl::{
    HdlError, Module, ModuleBuilder, Reset, Signal, Stream, StreamConn, StreamType, cat, index_bits,
    stream_downsizer, stream_upsizer, value_bits,
};

/// Idle cycles of the stream after which a partly filled flit is sent.
pub const FLUSH_IDLE: u64 = 4;

/// Protocol identifier of a full flit.
pub const PROTO_FULL: u8 = 1;

/// Protocol identifier of a partial flit (its unit count in byte [`COUNT_AT`]).
pub const PROTO_PARTIAL: u8 = 2;

/// The byte of a partial flit that holds its unit count.
pub const COUNT_AT: usize = PAYLOAD_END - 1;

/// How a bridge cuts its stream into flits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeShape {
    /// Bits of a stream beat (the die's `fabric_bits`).
    pub word_bits: u32,
    /// FDI datapath bytes per cycle (the adapter's `bytes`).
    pub bytes: u32,
    /// Flits the receive buffer must hold (the far adapter's `credits`).
    pub credits: u32,
    /// Bits of a unit.
    pub unit_bits: u32,
    /// Units per stream beat.
    pub units_per_beat: u32,
    /// Units per full flit.
    pub units_per_flit: u32,
}

impl BridgeShape {
    /// The shape that moves the most beats per cycle for beats of `word_bits` (a multiple of 8)
    /// over an FDI of `bytes` bytes, with a receive buffer of `credits` flits.
    pub fn new(word_bits: u32, bytes: u32, credits: u32) -> BridgeShape {
        let chunks = FLIT as u32 / bytes.max(1);
        let payload = 8 * PAYLOAD as u32;
        let mut best: Option<(f64, BridgeShape)> = None;
        for n in 1..=word_bits / 8 {
            let u = word_bits / n;
            if !word_bits.is_multiple_of(n) || !u.is_multiple_of(8) || u > payload {
                continue;
            }
            let k = payload / u;
            let rate = f64::from(k) / f64::from(n * (k + 1).max(chunks));
            if best.is_none_or(|(r, _)| rate > r) {
                let shape = BridgeShape {
                    word_bits,
                    bytes,
                    credits,
                    unit_bits: u,
                    units_per_beat: n,
                    units_per_flit: k,
                };
                best = Some((rate, shape));
            }
        }
        best.map(|(_, s)| s).unwrap_or_else(|| unreachable!("8-bit units always fit a flit"))
    }

    /// Cycles per full flit when the stream and the link keep up.
    pub fn flit_cycles(&self) -> u32 {
        (self.units_per_flit + 1).max(FLIT as u32 / self.bytes)
    }

    /// Stream beats per cycle the bridge moves at best, each way.
    pub fn beats_per_cycle(&self) -> f64 {
        f64::from(self.units_per_flit) / f64::from(self.units_per_beat * self.flit_cycles())
    }

    /// Flits of the receive buffer (a power of two).
    pub fn buffer_flits(&self) -> u32 {
        self.credits.next_power_of_two().max(2)
    }
}

/// `vdx_ucie_bridge`: the protocol layer of one adapter (see the module doc).
pub fn build_bridge(s: &BridgeShape) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_ucie_bridge");
    m.block("ucie_bridge")
        .param("unit_bits", s.unit_bits)
        .param("units_per_flit", s.units_per_flit)
        .param("bytes", s.bytes)
        .param("buffer_flits", s.buffer_flits());
    let (u, k) = (s.unit_bits, s.units_per_flit);
    let chunks = FLIT as u32 / s.bytes;
    let cw = 8 * s.bytes;
    let lit = |v: u64, w: u32| m.lit(v, w);
    let kb = value_bits(u64::from(k));
    let unit_ty = StreamType::data(u);
    let tx = m.sink("tx", &unit_ty);
    let rx = m.source("rx", &unit_ty);
    let pl_trdy = m.input("pl_trdy_i", 1);
    let pl_valid = m.input("pl_valid_i", 1);
    let pl_data = m.input("pl_data_i", cw);
    let cancel = m.input("pl_flit_cancel_i", 1);

    m.section(
        "Transmit: units fill the flit being gathered; a full one, or a partial one after\n\
         FLUSH_IDLE idle cycles, moves to the flit being sent once that one has left.",
    );
    let fill = m.reg("fill_count", kb, Reset::Zero);
    let idle = m.reg("idle", value_bits(FLUSH_IDLE), Reset::Zero);
    let send_valid = m.reg("send_valid", 1, Reset::Zero);
    let send_idx = m.reg("send_idx", index_bits(u64::from(chunks)), Reset::Zero);
    let send_count = m.reg("send_count", kb, Reset::Zero);
    let send_data = m.reg("send_data", k * u, Reset::Zero);
    tx.drive_ready(&fill.ne(&lit(u64::from(k), kb)).named("tx_room"));
    let fire = tx.fire().named("tx_take");
    let slots: Vec<Signal> = (0..k)
        .map(|i| {
            let r = m.reg(&format!("fill{i}"), u, Reset::Zero);
            m.next_when(&r, &fire.and(&fill.eq(&lit(u64::from(i), kb))), &tx.data());
            r
        })
        .collect();
    let last_chunk = send_idx.eq(&send_idx.lit(u64::from(chunks - 1))).named("send_last_chunk");
    let chunk_go = send_valid.and(&pl_trdy).named("chunk_go");
    let sent = chunk_go.and(&last_chunk).named("flit_sent");
    let send_free = send_valid.not().or(&sent).named("send_free");
    let full = fill.eq(&lit(u64::from(k), kb)).named("fill_full");
    let flush =
        fill.ne(&lit(0, kb)).and(&idle.eq(&idle.lit(FLUSH_IDLE))).and(&tx.valid().not()).named("fill_flush");
    let mv = send_free.and(&full.or(&flush)).named("fill_move");
    m.next(&fill, &mv.mux(&lit(0, kb), &fire.mux(&fill.add(&fill.lit(1)), &fill)));
    let idle_next = idle.eq(&idle.lit(FLUSH_IDLE)).mux(&idle, &idle.add(&idle.lit(1)));
    m.next(&idle, &fire.or(&mv).mux(&idle.lit(0), &idle_next));
    m.next(&send_valid, &mv.or(&send_valid.and(&sent.not())));
    let idx_next = last_chunk.mux(&send_idx.lit(0), &send_idx.add(&send_idx.lit(1)));
    m.next_when(&send_idx, &chunk_go, &idx_next);
    let refs: Vec<&Signal> = slots.iter().rev().collect();
    m.next_when(&send_data, &mv, &cat(&refs).named("fill_data"));
    m.next_when(&send_count, &mv, &fill);
    // The flit image: unused units are zeroed, a partial flit's count sits in byte 241.
    let partial = send_count.ne(&lit(u64::from(k), kb)).named("send_partial");
    let masked: Vec<Signal> = (0..k)
        .map(|i| {
            let here = lit(u64::from(i), kb).lt(&send_count);
            here.repeat(u).and(&send_data.slice(u * i + u - 1, u * i))
        })
        .collect();
    let refs: Vec<&Signal> = masked.iter().rev().collect();
    let units = cat(&refs).named("send_units");
    let pw = 8 * PAYLOAD as u32;
    let count_byte = partial.repeat(8).and(&send_count.zext(8));
    let count_field = cat(&[&count_byte, &lit(0, pw - 8)]);
    let payload = units.zext(pw).or(&count_field).named("send_payload");
    let proto = partial.mux(&lit(u64::from(PROTO_PARTIAL), 2), &lit(u64::from(PROTO_FULL), 2));
    let tail = lit(0, 8 * (FLIT - PAYLOAD_END) as u32);
    let image = cat(&[&tail, &payload, &lit(0, 8), &proto, &lit(0, 6)]).named("send_flit");
    let mut chunk = image.slice(cw - 1, 0);
    for c in 1..chunks {
        let here = send_idx.eq(&send_idx.lit(u64::from(c)));
        chunk = here.mux(&image.slice(cw * c + cw - 1, cw * c), &chunk);
    }
    m.output("lp_irdy_o", &send_valid);
    m.output("lp_valid_o", &send_valid);
    m.output("lp_data_o", &chunk.named("send_chunk"));

    m.section(
        "Receive: chunks are gathered; the cycle after a flit's last one it is kept unless\n\
         cancelled, and a cancel in the middle of a flit discards it.",
    );
    let rx_idx = m.reg("rx_idx", index_bits(u64::from(chunks)), Reset::Zero);
    let pending = m.reg("rx_pending", 1, Reset::Zero);
    let abort = cancel.and(&pending.not()).named("rx_abort");
    let at = abort.mux(&rx_idx.lit(0), &rx_idx).named("rx_at");
    let at_last = at.eq(&at.lit(u64::from(chunks - 1))).named("rx_at_last");
    m.next(&rx_idx, &pl_valid.mux(&at_last.mux(&at.lit(0), &at.add(&at.lit(1))), &at));
    m.next(&pending, &pl_valid.and(&at_last));
    let proto_q = m.reg("rx_proto", 2, Reset::Zero);
    m.next_when(&proto_q, &pl_valid.and(&at.eq(&at.lit(0))), &pl_data.slice(7, 6));
    let mut parts = Vec::new();
    for c in 0..chunks {
        let (lo, hi) = ((c * s.bytes).max(PAYLOAD_START as u32), ((c + 1) * s.bytes).min(PAYLOAD_END as u32));
        if lo >= hi {
            continue;
        }
        let r = m.reg(&format!("rx_chunk{c}"), 8 * (hi - lo), Reset::Zero);
        let off = c * s.bytes;
        let here = pl_valid.and(&at.eq(&at.lit(u64::from(c))));
        m.next_when(&r, &here, &pl_data.slice(8 * (hi - off) - 1, 8 * (lo - off)));
        parts.push(r);
    }
    let refs: Vec<&Signal> = parts.iter().rev().collect();
    let rx_payload = cat(&refs).named("rx_payload");
    let rx_count = rx_payload.slice(pw - 1, pw - 8).named("rx_count_byte");
    let count_ok = rx_count.ne(&lit(0, 8)).and(&rx_count.lt(&lit(u64::from(k), 8))).named("rx_count_ok");
    let is_full = proto_q.eq(&lit(u64::from(PROTO_FULL), 2));
    let is_partial = proto_q.eq(&lit(u64::from(PROTO_PARTIAL), 2)).and(&count_ok);
    let good = is_full.or(&is_partial).named("rx_flit_ok");
    let units_in = is_full.mux(&lit(u64::from(k), kb), &is_partial.mux(&rx_count.resize(kb), &lit(0, kb)));
    let commit = pending.and(&cancel.not()).named("rx_commit");
    let bad = m.reg("rx_error", 1, Reset::Zero);
    m.next(&bad, &commit.and(&good.not()));
    m.output("rx_error_o", &bad);

    m.section(
        "Receive buffer (a memory of kept flits, read into the head register) and the unpacker:\n\
         one unit per cycle; a credit returns the cycle after a flit's last unit leaves.",
    );
    let depth = s.buffer_flits();
    let ew = k * u + kb;
    let mem = m.memory("rx_buf", ew, u64::from(depth));
    let ab = mem.addr_width();
    let wptr = m.reg("rx_wptr", ab, Reset::Zero);
    let rptr = m.reg("rx_rptr", ab, Reset::Zero);
    let stored = m.reg("rx_stored", value_bits(u64::from(depth)), Reset::Zero);
    let room = stored.ne(&stored.lit(u64::from(depth))).named("rx_room");
    let push = commit.and(&room).named("rx_push");
    let overflow = m.reg("rx_overflow", 1, Reset::Zero);
    m.next(&overflow, &commit.and(&room.not()));
    m.output("rx_overflow_o", &overflow);
    let entry = cat(&[&units_in, &rx_payload.slice(k * u - 1, 0)]).named("rx_entry");
    mem.write(&push, &wptr, &entry);
    let head_valid = m.reg("head_valid", 1, Reset::Zero);
    let head_pop = m.wire("head_pop", 1);
    let rd = stored.ne(&stored.lit(0)).and(&head_valid.not().or(&head_pop)).named("rx_read");
    let head = mem.read(&rd, &rptr);
    m.next_when(&wptr, &push, &wptr.add(&wptr.lit(1)));
    m.next_when(&rptr, &rd, &rptr.add(&rptr.lit(1)));
    let up = stored.add(&stored.lit(1));
    let down = stored.sub(&stored.lit(1));
    m.next(&stored, &push.mux(&rd.mux(&stored, &up), &rd.mux(&down, &stored)));
    m.next(&head_valid, &rd.or(&head_valid.and(&head_pop.not())));
    let head_count = head.slice(ew - 1, k * u).named("head_count");
    let ui = m.reg("unit_idx", index_bits(u64::from(k)), Reset::Zero);
    let mut unit = head.slice(u - 1, 0);
    for i in 1..k {
        unit = ui.eq(&ui.lit(u64::from(i))).mux(&head.slice(u * i + u - 1, u * i), &unit);
    }
    let out_valid = head_valid.and(&head_count.ne(&lit(0, kb))).named("rx_out_valid");
    rx.drive(&Stream::new(&unit_ty, &out_valid, &unit.named("rx_unit")));
    let out_fire = out_valid.and(&rx.ready()).named("rx_give");
    let last_unit = ui.zext(kb).add(&lit(1, kb)).eq(&head_count).named("rx_last_unit");
    let pop = head_valid.and(&head_count.eq(&lit(0, kb)).or(&out_fire.and(&last_unit)));
    m.drive(&head_pop, &pop);
    m.next(&ui, &pop.mux(&ui.lit(0), &out_fire.mux(&ui.add(&ui.lit(1)), &ui)));
    let credit = m.reg("credit_return", 1, Reset::Zero);
    m.next(&credit, &head_pop);
    m.output("lp_credit_return_o", &credit);
    m.finish()
}

/// Ports of `vdx_ucie_port` that face the PHY: what a die top puts at its edge.
pub const EDGE: [&str; 8] = [
    "link_up_i",
    "phy_tx_ready_i",
    "phy_rx_valid_i",
    "phy_rx_sof_i",
    "phy_rx_data_i",
    "phy_tx_valid_o",
    "phy_tx_sof_o",
    "phy_tx_data_o",
];

/// Adapter ports that `vdx_ucie_port` brings out unchanged besides [`EDGE`]: link control and
/// status, and the counters.
pub const CONTROL: [&str; 8] = [
    "lp_state_req_i",
    "lp_linkerror_i",
    "pl_state_sts_o",
    "tx_unacked_o",
    "tx_credits_o",
    "stat_accepted_o",
    "stat_acked_o",
    "stat_crc_errors_o",
];

/// Whether `vdx_ucie_port` brings adapter port `name` out unchanged.
fn passed(name: &str) -> bool {
    EDGE.contains(&name) || CONTROL.contains(&name)
}

/// The shape of the bridge in front of `adapter` (a built `ucie_adapter`) for beats of
/// `word_bits`.
pub fn shape_for(adapter: &Module, word_bits: u32) -> BridgeShape {
    let param = |name: &str| {
        adapter.params().iter().find(|(n, _)| n == name).and_then(|(_, v)| v.parse().ok()).unwrap_or(1)
    };
    BridgeShape::new(word_bits, param("bytes"), param("credits"))
}

/// `vdx_ucie_port`: `adapter` with a bridge for beats of `word_bits` bits on its FDI: sink `tx`
/// and source `rx` of `word_bits`, the ports in [`EDGE`] and [`CONTROL`], and the bridge's `rx_overflow_o`
/// and `rx_error_o`.
pub fn port(adapter: &Module, word_bits: u32) -> Result<Module, HdlError> {
    let s = shape_for(adapter, word_bits);
    let m = ModuleBuilder::new("vdx_ucie_port");
    m.block("ucie_port").param("word_bits", word_bits).param("adapter", adapter.name());
    m.param("unit_bits", s.unit_bits).param("units_per_flit", s.units_per_flit);
    let word = StreamType::data(word_bits);
    let tx = m.sink("tx", &word);
    let rx = m.source("rx", &word);
    let bridge = build_bridge(&s)?;
    let cw = 8 * s.bytes;
    let (pl_trdy, pl_valid) = (m.wire("pl_trdy", 1), m.wire("pl_valid", 1));
    let (pl_data, cancel) = (m.wire("pl_data", cw), m.wire("pl_flit_cancel", 1));
    let unit_ready = m.wire("rx_unit_ready", 1);
    let tx_unit_ready = m.wire("tx_unit_ready", 1);
    let tx_units = if s.units_per_beat == 1 {
        tx.stream().clone()
    } else {
        let d = m.instance_streams(
            "u_tx_down",
            &stream_downsizer(&word, s.unit_bits)?,
            &[],
            &[("in", StreamConn::Feed(tx.stream())), ("out", StreamConn::Ready(&tx_unit_ready))],
        );
        tx.drive_ready(&d.ready("in"));
        d.stream("out")
    };
    let b = m.instance_streams(
        "u_bridge",
        &bridge,
        &[
            ("pl_trdy_i", &pl_trdy),
            ("pl_valid_i", &pl_valid),
            ("pl_data_i", &pl_data),
            ("pl_flit_cancel_i", &cancel),
        ],
        &[("tx", StreamConn::Feed(&tx_units)), ("rx", StreamConn::Ready(&unit_ready))],
    );
    m.drive(&tx_unit_ready, &b.ready("tx"));
    if s.units_per_beat == 1 {
        tx.drive_ready(&tx_unit_ready);
        rx.drive(&b.stream("rx"));
        m.drive(&unit_ready, &rx.ready());
    } else {
        let up = m.instance_streams(
            "u_rx_up",
            &stream_upsizer(s.unit_bits, &word)?,
            &[],
            &[("in", StreamConn::Feed(&b.stream("rx"))), ("out", StreamConn::Ready(&rx.ready()))],
        );
        m.drive(&unit_ready, &up.ready("in"));
        rx.drive(&up.stream("out"));
    }
    let mut inputs: Vec<(String, Signal)> = vec![
        ("lp_irdy_i".into(), b.output("lp_irdy_o")),
        ("lp_valid_i".into(), b.output("lp_valid_o")),
        ("lp_data_i".into(), b.output("lp_data_o")),
        ("lp_credit_return_i".into(), b.output("lp_credit_return_o")),
    ];
    for p in adapter.ports() {
        if passed(&p.name) && p.name.ends_with("_i") {
            inputs.push((p.name.clone(), m.input(&p.name, p.width)));
        }
    }
    let refs: Vec<(&str, &Signal)> = inputs.iter().map(|(n, s)| (n.as_str(), s)).collect();
    let a = m.instance("u_adapter", adapter, &refs);
    m.drive(&pl_trdy, &a.output("pl_trdy_o"));
    m.drive(&pl_valid, &a.output("pl_valid_o"));
    m.drive(&pl_data, &a.output("pl_data_o"));
    m.drive(&cancel, &a.output("pl_flit_cancel_o"));
    for p in adapter.ports() {
        if passed(&p.name) && p.name.ends_with("_o") {
            m.output(&p.name, &a.output(&p.name));
        }
    }
    m.output("rx_overflow_o", &b.output("rx_overflow_o"));
    m.output("rx_error_o", &b.output("rx_error_o"));
    m.finish()
}
