//! The flit-level model in a loopback: two adapters, traffic both ways, a channel that flips
//! bits, drops and duplicates flits; every payload must arrive once, in order.

use super::UcieAdapterParams;
use super::golden::{CRC0_AT, FLIT, Header, PAYLOAD, crcs_ok};
use super::model::{Adapter, Drop, Received, Sent};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::collections::VecDeque;

/// Faults of the channel, per flit.
#[derive(Debug, Clone, Copy)]
struct Faults {
    /// Bit error rate.
    ber: f64,
    /// Chance that a flit is lost whole.
    drop: f64,
    /// Chance that a flit arrives twice.
    dup: f64,
    /// Chance that a flit slot starts a burst of 2–16 corrupted flits.
    burst: f64,
}

const CLEAN: Faults = Faults { ber: 0.0, drop: 0.0, dup: 0.0, burst: 0.0 };

/// One direction's flits in flight: a fixed latency in slots.
struct Wire {
    slots: VecDeque<Vec<[u8; FLIT]>>,
    burst_left: u32,
}

impl Wire {
    fn new(latency: usize) -> Self {
        Wire { slots: (0..latency).map(|_| Vec::new()).collect(), burst_left: 0 }
    }

    /// Puts this slot's flit (if any) on the wire with faults; returns what arrives now.
    fn step(&mut self, sent: Option<&[u8; FLIT]>, faults: Faults, rng: &mut StdRng) -> Vec<[u8; FLIT]> {
        let mut now = Vec::new();
        if let Some(f) = sent {
            let mut f = *f;
            if self.burst_left == 0 && rng.random_bool(faults.burst) {
                self.burst_left = rng.random_range(2..=16);
            }
            if self.burst_left > 0 {
                self.burst_left -= 1;
                for _ in 0..rng.random_range(1..=40) {
                    let k = rng.random_range(0..FLIT * 8);
                    f[k / 8] ^= 1 << (k % 8);
                }
            }
            super::loopback::flip(&mut f, faults.ber, rng);
            if !rng.random_bool(faults.drop) {
                now.push(f);
                if rng.random_bool(faults.dup) {
                    now.push(f);
                }
            }
        }
        self.slots.push_back(now);
        self.slots.pop_front().expect("latency slots")
    }
}

/// One side's protocol layer: payloads it sent, payloads it received, its receive buffer.
struct Side {
    adapter: Adapter,
    to_send: u64,
    sent: Vec<[u8; PAYLOAD]>,
    received: Vec<[u8; PAYLOAD]>,
    buffer: usize,
    max_buffer: usize,
}

fn payload(rng: &mut StdRng) -> [u8; PAYLOAD] {
    let mut p = [0u8; PAYLOAD];
    rng.fill(&mut p[..]);
    p
}

struct Outcome {
    slots: u64,
    a: super::model::Stats,
    b: super::model::Stats,
}

