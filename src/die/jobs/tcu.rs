//! The `tcu` job: a `timestep_cond` driven through its die top the way software would. Its
//! `load`, `cond` and `t` streams are switch sinks fed from `host_in` one at a time (a source
//! goes to one sink), its `vec` and `emb` streams switch sources read on `host_out`:
//! - both conditioning tables loaded with random values, every row beat;
//! - broadcasts of several (step, layer) pairs, the first and last row of each table among
//!   them, every value and `last` compared with [`CondTables`];
//! - the embeddings of a few timesteps (0, 1, the largest and random ones), every value and
//!   `last` compared with [`embedding`];
//! - the sticky range-error flags: clear after good loads and requests; where the fields can
//!   name a row beyond a table, a request for it sets `<tcu>_cond_range_error`, yields nothing
//!   and the flag clears on a write of 1, and likewise a load beat beyond a table and
//!   `<tcu>_load_range_error` (its beat dropped, checked where it would have landed in a row).

use super::{Bits, Ctx, JobError, params, signed, stream_type, u64_words};
use crate::blocks::systolic::golden::unpack;
use crate::blocks::tcu::golden::{CondTables, embedding};
use crate::blocks::tcu::rtl::VALUE_BITS;
use crate::blocks::tcu::{BROADCAST_LATENCY, TimestepCondParams};
use crate::config::DieConfig;
use crate::die::host::from_fabric;
use crate::hdl::StreamType;
use rand::RngExt;
use rand::rngs::StdRng;

/// One beat of `ty` from its fields' values (words of 32, least significant first), first
/// field lowest; a field not given is 0.
fn pack(ty: &StreamType, values: &[(&str, &[u32])]) -> Vec<u32> {
    let mut bits = Bits::default();
    for (f, w) in ty.fields() {
        let v = values.iter().find(|(n, _)| n == f).map_or(&[][..], |(_, v)| v);
        bits.put(v, *w);
    }
    bits.words
}

/// The words of `values`, value `l` in bits `16l+15:16l`.
fn lane_words(values: &[i16]) -> Vec<u32> {
    let mut bits = Bits::default();
    for v in values {
        bits.put(&[u32::from(*v as u16)], VALUE_BITS);
    }
    bits.words
}

/// Bits of field `name` of `ty`.
fn field_bits(ty: &StreamType, name: &str) -> u32 {
    ty.range(name).map_or(0, |(hi, lo)| hi - lo + 1)
}

/// The unit on the die: its parameters, its streams' types, what was loaded into it.
struct Tcu<'a> {
    inst: &'a str,
    p: TimestepCondParams,
    load: StreamType,
    cond: StreamType,
    t: StreamType,
    vec: StreamType,
    emb: StreamType,
    tables: CondTables,
}

