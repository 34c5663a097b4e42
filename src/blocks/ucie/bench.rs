//! `vdx bench ucie`: goodput and retry latency of two co-simulated adapters back to back, per
//! bit error rate and fault, every flit checked against the model as in the tests.
//!
//! Goodput of a direction is the payload bits its protocol layer received divided by the raw
//! bits its transmitter put on the link (payload flits, replays and NOPs, headers, CRCs and
//! reserved bytes included). The one-way cases are the VDX-1 pipeline's traffic (activations
//! flow from one compute die to the next; the reverse direction carries Acks and credits); the
//! two-way cases send as much each way, so each direction also carries the other's Acks.

use super::UcieAdapterParams;
use super::golden::PAYLOAD;
use super::loopback::{LinkFaults, LoopbackBench, loopback_top};
use crate::hdl::Design;
use crate::sim::SimError;
use crate::sim::check::run_until_done;
use crate::sim::verilator::VerilatorDut;
use serde::Serialize;

/// One measured case.
#[derive(Debug, Clone, Serialize)]
pub struct GoodputRow {
    /// What the channel did.
    pub case: String,
    /// Bit error rate on the data.
    pub ber: f64,
    /// Flits sent A → B (and B → A in the two-way cases).
    pub flits: [u64; 2],
    /// Cycles until the last flit was delivered.
    pub cycles: u64,
    /// Payload bits delivered ÷ raw bits moved, A → B.
    pub goodput: f64,
    /// Payload bytes delivered A → B per cycle ÷ the datapath's bytes per cycle, up to the last
    /// delivery (the share of the link's capacity that arrived as payload).
    pub throughput: f64,
    /// Flits replayed and NOPs sent by A; flits B dropped for a bad CRC or header, or out of
    /// order.
    pub replayed: u64,
    /// See [`Self::replayed`].
    pub nops: u64,
    /// See [`Self::replayed`].
    pub crc_errors: u64,
    /// See [`Self::replayed`].
    pub out_of_order: u64,
    /// Replays A started on its timer.
    pub timeouts: u64,
    /// Cycles from a flit's first chunk leaving A's protocol layer to its delivery at B:
    /// median, 99th percentile and largest.
    pub latency_p50: u32,
    /// See [`Self::latency_p50`].
    pub latency_p99: u32,
    /// See [`Self::latency_p50`].
    pub latency_max: u32,
}

/// The bench's cases: one-way traffic at BER 0, 1e-6, 1e-5, 1e-4, with bursts, with drops;
/// two-way traffic at BER 0 and 1e-5. The last field divides the flit count: at BER 1e-4 a
/// fifth of the flits are hit, and a run takes some hundred times as long per flit.
pub fn cases() -> Vec<(&'static str, LinkFaults, bool, u64)> {
    let c = LinkFaults { consume: 1.0, ..LinkFaults::CLEAN };
    vec![
        ("one-way, BER 0", c, false, 1),
        ("one-way, BER 1e-6", LinkFaults { ber: 1e-6, ..c }, false, 1),
        ("one-way, BER 1e-5", LinkFaults { ber: 1e-5, ..c }, false, 1),
        ("one-way, BER 1e-4", LinkFaults { ber: 1e-4, ..c }, false, 50),
        ("one-way, bursts (0.1% of flits start one)", LinkFaults { burst: 0.001, ..c }, false, 1),
        ("one-way, 0.1% of flits dropped", LinkFaults { drop: 0.001, ..c }, false, 1),
        ("two-way, BER 0", c, true, 1),
        ("two-way, BER 1e-5", LinkFaults { ber: 1e-5, ..c }, true, 1),
    ]
}

/// Runs every case with `flits` flits (per direction) on the adapter `p`; `progress` is told
/// each case as it starts.
pub fn goodput(
    p: &UcieAdapterParams,
    flits: u64,
    seed: u64,
    mut progress: impl FnMut(&str),
) -> Result<Vec<GoodputRow>, SimError> {
    let src =
        Design::single(&loopback_top(p).map_err(|e| SimError::Design(e.to_string()))?).emit().sim_source(0);
    let mut dut = VerilatorDut::build(&src)?;
    let mut rows = Vec::new();
    for (i, (case, faults, two_way, divisor)) in cases().into_iter().enumerate() {
        progress(case);
        let n = (flits / divisor).max(1);
        let each = [n, if two_way { n } else { 0 }];
        let mut bench = LoopbackBench::new_each(p, each, faults, seed + i as u64);
        run_until_done(&mut dut, &mut bench, 500 * n + 100_000, seed + i as u64)?;
        let cycles = bench.last_delivery();
        let [a, b] = bench.stats();
        let raw_bits = bench.wire_chunks()[0] as f64 * f64::from(p.bytes) * 8.0;
        let payload_bits = (n * PAYLOAD as u64 * 8) as f64;
        let mut lat = bench.latencies()[0].to_vec();
        lat.sort_unstable();
        let at = |q: f64| lat[((lat.len() - 1) as f64 * q).round() as usize];
        rows.push(GoodputRow {
            case: case.to_string(),
            ber: faults.ber,
            flits: each,
            cycles,
            goodput: payload_bits / raw_bits,
            throughput: payload_bits / (cycles as f64 * f64::from(p.bytes) * 8.0),
            replayed: a.replayed,
            nops: a.nops,
            crc_errors: b.crc_errors,
            out_of_order: b.out_of_order,
            timeouts: a.timeouts,
            latency_p50: at(0.5),
            latency_p99: at(0.99),
            latency_max: at(1.0),
        });
    }
    Ok(rows)
}
