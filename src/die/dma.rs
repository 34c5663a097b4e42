//! DMA channels between a die's stream switch and its memories, and the round-robin arbiter that
//! shares one memory port among several channels.
//!
//! A channel is programmed with a base word address and a word count and started with a pulse;
//! while it runs, a new start is ignored. Addresses advance by one word per beat.
//!
//! - `vdx_dma_read`: reads `count` words from `base` up and offers them, in order, on its source
//!   `out`. It asks for the port (`req_o`, `addr_o`) only while its 4-entry FIFO has room for every
//!   read in flight, so a stalled consumer never loses a word; read data (`rdata_i`) is expected
//!   one cycle after a granted request (`gnt_i`). One word per cycle when granted every cycle.
//! - `vdx_dma_write`: writes the next `count` beats of its sink `in` from `base` up; a beat is taken
//!   in the cycle its write is granted.
//!
//! Both give `busy_o` (words still to move, or read words not yet taken) and `done_o`, a pulse in
//! the cycle `busy_o` falls.
//!
//! `vdx_rr_arbiter`: `n` requests, one grant per cycle, round-robin: the requester after the one
//! granted last has the highest priority, so no requester waits more than `n - 1` grants.

use crate::hdl::{
    HdlError, Module, ModuleBuilder, Reset, Signal, Stream, StreamConn, StreamType, cat, index_bits,
    stream_fifo,
};

/// Bits of a channel's word count.
pub const COUNT_BITS: u32 = 32;

/// Entries of a read channel's FIFO.
pub const READ_FIFO: u32 = 4;

fn header(m: &ModuleBuilder, width: u32, addr_bits: u32) {
    m.block("dma").param("width", width).param("addr_bits", addr_bits).param("count_bits", COUNT_BITS);
}

/// `vdx_dma_read` for words of `width` bits and `addr_bits`-bit addresses.
pub fn read_channel(width: u32, addr_bits: u32) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_dma_read");
    header(&m, width, addr_bits);
    m.param("fifo", READ_FIFO);
    let start = m.input("start_i", 1);
    let base = m.input("base_i", addr_bits);
    let count = m.input("count_i", COUNT_BITS);
    let gnt = m.input("gnt_i", 1);
    let rdata = m.input("rdata_i", width);
    let out = m.source("out", &StreamType::data(width));
    let left = m.reg("left", COUNT_BITS, Reset::Zero);
    let addr = m.reg("addr", addr_bits, Reset::Zero);
    let inflight = m.reg("inflight", 1, Reset::Zero);
    let busy_q = m.reg("busy", 1, Reset::Zero);
    let fifo_ty = StreamType::data(width);
    let fifo = stream_fifo(&fifo_ty, READ_FIFO)?;
    let arrived = Stream::new(&fifo_ty, &inflight, &rdata);
    let u = m.instance_streams(
        "u_fifo",
        &fifo,
        &[],
        &[("in", StreamConn::Feed(&arrived)), ("out", StreamConn::Ready(&out.ready()))],
    );
    let level = u.output("level_o");
    let lb = level.width();
    m.section("Issue a read while words are left and the FIFO has room for every read in flight.");
    let outstanding = level.add(&inflight.zext(lb)).named("outstanding");
    let room = outstanding.lt(&outstanding.lit(u64::from(READ_FIFO))).named("room");
    let req = left.ne(&left.lit(0)).and(&room).named("req");
    let granted = req.and(&gnt).named("granted");
    let busy = left.ne(&left.lit(0)).or(&inflight).or(&level.ne(&level.lit(0))).named("busy_now");
    let idle_start = start.and(&busy.not()).named("idle_start");
    m.next(&inflight, &granted);
    m.next_when(&left, &idle_start.or(&granted), &idle_start.mux(&count, &left.sub(&left.lit(1))));
    m.next_when(&addr, &idle_start.or(&granted), &idle_start.mux(&base, &addr.add(&addr.lit(1))));
    m.next(&busy_q, &busy);
    m.output("req_o", &req);
    m.output("addr_o", &addr);
    out.drive(&u.stream("out"));
    m.output("busy_o", &busy);
    m.output("done_o", &busy_q.and(&busy.not()));
    m.finish()
}

/// `vdx_dma_write` for words of `width` bits and `addr_bits`-bit addresses.
pub fn write_channel(width: u32, addr_bits: u32) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_dma_write");
    header(&m, width, addr_bits);
    let start = m.input("start_i", 1);
    let base = m.input("base_i", addr_bits);
    let count = m.input("count_i", COUNT_BITS);
    let gnt = m.input("gnt_i", 1);
    let input = m.sink("in", &StreamType::data(width));
    let left = m.reg("left", COUNT_BITS, Reset::Zero);
    let addr = m.reg("addr", addr_bits, Reset::Zero);
    let busy = left.ne(&left.lit(0)).named("busy_now");
    m.section("Write each beat in the cycle the port is granted to it.");
    let req = busy.and(&input.valid()).named("req");
    input.drive_ready(&busy.and(&gnt).named("in_ready"));
    let take = input.fire().named("take");
    let idle_start = start.and(&busy.not()).named("idle_start");
    m.next_when(&left, &idle_start.or(&take), &idle_start.mux(&count, &left.sub(&left.lit(1))));
    m.next_when(&addr, &idle_start.or(&take), &idle_start.mux(&base, &addr.add(&addr.lit(1))));
    m.output("req_o", &req);
    m.output("addr_o", &addr);
    m.output("wdata_o", &input.data());
    m.output("busy_o", &busy);
    m.output("done_o", &take.and(&left.eq(&left.lit(1))).named("last_take"));
    m.finish()
}

/// `vdx_rr_arbiter` over `n` requesters (2..=16).
pub fn arbiter(n: u32) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_rr_arbiter");
    m.block("dma").param("requesters", n);
    let req = m.input("req_i", n);
    let ib = index_bits(u64::from(n));
    let last = m.reg("last", ib, Reset::Value(u64::from(n - 1)));
    m.section("For each possible last grant, the fixed order that starts after it.");
    let mut grant = m.lit(0, n);
    for l in 0..n {
        let mut taken = m.lit(0, 1);
        let mut bits: Vec<Signal> = vec![m.lit(0, 1); n as usize];
        for k in 1..=n {
            let i = (l + k) % n;
            bits[i as usize] = req.bit(i).and(&taken.not());
            taken = taken.or(&req.bit(i));
        }
        let refs: Vec<&Signal> = bits.iter().rev().collect();
        let order = cat(&refs).named(&format!("after{l}"));
        grant = last.eq(&last.lit(u64::from(l))).mux(&order, &grant);
    }
    let grant = grant.named("grant");
    let mut index = m.lit(0, ib);
    for i in 0..n {
        index = grant.bit(i).mux(&m.lit(u64::from(i), ib), &index);
    }
    m.next_when(&last, &req.ne(&req.lit(0)), &index.named("granted_index"));
    m.output("gnt_o", &grant);
    m.finish()
}
