//! Flit-level model of one adapter: what it sends in each flit slot and what it does with each
//! flit it receives (sequence numbers, Ack/Nak, replay, credits). The RTL follows it flit by
//! flit: a test drives both with the same events in the same order.
//!
//! The rules (a subset of UCIe 2.0 §3.8, which simplifies PCIe Flit Mode retry):
//! - Payload flits always carry their explicit sequence number (`1, 2, …, 255, 1, …`).
//!   Acks and Naks ride only in NOP flits (protocol identifier 0). vdx never sends the implicit
//!   sequence numbers the spec allows, so a flit lost whole (not merely corrupted) can never
//!   shift the numbering; the price is a NOP now and then in the reverse direction.
//! - The receiver accepts the payload flit it expects and drops every other: a bad CRC or
//!   header, or a gap (a flit lost before it), schedules a Nak; a duplicate (already received)
//!   schedules an Ack, so that a transmitter that timed out learns where the receiver is.
//!   While it waits for the expected flit after a Nak it Naks again when the replay evidently
//!   went astray: a dropped payload flit numbered at or behind the previous one it dropped
//!   (the replay started, but its first flit was lost), or [`NAK_AGAIN`] dropped flits since
//!   the last Nak (that Nak was lost). Without this a lost Nak or replayed flit would cost the
//!   replay timer.
//! - The transmitter keeps every flit it sent until it is acknowledged, at most
//!   `min(replay_depth, 127)`. A Nak acknowledges the flits before it and replays the rest; so
//!   does a replay timeout of [`REPLAY_TIMEOUT_FLITS`] flit times without progress.
//! - Credits: a new payload flit takes one of `credits`; the far adapter returns them in the
//!   [`CREDIT_BYTE`] of its NOPs as a count modulo 256 since reset, so a lost NOP loses no
//!   credit (the next one carries the same count). An idle transmitter sends a NOP every
//!   [`REFRESH_SLOTS`] slots for the same reason.
//!
//! One call of [`Adapter::send`] is one decision of the transmitter at a flit boundary (one
//! cycle in the RTL: a flit, or an idle cycle); [`Adapter::tick`] is one clock cycle.

use super::UcieAdapterParams;
use super::golden::{
    CREDIT_BYTE, Cmd, FLIT, Header, PAYLOAD, PAYLOAD_START, crcs_ok, make_flit, next_seq, prev_seq,
    seq_distance,
};
use std::collections::VecDeque;

/// Flit times without an acknowledgement after which the transmitter replays (§3.8: the
/// replay timer fires at 375).
pub const REPLAY_TIMEOUT_FLITS: u32 = 375;

/// A NOP flit that reports Acks and credits is sent after this many flits are accepted (or
/// sooner, when the transmitter has nothing else to send).
pub const ACK_EVERY: u32 = 8;

/// An idle transmitter sends a NOP after this many idle flit slots, so that the Ack and credit
/// count of a lost NOP reach the far side even when nothing else is sent.
pub const REFRESH_SLOTS: u32 = 16;

/// Flits dropped while waiting for a replay after which the receiver Naks again: more than
/// arrive in the Nak's round trip (about 5 at 64 bytes per cycle with the tests' 4-cycle
/// channel), so a replay under way is not restarted for nothing.
pub const NAK_AGAIN: u32 = 10;

/// Most flits unacknowledged at once (§3.8: `MAX_UNACKNOWLEDGED_FLITS ≤ 127`).
pub const MAX_UNACKED: u32 = 127;

/// Why a received flit was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drop {
    /// CRC0 or CRC1 does not match.
    Crc,
    /// The header has a bit set vdx never sends, or a payload flit carries no explicit number.
    Header,
    /// A payload flit before the expected one (already delivered).
    Duplicate,
    /// A payload flit after the expected one (some flit was lost).
    Gap,
}

/// What became of a received flit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A payload flit delivered to the protocol layer: its protocol identifier and payload.
    Delivered(u8, Box<[u8; PAYLOAD]>),
    /// A NOP flit (its Ack, Nak and credits were taken).
    Nop,
    /// Dropped (cancelled on the FDI if it was being delivered).
    Dropped(Drop),
}