impl Tcu<'_> {
    /// Streams `beats` (block beats of `ty`) from `host_in` into switch sink `<inst>_<stream>`
    /// and returns once the sink took the last; then it is routed to nothing again.
    fn send(
        &self,
        c: &mut Ctx<'_, '_>,
        stream: &str,
        ty: &StreamType,
        beats: &[Vec<u32>],
    ) -> Result<(), JobError> {
        let sink = format!("{}_{stream}", self.inst);
        let fab = c.fab(beats, ty.width());
        let r = c.host.route(&sink, Some("host_in"));
        c.h(r)?;
        if c.t_go == 0 {
            c.t_go = c.host.cycle;
        }
        c.host.send.extend(fab.iter().cloned());
        let r = c.host.run_until(
            &format!("sending {} beats into {sink}", fab.len()),
            100 * fab.len() as u64 + 100,
            |h| h.send.is_empty(),
        );
        c.h(r)?;
        let r = c.host.route(&sink, None);
        c.h(r)
    }

    /// Value `name` of the unit (a CSR).
    fn get(&self, c: &mut Ctx<'_, '_>, name: &str) -> Result<u64, JobError> {
        let r = c.host.get_value(&format!("{}_{name}", self.inst));
        c.h(r)
    }

    /// Writes 1 to the W1c flag `name`, then checks that it reads 0.
    fn clear(&self, c: &mut Ctx<'_, '_>, name: &str) -> Result<(), JobError> {
        let r = c.host.set_value(&format!("{}_{name}", self.inst), 1);
        c.h(r)?;
        let v = self.get(c, name)?;
        c.expect_eq(v, 0, &format!("{name} after a write of 1"))
    }

    /// Both tables, every row beat, random values; returns the beats sent.
    fn load_tables(&mut self, c: &mut Ctx<'_, '_>, rng: &mut StdRng) -> Result<usize, JobError> {
        let beats = u64::from(self.p.row_beats());
        let mut out = Vec::new();
        for (table, rows) in [(0, self.p.steps), (1, self.p.layers)] {
            for addr in 0..u64::from(rows) * beats {
                let values: Vec<i16> = (0..self.p.lanes).map(|_| rng.random()).collect();
                self.tables.load(table, addr, &values);
                let words = lane_words(&values);
                out.push(pack(
                    &self.load,
                    &[("table", &[table as u32]), ("addr", &u64_words(addr)), ("data", &words)],
                ));
            }
        }
        let before = c.host.get_value(&format!("switch_beats_{}_load", self.inst));
        let before = c.h(before)?;
        self.send(c, "load", &self.load, &out)?;
        let after = c.host.get_value(&format!("switch_beats_{}_load", self.inst));
        let after = c.h(after)?;
        let per = u64::from(self.load.width().div_ceil(c.fabric));
        c.expect_eq(after - before, out.len() as u64 * per, "load beats the switch counted")?;
        Ok(out.len())
    }

    /// Requests the broadcasts of `pairs` and checks every beat against the tables; returns the
    /// beats compared.
    fn broadcasts(&self, c: &mut Ctx<'_, '_>, pairs: &[(u64, u64)]) -> Result<usize, JobError> {
        let r = c.host.route("host_out", Some(&format!("{}_vec", self.inst)));
        c.h(r)?;
        let row_beats = u64::from(self.p.row_beats());
        let requests: Vec<Vec<u32>> = pairs
            .iter()
            .map(|&(s, l)| pack(&self.cond, &[("step", &u64_words(s)), ("layer", &u64_words(l))]))
            .collect();
        self.send(c, "cond", &self.cond, &requests)?;
        let per = self.vec.width().div_ceil(c.fabric) as usize;
        let want_beats = pairs.len() * row_beats as usize;
        let (beats, _) = c.collect(want_beats * per, 50_000)?;
        let got = from_fabric(&beats, self.vec.width(), c.fabric);
        let (data_at, last_at) =
            (self.vec.range("data").map_or(0, |r| r.1), self.vec.range("last").map_or(0, |r| r.0));
        for (n, &(s, l)) in pairs.iter().enumerate() {
            let Some(want) = self.tables.broadcast(row_beats, s, l) else {
                return c.fail(format!("step {s}, layer {l}: a row was never loaded"));
            };
            for (b, w) in want.iter().enumerate() {
                let g = &got[n * row_beats as usize + b];
                for (lane, v) in w.iter().enumerate() {
                    c.expect_eq(
                        signed(g, data_at + lane as u32 * VALUE_BITS, VALUE_BITS) as i16,
                        *v,
                        &format!("broadcast of step {s}, layer {l}: beat {b} lane {lane}"),
                    )?;
                }
                c.expect_eq(
                    unpack(g, last_at, 1) == 1,
                    b + 1 == want.len(),
                    &format!("broadcast of step {s}, layer {l}: beat {b} last"),
                )?;
            }
        }
        Ok(got.len())
    }

    /// The embeddings of timesteps `ts`, every beat checked against the golden model.
    fn embeddings(&self, c: &mut Ctx<'_, '_>, ts: &[u32]) -> Result<(), JobError> {
        let r = c.host.route("host_out", Some(&format!("{}_emb", self.inst)));
        c.h(r)?;
        let beats: Vec<Vec<u32>> = ts.iter().map(|&t| pack(&self.t, &[("data", &[t])])).collect();
        self.send(c, "t", &self.t, &beats)?;
        let lanes = self.p.lanes as usize;
        let per = self.emb.width().div_ceil(c.fabric) as usize;
        let per_t = (self.p.dim / self.p.lanes) as usize;
        let (beats, _) = c.collect(ts.len() * per_t * per, 50_000)?;
        let got = from_fabric(&beats, self.emb.width(), c.fabric);
        let (data_at, last_at) =
            (self.emb.range("data").map_or(0, |r| r.1), self.emb.range("last").map_or(0, |r| r.0));
        for (n, &t) in ts.iter().enumerate() {
            let want = embedding(self.p.dim, self.p.max_period, t);
            for (b, w) in want.chunks(lanes).enumerate() {
                let g = &got[n * per_t + b];
                for (lane, v) in w.iter().enumerate() {
                    c.expect_eq(
                        signed(g, data_at + lane as u32 * VALUE_BITS, VALUE_BITS) as i16,
                        *v,
                        &format!("embedding of t = {t}: value {}", b * lanes + lane),
                    )?;
                }
                c.expect_eq(
                    unpack(g, last_at, 1) == 1,
                    b + 1 == per_t,
                    &format!("embedding of t = {t}: beat {b} last"),
                )?;
            }
        }
        Ok(())
    }

    /// Runs long enough for a request's broadcast to have come out, had it not been dropped,
    /// and for a flag to have been set.
    fn settle(&self, c: &mut Ctx<'_, '_>) -> Result<(), JobError> {
        for _ in 0..BROADCAST_LATENCY + u64::from(self.p.row_beats()) + 16 {
            let r = c.host.tick();
            c.h(r)?;
        }
        Ok(())
    }

    /// A request for `(step, layer)`, beyond a table: flagged, nothing out, the flag cleared.
    fn bad_request(&self, c: &mut Ctx<'_, '_>, step: u64, layer: u64) -> Result<(), JobError> {
        let what = format!("request for step {step}, layer {layer}");
        let beat = pack(&self.cond, &[("step", &u64_words(step)), ("layer", &u64_words(layer))]);
        self.send(c, "cond", &self.cond, &[beat])?;
        self.settle(c)?;
        let n = c.host.received.len();
        c.expect_eq(n, 0, &format!("beats out of the dropped {what}"))?;
        let flag = self.get(c, "cond_range_error")?;
        c.expect_eq(flag, 1, &format!("cond_range_error after the {what}"))?;
        self.clear(c, "cond_range_error")
    }
}