/// Runs `flits` payloads each way through a channel with `faults`; panics on any loss,
/// duplication, reordering or credit overflow.
fn loopback(p: &UcieAdapterParams, flits: u64, faults: Faults, seed: u64) -> Outcome {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut sides: Vec<Side> = (0..2)
        .map(|_| Side {
            adapter: Adapter::new(p),
            to_send: flits,
            sent: Vec::new(),
            received: Vec::new(),
            buffer: 0,
            max_buffer: 0,
        })
        .collect();
    let mut wires = [Wire::new(3), Wire::new(3)];
    let mut slots = 0u64;
    let window = p.replay_depth.min(127) as usize;
    while sides.iter().any(|s| s.received.len() as u64 != flits || s.adapter.unacked() > 0) {
        slots += 1;
        assert!(
            slots < 200 * flits + 10_000,
            "no progress: {} and {} of {flits} delivered",
            sides[0].received.len(),
            sides[1].received.len()
        );
        let mut arriving = Vec::new();
        for (i, side) in sides.iter_mut().enumerate() {
            let offer = (side.to_send > 0 && rng.random_bool(0.97)).then(|| payload(&mut rng));
            let sent = side.adapter.send(offer.as_ref().map(|pl| (1 + (i as u8), pl)));
            if let Sent::New(_) = sent {
                side.sent.push(offer.expect("a new flit was offered"));
                side.to_send -= 1;
            }
            arriving.push(wires[i].step(sent.flit(), faults, &mut rng));
            for _ in 0..p.chunks() {
                side.adapter.tick();
            }
            assert!(side.adapter.unacked() <= window && side.adapter.credits() <= p.credits);
        }
        for (i, flits_in) in arriving.into_iter().enumerate() {
            let rx = &mut sides[1 - i];
            for f in flits_in {
                match rx.adapter.receive(&f) {
                    Received::Delivered(protocol, pl) => {
                        assert_eq!(protocol, 1 + i as u8);
                        rx.received.push(*pl);
                        rx.buffer += 1;
                        rx.max_buffer = rx.max_buffer.max(rx.buffer);
                    }
                    Received::Dropped(Drop::Crc) => assert!(!crcs_ok(&f)),
                    _ => {}
                }
            }
        }
        for side in &mut sides {
            if side.buffer > 0 && rng.random_bool(0.95) {
                side.buffer -= 1;
                side.adapter.return_credit();
            }
        }
    }
    for i in 0..2 {
        let (tx, rx) = (&sides[i], &sides[1 - i]);
        assert_eq!(tx.sent.len(), rx.received.len());
        for (k, (s, r)) in tx.sent.iter().zip(&rx.received).enumerate() {
            assert!(s == r, "payload {k} from side {i} arrived changed or out of order");
        }
        assert!(
            rx.max_buffer <= p.credits as usize,
            "receive buffer held {} > {} credits",
            rx.max_buffer,
            p.credits
        );
    }
    let [a, b] = [0, 1].map(|i| sides[i].adapter.stats.clone());
    Outcome { slots, a, b }
}

#[test]
fn clean_link_delivers_everything_once_without_replays() {
    let p = UcieAdapterParams::default();
    let o = loopback(&p, 3000, CLEAN, 1);
    assert_eq!((o.a.replayed, o.b.replayed, o.a.crc_errors, o.b.naks), (0, 0, 0, 0));
    // Payload flits each way over the slots it took: NOPs and credit waits cost a little.
    let busy = 3000.0 / o.slots as f64;
    assert!(busy > 0.75, "{} slots for 3000 flits each way", o.slots);
}

#[test]
fn bit_errors_bursts_drops_and_duplicates_lose_nothing() {
    let p = UcieAdapterParams::default();
    for (k, faults) in [
        Faults { ber: 1e-5, ..CLEAN },
        Faults { ber: 1e-4, ..CLEAN },
        Faults { burst: 0.01, ..CLEAN },
        Faults { drop: 0.01, ..CLEAN },
        Faults { dup: 0.02, ..CLEAN },
        Faults { ber: 1e-4, drop: 0.01, dup: 0.01, burst: 0.005 },
    ]
    .into_iter()
    .enumerate()
    {
        let o = loopback(&p, 2000, faults, 10 + k as u64);
        let errors = o.a.crc_errors + o.b.crc_errors + o.a.out_of_order + o.b.out_of_order;
        let recovered = o.a.replayed + o.b.replayed;
        // Duplicates alone are dropped and need no replay; every other fault does.
        let needs_replay = faults.ber > 0.0 || faults.drop > 0.0 || faults.burst > 0.0;
        assert!(
            errors > 0 && (recovered > 0) == needs_replay,
            "{faults:?}: {errors} errors, {recovered} replays"
        );
    }
}

#[test]
fn small_windows_and_few_credits_still_flow() {
    for p in [
        UcieAdapterParams { replay_depth: 4, credits: 1, ..UcieAdapterParams::default() },
        UcieAdapterParams { replay_depth: 64, credits: 127, ..UcieAdapterParams::default() },
    ] {
        loopback(&p, 1500, Faults { ber: 1e-5, drop: 0.005, ..CLEAN }, 3);
    }
}