/// What the transmitter sends in a flit slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// A new payload flit taken from the protocol layer.
    New(Box<[u8; FLIT]>),
    /// A flit sent again from the replay buffer.
    Replay(Box<[u8; FLIT]>),
    /// A NOP flit with an Ack or a Nak and the credit count.
    Nop(Box<[u8; FLIT]>),
    /// Nothing.
    Idle,
}

impl Sent {
    /// The flit's bytes, if one is sent.
    pub fn flit(&self) -> Option<&[u8; FLIT]> {
        match self {
            Sent::New(f) | Sent::Replay(f) | Sent::Nop(f) => Some(f),
            Sent::Idle => None,
        }
    }
}

/// Counters of one adapter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// New payload flits taken from the protocol layer.
    pub accepted: u64,
    /// Flits sent again.
    pub replayed: u64,
    /// NOP flits sent.
    pub nops: u64,
    /// Payload flits delivered.
    pub delivered: u64,
    /// Received flits dropped for a bad CRC or header.
    pub crc_errors: u64,
    /// Received flits dropped as duplicates or after a gap.
    pub out_of_order: u64,
    /// Naks sent.
    pub naks: u64,
    /// Replays started by the timer.
    pub timeouts: u64,
}

/// One adapter's retry and credit state.
#[derive(Debug, Clone)]
pub struct Adapter {
    window: u32,
    credit_limit: u32,
    timeout_cycles: u32,
    // Transmit side.
    next_tx: u8,
    acked: u8,
    unacked: VecDeque<[u8; FLIT]>,
    replay_at: Option<usize>,
    timer: u32,
    credits: u32,
    credits_seen: u8,
    // Receive side.
    expected: u8,
    ack_owed: u32,
    nak_scheduled: bool,
    nak_owed: bool,
    drops_since_nak: u32,
    last_gap: Option<u8>,
    credits_returned: u8,
    credits_unreported: u32,
    credit_report_at: u32,
    idle_slots: u32,
    /// Counters.
    pub stats: Stats,
}

impl Adapter {
    /// An adapter after reset.
    pub fn new(p: &UcieAdapterParams) -> Self {
        Adapter {
            window: p.replay_depth.min(MAX_UNACKED),
            credit_limit: p.credits,
            timeout_cycles: REPLAY_TIMEOUT_FLITS * p.chunks(),
            next_tx: 1,
            acked: 255,
            unacked: VecDeque::new(),
            replay_at: None,
            timer: 0,
            credits: p.credits,
            credits_seen: 0,
            expected: 1,
            ack_owed: 0,
            nak_scheduled: false,
            nak_owed: false,
            drops_since_nak: 0,
            last_gap: None,
            credits_returned: 0,
            credits_unreported: 0,
            credit_report_at: (p.credits / 2).clamp(1, ACK_EVERY),
            idle_slots: 0,
            stats: Stats::default(),
        }
    }

    /// Whether a NOP with Acks and credits goes before new payload: [`ACK_EVERY`] flits
    /// accepted, or half the far side's credits returned (at least one, at most
    /// [`ACK_EVERY`]), since the last NOP.
    fn report_due(&self) -> bool {
        self.ack_owed >= ACK_EVERY || self.credits_unreported >= self.credit_report_at
    }

    /// Whether the protocol layer's flit would be taken in the next slot (the FDI's `pl_trdy`
    /// for its first chunk): no Nak, replay or due report goes first, and a credit and a
    /// replay buffer entry are free.
    pub fn takes_new(&self) -> bool {
        !self.nak_owed
            && self.replay_at.is_none()
            && !self.report_due()
            && self.credits > 0
            && (self.unacked.len() as u32) < self.window
    }

    /// Flits sent and not yet acknowledged.
    pub fn unacked(&self) -> usize {
        self.unacked.len()
    }

    /// Credits the transmitter holds.
    pub fn credits(&self) -> u32 {
        self.credits
    }