/// The `tcu` job on instance `inst` (a `timestep_cond`); returns its detail.
pub(super) fn tcu(
    c: &mut Ctx<'_, '_>,
    config: &DieConfig,
    inst: &str,
    rng: &mut StdRng,
) -> Result<String, JobError> {
    let p: TimestepCondParams = params(config, c.die, inst)?;
    let m = c.module(inst);
    let mut u = Tcu {
        inst,
        load: stream_type(&m, "load"),
        cond: stream_type(&m, "cond"),
        t: stream_type(&m, "t"),
        vec: stream_type(&m, "vec"),
        emb: stream_type(&m, "emb"),
        p,
        tables: CondTables::default(),
    };
    let (steps, layers) = (u64::from(u.p.steps), u64::from(u.p.layers));
    let row_beats = u64::from(u.p.row_beats());

    // 1. The tables.
    let loaded = u.load_tables(c, rng)?;
    for flag in ["load_range_error", "cond_range_error"] {
        let v = u.get(c, flag)?;
        c.expect_eq(v, 0, &format!("{flag} after loading every row"))?;
    }
    // A load beat beyond a table whose address field reaches past it: dropped and flagged. Where
    // the field also reaches past the table's memory (its rows rounded up to a power of two of
    // beats, `depth`), the beat goes to address `depth`: cut to the memory's width it would land
    // on beat 0 of row 0, which the broadcasts below read back.
    let aw = field_bits(&u.load, "addr");
    let beyond_load = [(0usize, steps), (1, layers)].into_iter().find_map(|(table, rows)| {
        let (end, depth) = (rows * row_beats, (rows * row_beats).next_power_of_two().max(2));
        let addr = if depth < 1 << aw { depth } else { end };
        (addr < 1 << aw).then_some((table, addr))
    });
    if let Some((table, addr)) = beyond_load {
        let junk: Vec<i16> = (0..u.p.lanes).map(|_| rng.random()).collect();
        let words = lane_words(&junk);
        let beat = pack(&u.load, &[("table", &[table as u32]), ("addr", &u64_words(addr)), ("data", &words)]);
        u.send(c, "load", &u.load, &[beat])?;
        u.settle(c)?;
        let v = u.get(c, "load_range_error")?;
        c.expect_eq(v, 1, &format!("load_range_error after a beat of table {table} at {addr}"))?;
        u.clear(c, "load_range_error")?;
    }

    // 2. Broadcasts: every corner of the two tables, then random rows.
    let mut pairs = vec![(0, 0), (steps - 1, layers - 1), (0, layers - 1), (steps - 1, 0)];
    pairs.extend((0..2).map(|_| (rng.random_range(0..steps), rng.random_range(0..layers))));
    let mut vec_beats = u.broadcasts(c, &pairs)?;
    let mut requests = pairs.len();
    let v = u.get(c, "cond_range_error")?;
    c.expect_eq(v, 0, "cond_range_error after good requests")?;

    // 3. Embeddings, from the smallest to the largest timestep.
    let t_max = (1u64 << field_bits(&u.t, "data")) - 1;
    let mut ts = vec![0, 1, t_max as u32];
    ts.extend((0..2).map(|_| rng.random_range(0..=t_max) as u32));
    u.embeddings(c, &ts)?;

    // 4. Requests beyond the tables, where the fields can name one; a good request after each.
    let (sw, lw) = (field_bits(&u.cond, "step"), field_bits(&u.cond, "layer"));
    let mut flagged = Vec::new();
    if steps < 1 << sw {
        u.bad_request(c, steps, 0)?;
        vec_beats += u.broadcasts(c, &[(steps - 1, 0)])?;
        requests += 1;
        flagged.push(format!("step {steps}"));
    }
    if layers < 1 << lw {
        u.bad_request(c, 0, layers)?;
        vec_beats += u.broadcasts(c, &[(0, layers - 1)])?;
        requests += 1;
        flagged.push(format!("layer {layers}"));
    }
    let v = u.get(c, "cond_range_error")?;
    c.expect_eq(v, 0, "cond_range_error after the last good request")?;
    // Nothing more comes out.
    u.settle(c)?;
    let n = c.host.received.len();
    c.expect_eq(n, 0, "beats after the last broadcast")?;

    let errors = match (flagged.is_empty(), beyond_load) {
        (true, None) => format!(
            "no request or load beyond a table fits the fields ({steps} steps, {layers} layers, \
             {}-beat tables), the flags stay clear",
            steps.max(layers) * row_beats
        ),
        _ => format!(
            "range errors flagged, dropped and cleared: {}",
            flagged
                .into_iter()
                .chain(beyond_load.map(|(t, a)| format!("load of table {t} at {a}")))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Ok(format!(
        "{steps} + {layers} rows loaded ({loaded} beats), {requests} broadcasts ({vec_beats} beats), \
         {} embeddings of {}; {errors}",
        ts.len(),
        u.p.dim
    ))
}