#[test]
fn header_fields_round_trip_and_reserved_values_are_refused() {
    use super::golden::Cmd;
    for seq in 1..=255u8 {
        for cmd in [Cmd::Seq, Cmd::Ack, Cmd::Nak] {
            for protocol in 0..4 {
                let h = Header { protocol, cmd, seq };
                assert_eq!(Header::decode(h.encode()), Some(h));
            }
        }
    }
    let h = Header { protocol: 1, cmd: Cmd::Seq, seq: 0xa5 }.encode();
    assert_eq!(h, [0x4a, 0x05], "S[7:4] in byte 0, S[3:0] in byte 1");
    assert_eq!(Header::decode([0x40, 0x00]), None, "sequence number 0 is reserved");
    assert_eq!(Header::decode([0x41, 0x30]), None, "command 11 is reserved");
    assert_eq!(Header::decode([0x61, 0x01]), None, "stack 1 is not used");
    let f = super::golden::make_flit(Header { protocol: 2, cmd: Cmd::Seq, seq: 7 }, &[0x5a; PAYLOAD]);
    assert!(crcs_ok(&f) && f[242..252].iter().all(|&b| b == 0));
    let mut bad = f;
    bad[CRC0_AT] ^= 1;
    assert!(!crcs_ok(&bad));
}

/// A payload flit numbered `seq` as a transmitter sends it.
fn payload_flit(seq: u8) -> [u8; FLIT] {
    use super::golden::{Cmd, make_flit};
    make_flit(Header { protocol: 1, cmd: Cmd::Seq, seq }, &[seq; PAYLOAD])
}

/// Whether the receiver's next slot sends a Nak (with nothing of its own to send).
fn sends_nak(rx: &mut Adapter) -> bool {
    match rx.send(None) {
        Sent::Nop(f) => Header::decode([f[0], f[1]]).expect("a good NOP").cmd == super::golden::Cmd::Nak,
        _ => false,
    }
}

#[test]
fn a_lost_nak_is_sent_again_after_nak_again_drops() {
    use super::model::NAK_AGAIN;
    let mut rx = Adapter::new(&UcieAdapterParams::default());
    assert!(matches!(rx.receive(&payload_flit(1)), Received::Delivered(..)));
    rx.receive_broken();
    assert!(sends_nak(&mut rx), "the bad flit is Nak'ed");
    // The Nak is lost: flits 3, 4, ... keep coming as gaps.
    for (i, seq) in (3..).take(NAK_AGAIN as usize).enumerate() {
        assert_eq!(rx.receive(&payload_flit(seq)), Received::Dropped(Drop::Gap));
        let again = sends_nak(&mut rx);
        assert_eq!(again, i + 1 == NAK_AGAIN as usize, "gap {seq}: Nak again only after {NAK_AGAIN} drops");
    }
    assert_eq!(rx.stats.naks, 2);
}

#[test]
fn a_replay_that_lost_its_first_flit_is_nakked_at_once() {
    let mut rx = Adapter::new(&UcieAdapterParams::default());
    rx.receive_broken(); // flit 1 is hit
    assert!(sends_nak(&mut rx));
    for seq in 2..=4 {
        assert_eq!(rx.receive(&payload_flit(seq)), Received::Dropped(Drop::Gap));
        assert!(!sends_nak(&mut rx), "gap {seq} before the replay: the Nak is on its way");
    }
    // The replay starts: its flit 1 is hit too, then flit 2 arrives, behind the last gap (4).
    rx.receive_broken();
    assert!(!sends_nak(&mut rx), "a bad flit alone says nothing about the replay");
    assert_eq!(rx.receive(&payload_flit(2)), Received::Dropped(Drop::Gap));
    assert!(sends_nak(&mut rx), "numbering went back: the replay lost its first flit");
    // The next replay gets through: delivery resumes and the waiting ends.
    assert!(matches!(rx.receive(&payload_flit(1)), Received::Delivered(..)));
    assert!(matches!(rx.receive(&payload_flit(2)), Received::Delivered(..)));
    assert_eq!(rx.stats.naks, 2);
}