    /// The sequence number the receiver expects next.
    pub fn expected(&self) -> u8 {
        self.expected
    }

    /// One flit slot of the transmitter: `offer` is the protocol layer's flit (its protocol
    /// identifier, 1–3, and payload) if it has one.
    pub fn send(&mut self, offer: Option<(u8, &[u8; PAYLOAD])>) -> Sent {
        let sent = self.choose(offer);
        self.idle_slots = if sent == Sent::Idle { self.idle_slots + 1 } else { 0 };
        sent
    }

    fn choose(&mut self, offer: Option<(u8, &[u8; PAYLOAD])>) -> Sent {
        if self.nak_owed {
            self.nak_owed = false;
            self.stats.naks += 1;
            return Sent::Nop(Box::new(self.nop(Cmd::Nak)));
        }
        if let Some(i) = self.replay_at {
            let f = self.unacked[i];
            self.replay_at = (i + 1 < self.unacked.len()).then_some(i + 1);
            self.stats.replayed += 1;
            return Sent::Replay(Box::new(f));
        }
        if let (true, Some((protocol, payload))) = (self.takes_new(), offer) {
            assert!(
                (1..=3).contains(&protocol),
                "protocol identifier {protocol}: the protocol layer never sends 0"
            );
            let f = make_flit(Header { protocol, cmd: Cmd::Seq, seq: self.next_tx }, payload);
            self.next_tx = next_seq(self.next_tx);
            self.unacked.push_back(f);
            self.credits -= 1;
            self.stats.accepted += 1;
            return Sent::New(Box::new(f));
        }
        if self.ack_owed > 0 || self.credits_unreported > 0 || self.idle_slots + 1 >= REFRESH_SLOTS {
            return Sent::Nop(Box::new(self.nop(Cmd::Ack)));
        }
        Sent::Idle
    }

    /// A NOP flit with an Ack or Nak of the last flit received in order and the credit count.
    fn nop(&mut self, cmd: Cmd) -> [u8; FLIT] {
        let mut payload = [0u8; PAYLOAD];
        payload[CREDIT_BYTE - PAYLOAD_START] = self.credits_returned;
        self.ack_owed = 0;
        self.credits_unreported = 0;
        self.stats.nops += 1;
        make_flit(Header { protocol: 0, cmd, seq: prev_seq(self.expected) }, &payload)
    }

    /// A flit received whole from the link.
    pub fn receive(&mut self, f: &[u8; FLIT]) -> Received {
        let header = if crcs_ok(f) { Header::decode([f[0], f[1]]) } else { None };
        let Some(h) = header else {
            self.stats.crc_errors += 1;
            self.want_replay(None);
            return Received::Dropped(if crcs_ok(f) { Drop::Header } else { Drop::Crc });
        };
        if h.protocol == 0 {
            match h.cmd {
                Cmd::Ack => {
                    self.acknowledge(h.seq);
                }
                Cmd::Nak => {
                    if self.acknowledge(h.seq) && !self.unacked.is_empty() {
                        self.replay_at = Some(0);
                    }
                }
                Cmd::Seq => {
                    self.stats.crc_errors += 1;
                    return Received::Dropped(Drop::Header);
                }
            }
            self.take_credits(f[CREDIT_BYTE]);
            return Received::Nop;
        }
        if h.cmd != Cmd::Seq {
            self.stats.crc_errors += 1;
            self.want_replay(None);
            return Received::Dropped(Drop::Header);
        }
        if h.seq == self.expected {
            self.expected = next_seq(self.expected);
            self.ack_owed += 1;
            self.nak_scheduled = false;
            self.drops_since_nak = 0;
            self.last_gap = None;
            self.stats.delivered += 1;
            let mut payload = [0u8; PAYLOAD];
            payload.copy_from_slice(&f[PAYLOAD_START..PAYLOAD_START + PAYLOAD]);
            return Received::Delivered(h.protocol, Box::new(payload));
        }
        self.stats.out_of_order += 1;
        // Behind the expected number (within the largest window): already delivered.
        if seq_distance(h.seq, self.expected) <= MAX_UNACKED {
            self.ack_owed = self.ack_owed.max(1);
            Received::Dropped(Drop::Duplicate)
        } else {
            self.want_replay(Some(h.seq));
            Received::Dropped(Drop::Gap)
        }
    }

    /// A flit broken off by the start of the next one (framing lost): dropped like one with a
    /// bad CRC.
    pub fn receive_broken(&mut self) {
        self.stats.crc_errors += 1;
        self.want_replay(None);
    }

    /// A link reset: the retry and credit state starts over as after reset (the counters stay).
    pub fn link_reset(&mut self, p: &UcieAdapterParams) {
        let stats = std::mem::take(&mut self.stats);
        *self = Adapter::new(p);
        self.stats = stats;
    }

    /// A flit was dropped for a bad CRC or header (`gap` `None`) or as a gap (`gap` its
    /// number): schedules a Nak, unless one is out for the expected flit and the replay may
    /// still be on its way (see the module docs).
    fn want_replay(&mut self, gap: Option<u8>) {
        if !self.nak_scheduled {
            self.nak_scheduled = true;
            self.nak_owed = true;
            self.drops_since_nak = 0;
            self.last_gap = gap;
            return;
        }
        let restarted = match (self.last_gap, gap) {
            (Some(last), Some(seq)) => {
                let ahead = seq_distance(last, seq);
                ahead == 0 || ahead > MAX_UNACKED
            }
            _ => false,
        };
        if gap.is_some() {
            self.last_gap = gap;
        }
        self.drops_since_nak += 1;
        if restarted || self.drops_since_nak >= NAK_AGAIN {
            self.nak_owed = true;
            self.drops_since_nak = 0;
        }
    }

    /// Frees the flits up to `seq` if it lies in the window of sent flits; returns whether it
    /// did (an Ack of a flit never sent is ignored).
    fn acknowledge(&mut self, seq: u8) -> bool {
        let ahead = seq_distance(self.acked, seq);
        if ahead > self.unacked.len() as u32 {
            return false;
        }
        for _ in 0..ahead {
            self.unacked.pop_front();
        }
        if ahead > 0 {
            self.acked = seq;
            self.timer = 0;
            // A replay under way goes on from the same flit, or from the oldest one left when
            // the flits it was at are acknowledged.
            self.replay_at =
                self.replay_at.filter(|_| !self.unacked.is_empty()).map(|i| i.saturating_sub(ahead as usize));
        }
        true
    }

    /// Takes the far side's credit count: the credits returned since the last count, if that
    /// many are out (a count claiming more is ignored).
    fn take_credits(&mut self, count: u8) {
        let returned = u32::from(count.wrapping_sub(self.credits_seen));
        if returned <= self.credit_limit - self.credits {
            self.credits += returned;
            self.credits_seen = count;
        }
    }

    /// The local protocol layer frees one entry of its receive buffer.
    pub fn return_credit(&mut self) {
        self.credits_returned = self.credits_returned.wrapping_add(1);
        self.credits_unreported += 1;
    }

    /// One clock cycle passes: the replay timer runs while flits are unacknowledged and no
    /// replay is under way, and fires after [`REPLAY_TIMEOUT_FLITS`] flit times (of
    /// `256 / bytes` cycles each).
    pub fn tick(&mut self) {
        if self.unacked.is_empty() || self.replay_at.is_some() {
            self.timer = 0;
            return;
        }
        self.timer += 1;
        if self.timer >= self.timeout_cycles {
            self.timer = 0;
            self.replay_at = Some(0);
            self.stats.timeouts += 1;
        }
    }

    /// The link went down and came back (Retrain): everything unacknowledged is sent again and
    /// the receiver owes an Ack, so that both sides learn where the other is.
    pub fn retrained(&mut self) {
        self.replay_at = (!self.unacked.is_empty()).then_some(0);
        self.timer = 0;
        self.nak_owed = false;
        self.nak_scheduled = false;
        self.drops_since_nak = 0;
        self.last_gap = None;
        self.ack_owed = self.ack_owed.max(1);
    }
}
