//! The die top builder: plans the endpoints and the register map of a die, then builds the top
//! module around the block modules (see the datasheet in [`super`]).

use super::bind::{Binding, binding};
use super::dma::{COUNT_BITS, arbiter, read_channel, write_channel};
use super::regmap::{Access, RegMap};
use super::sram::SramShape;
use super::{DieError, DieTop, UnitRef};
use crate::config::Fabric;
use crate::hdl::{
    Instance, ModuleBuilder, PortDir, Reset, Signal, Stream, StreamConn, StreamType, index_bits,
    stream_downsizer, stream_upsizer,
};
use std::collections::BTreeMap;

/// Address bits of the CSR bus.
pub const CSR_ADDR_BITS: u32 = 16;

/// How one port of a block is connected.
#[derive(Debug, Clone, PartialEq)]
enum PortUse {
    /// Die edge port `<instance>_<port>`.
    Edge,
    /// Part of a stream handled as a whole (command or endpoint), or the read port.
    Stream,
    /// CSR value (full name) with this access.
    Csr(String, Access),
}

/// The plan of one block on the die.
struct UnitPlan {
    ports: BTreeMap<String, PortUse>,
    /// CSR values of the command stream's fields, in field order, with `go` and `pending`.
    cmd: Option<(Vec<String>, String, String)>,
    binding: Binding,
}

struct Plan {
    map: RegMap,
    sinks: Vec<String>,
    sources: Vec<String>,
    units: Vec<UnitPlan>,
    spad: Option<SramShape>,
    wsram: Option<SramShape>,
}

fn is_clock_or_reset(name: &str) -> bool {
    name == crate::sim::CLOCK_PORT || name == crate::sim::RESET_PORT
}

/// The stem of a port name: without its `_i` or `_o`.
fn stem(port: &str) -> &str {
    port.strip_suffix("_i").or_else(|| port.strip_suffix("_o")).unwrap_or(port)
}

fn dma_group(map: &mut RegMap, name: &str, doc: &str, addr_bits: u32) {
    map.group(name, doc);
    map.value("base", addr_bits, Access::Rw, 0, "first word address");
    map.value("count", COUNT_BITS, Access::Rw, 0, "words to move");
    map.value("start", 1, Access::Pulse, 0, "write 1 to start (ignored while busy)");
    map.value("busy", 1, Access::Ro, 0, "words are still moving");
    map.value("done", 1, Access::W1c, 0, "set when a transfer has finished");
}

fn plan(top: &str, fabric: &Fabric, units: &[UnitRef<'_>]) -> Result<Plan, DieError> {
    let mut map = RegMap::new(top, CSR_ADDR_BITS);
    let mut sinks = vec!["host_out".to_string()];
    let mut sources = vec!["host_in".to_string()];
    let spad = (fabric.scratchpad_kib > 0).then(|| SramShape {
        depth: fabric.words(fabric.scratchpad_kib),
        width: fabric.bits,
        dual: true,
    });
    let wsram = (fabric.weight_sram_kib > 0).then(|| SramShape {
        depth: fabric.words(fabric.weight_sram_kib),
        width: fabric.bits,
        dual: false,
    });
    map.group("die", "Whole-die status and performance counters.");
    map.value(
        "fabric_bits",
        16,
        Access::Ro,
        u64::from(fabric.bits),
        "bits of a switch beat and a memory word",
    );
    map.value("cycles", 64, Access::Ro, 0, "clock cycles since reset or the last perf_clear");
    map.value("perf_clear", 1, Access::Pulse, 0, "write 1 to zero the cycle and beat counters");
    if let Some(s) = spad {
        dma_group(
            &mut map,
            "spad_wr",
            "Scratchpad write channel: switch sink spad_wr into the scratchpad.",
            s.addr_bits(),
        );
        sinks.push("spad_wr".into());
        for i in 0..fabric.read_channels {
            let name = format!("spad_rd{i}");
            dma_group(
                &mut map,
                &name,
                "Scratchpad read channel: the scratchpad out of switch source of the same name.",
                s.addr_bits(),
            );
            sources.push(name);
        }
    }
    if let Some(s) = wsram {
        dma_group(
            &mut map,
            "wsram_wr",
            "Weight SRAM write channel (weight loading): switch sink wsram_wr into the weight SRAM.",
            s.addr_bits(),
        );
        sinks.push("wsram_wr".into());
        dma_group(
            &mut map,
            "wsram_rd",
            "Weight SRAM read channel: the weight SRAM out of switch source wsram_rd.",
            s.addr_bits(),
        );
        sources.push("wsram_rd".into());
    }
    let mut unit_plans = Vec::new();
    for u in units {
        let b = binding(u.block);
        let mut ports = BTreeMap::new();
        let mut cmd = None;
        map.group(u.instance, &format!("Block `{}` ({}).", u.block, u.module.name()));
        let streams = u.module.streams();
        let mut in_stream = std::collections::BTreeSet::new();
        for s in streams {
            let (valid, ready, sfx) = match s.dir {
                PortDir::Input => (format!("{}_valid_i", s.name), format!("{}_ready_o", s.name), "_i"),
                PortDir::Output => (format!("{}_valid_o", s.name), format!("{}_ready_i", s.name), "_o"),
            };
            in_stream.insert(valid);
            in_stream.insert(ready);
            for (f, _) in s.ty.fields() {
                in_stream.insert(format!("{}_{f}{sfx}", s.name));
            }
        }
        if let Some(rp) = b.read_port {
            for p in [rp.en, rp.addr, rp.data] {
                in_stream.insert(p.to_string());
            }
        }
        for p in u.module.ports() {
            if is_clock_or_reset(&p.name) {
                continue;
            }
            if b.edge.contains(&p.name.as_str()) {
                ports.insert(p.name.clone(), PortUse::Edge);
            } else if in_stream.contains(&p.name) {
                ports.insert(p.name.clone(), PortUse::Stream);
            }
        }
        for s in streams {
            if s.name == "cmd" && s.dir == PortDir::Input {
                let fields: Vec<String> =
                    s.ty.fields()
                        .iter()
                        .map(|(f, w)| {
                            map.value(&format!("cmd_{f}"), *w, Access::Rw, 0, &format!("command field `{f}`"))
                        })
                        .collect();
                let go = map.value(
                    "cmd_go",
                    1,
                    Access::Pulse,
                    0,
                    "write 1 to offer the command (held until the block takes it)",
                );
                let pending =
                    map.value("cmd_pending", 1, Access::Ro, 0, "a command is offered and not yet taken");
                cmd = Some((fields, go, pending));
            } else {
                let name = format!("{}_{}", u.instance, s.name);
                match s.dir {
                    PortDir::Input => sinks.push(name),
                    PortDir::Output => sources.push(name),
                }
            }
        }
        for p in u.module.ports() {
            if is_clock_or_reset(&p.name) || ports.contains_key(&p.name) {
                continue;
            }
            let st = stem(&p.name);
            let access = match p.dir {
                PortDir::Input if b.pulses.contains(&p.name.as_str()) => Access::Pulse,
                PortDir::Input => Access::Rw,
                PortDir::Output if b.sticky.contains(&p.name.as_str()) => Access::W1c,
                PortDir::Output => Access::Ro,
            };
            let doc = format!("port `{}` of the block", p.name);
            let name = map.value(st, p.width, access, 0, &doc);
            ports.insert(p.name.clone(), PortUse::Csr(name, access));
        }
        unit_plans.push(UnitPlan { ports, cmd, binding: b });
        if let Some(rp) = b.read_port {
            let width = u.module.ports().iter().find(|p| p.name == rp.addr).map(|p| p.width).unwrap_or(1);
            let name = format!("{}_rd", u.instance);
            dma_group(
                &mut map,
                &name,
                &format!("Read channel of `{}`'s read port: out of switch source {name}.", u.instance),
                width,
            );
            sources.push(name);
        }
    }
    map.group("switch", "The stream switch: each sink takes the beats of the source its route names.");
    let rb = index_bits(sources.len() as u64 + 1);
    for s in &sinks {
        map.value(
            &format!("route_{s}"),
            rb,
            Access::Rw,
            0,
            &format!("source of sink `{s}`: 0 none, else a SRC_ constant"),
        );
    }
    map.value(
        "conflict",
        sinks.len() as u32,
        Access::Ro,
        0,
        "bit j: sink j names a source a lower sink already takes (it gets nothing)",
    );
    for s in &sinks {
        map.value(&format!("beats_{s}"), 32, Access::Ro, 0, &format!("beats sink `{s}` has taken"));
    }
    map.align_groups();
    map.constants.push(("src_none".into(), 0, "a route to no source".into()));
    for (i, s) in sources.iter().enumerate() {
        map.constants.push((format!("src_{s}"), i as u64 + 1, format!("switch source `{s}`")));
    }
    let mut seen = std::collections::BTreeSet::new();
    for v in map.values() {
        if !seen.insert(v.name.clone()) {
            return Err(DieError::Plan(format!(
                "register `{}` is defined twice: rename the block instance whose name makes it",
                v.name
            )));
        }
    }
    if map.span() > 1 << CSR_ADDR_BITS {
        return Err(DieError::Plan(format!(
            "the register map needs {:#x} bytes, more than the CSR bus addresses",
            map.span()
        )));
    }
    Ok(Plan { map, sinks, sources, units: unit_plans, spad, wsram })
}

/// The switch side of a source: the producer's beats.
struct SourceEnd {
    valid: Signal,
    data: Signal,
}

/// The switch side of a sink: the beats the switch offers and the consumer's ready.
struct SinkEnd {
    valid: Signal,
    ready: Signal,
}

/// Cuts `stream` into `w`-bit switch beats through a downsizer `u_<name>_down`: drives
/// `ready_in` (the producer's ready) from it and gives the switch its side, which sees
/// `switch_ready`.
fn downsize(
    m: &ModuleBuilder,
    name: &str,
    stream: &Stream,
    ready_in: &Signal,
    switch_ready: &Signal,
    w: u32,
) -> Result<SourceEnd, DieError> {
    let down = stream_downsizer(stream.ty(), w)?;
    let d = m.instance_streams(
        &format!("u_{name}_down"),
        &down,
        &[],
        &[("in", StreamConn::Feed(stream)), ("out", StreamConn::Ready(switch_ready))],
    );
    m.drive(ready_in, &d.ready("in"));
    let s = d.stream("out");
    Ok(SourceEnd { valid: s.valid().clone(), data: s.data() })
}

struct Csr {
    inst: Instance,
}

impl Csr {
    fn out(&self, value: &str) -> Signal {
        self.inst.output(&format!("{value}_o"))
    }
}

/// Builds the die top.
pub fn build(config: &str, die: &str, fabric: &Fabric, units: &[UnitRef<'_>]) -> Result<DieTop, DieError> {
    // UCIe adapters meet the die through their protocol-layer bridge.
    let ports: Vec<Option<crate::hdl::Module>> = units
        .iter()
        .map(|u| binding(u.block).ucie_port.then(|| crate::blocks::ucie::bridge::port(u.module, fabric.bits)))
        .map(Option::transpose)
        .collect::<Result<_, _>>()?;
    let units: Vec<UnitRef<'_>> = units
        .iter()
        .zip(&ports)
        .map(|(u, p)| UnitRef { module: p.as_ref().unwrap_or(u.module), ..*u })
        .collect();
    let units = &units[..];
    let base = crate::hdl::names::legalize(&format!("vdx_{config}_{die}"));
    let plan = plan(&base, fabric, units)?;
    let w = fabric.bits;
    let m = ModuleBuilder::new(&base);
    m.block("die").param("config", config).param("die", die).param("fabric_bits", w);
    m.param("sinks", plan.sinks.join(",")).param("sources", plan.sources.join(","));
    if let Some(s) = plan.spad {
        m.param("scratchpad", s.name());
    }
    if let Some(s) = plan.wsram {
        m.param("weight_sram", s.name());
    }

    // The CSR block, with a forward wire for every value the hardware drives.
    let csr_module = super::csr::build(&plan.map)?;
    let mut hw_inputs: Vec<(String, Signal)> = Vec::new();
    let mut drives: BTreeMap<String, Signal> = BTreeMap::new();
    for p in ["awaddr", "awvalid", "wdata", "wstrb", "wvalid", "bready", "araddr", "arvalid", "rready"] {
        let width = csr_module
            .ports()
            .iter()
            .find(|q| q.name == format!("s_axil_{p}_i"))
            .map(|q| q.width)
            .unwrap_or(1);
        hw_inputs.push((format!("s_axil_{p}_i"), m.input(&format!("s_axil_{p}_i"), width)));
    }
    for v in plan.map.values() {
        let port = match v.access {
            Access::Ro => format!("{}_i", v.name),
            Access::W1c => format!("{}_set_i", v.name),
            _ => continue,
        };
        let wire = m.wire(&format!("{}_hw", v.name), v.width);
        drives.insert(v.name.clone(), wire.clone());
        hw_inputs.push((port, wire));
    }
    let refs: Vec<(&str, &Signal)> = hw_inputs.iter().map(|(p, s)| (p.as_str(), s)).collect();
    let csr = Csr { inst: m.instance("u_csr", &csr_module, &refs) };
    for p in ["awready", "wready", "bvalid", "bresp", "arready", "rvalid", "rdata", "rresp"] {
        m.output(&format!("s_axil_{p}_o"), &csr.inst.output(&format!("s_axil_{p}_o")));
    }
    let drive = |name: &str, value: &Signal| {
        let wire = drives.get(name).unwrap_or_else(|| unreachable!("value {name} is planned"));
        m.drive(wire, &value.resize(wire.width()));
    };

    // Switch-side wires: sinks get valid/data from the switch, sources get ready.
    let sink_valid: Vec<Signal> = plan.sinks.iter().map(|s| m.wire(&format!("{s}_sw_valid"), 1)).collect();
    let sink_data: Vec<Signal> = plan.sinks.iter().map(|s| m.wire(&format!("{s}_sw_data"), w)).collect();
    let source_ready: Vec<Signal> =
        plan.sources.iter().map(|s| m.wire(&format!("{s}_sw_ready"), 1)).collect();
    let mut sinks: BTreeMap<String, SinkEnd> = BTreeMap::new();
    let mut sources: BTreeMap<String, SourceEnd> = BTreeMap::new();
    let sink_ix = |name: &str| {
        plan.sinks.iter().position(|s| s == name).unwrap_or_else(|| unreachable!("sink {name} is planned"))
    };
    let source_ix = |name: &str| {
        plan.sources
            .iter()
            .position(|s| s == name)
            .unwrap_or_else(|| unreachable!("source {name} is planned"))
    };
    let ty_w = StreamType::data(w);

    m.section("Host streams: the die's own way in and out of the switch.");
    let host_in = m.sink("host_in", &ty_w);
    let host_out = m.source("host_out", &ty_w);
    {
        let j = sink_ix("host_out");
        host_out.drive(&Stream::new(&ty_w, &sink_valid[j], &sink_data[j]));
        sinks.insert("host_out".into(), SinkEnd { valid: sink_valid[j].clone(), ready: host_out.ready() });
        let i = source_ix("host_in");
        host_in.drive_ready(&source_ready[i]);
        sources.insert("host_in".into(), SourceEnd { valid: host_in.valid(), data: host_in.data() });
    }

    // DMA channels.
    let write_chan = |name: &str, addr_bits: u32, gnt: &Signal| -> Result<(Instance, SinkEnd), DieError> {
        let j = sink_ix(name);
        let chan = write_channel(w, addr_bits)?;
        let feed = Stream::new(&ty_w, &sink_valid[j], &sink_data[j]);
        let inputs = [
            ("start_i", csr.out(&format!("{name}_start"))),
            ("base_i", csr.out(&format!("{name}_base"))),
            ("count_i", csr.out(&format!("{name}_count"))),
            ("gnt_i", gnt.clone()),
        ];
        let refs: Vec<(&str, &Signal)> = inputs.iter().map(|(p, s)| (*p, s)).collect();
        let u = m.instance_streams(&format!("u_{name}"), &chan, &refs, &[("in", StreamConn::Feed(&feed))]);
        let end = SinkEnd { valid: sink_valid[j].clone(), ready: u.ready("in") };
        drive(&format!("{name}_busy"), &u.output("busy_o"));
        drive(&format!("{name}_done"), &u.output("done_o"));
        Ok((u, end))
    };
    let read_chan = |name: &str,
                     width: u32,
                     addr_bits: u32,
                     gnt: &Signal,
                     rdata: &Signal|
     -> Result<(Instance, SourceEnd), DieError> {
        let chan = read_channel(width, addr_bits)?;
        let ready = if width == w {
            source_ready[source_ix(name)].clone()
        } else {
            m.wire(&format!("{name}_out_ready"), 1)
        };
        let inputs = [
            ("start_i", csr.out(&format!("{name}_start"))),
            ("base_i", csr.out(&format!("{name}_base"))),
            ("count_i", csr.out(&format!("{name}_count"))),
            ("gnt_i", gnt.clone()),
            ("rdata_i", rdata.clone()),
        ];
        let refs: Vec<(&str, &Signal)> = inputs.iter().map(|(p, s)| (*p, s)).collect();
        let u = m.instance_streams(&format!("u_{name}"), &chan, &refs, &[("out", StreamConn::Ready(&ready))]);
        let out = u.stream("out");
        let i = source_ix(name);
        let end = if width == w {
            SourceEnd { valid: out.valid().clone(), data: out.data() }
        } else {
            downsize(&m, name, &out, &ready, &source_ready[i], w)?
        };
        drive(&format!("{name}_busy"), &u.output("busy_o"));
        drive(&format!("{name}_done"), &u.output("done_o"));
        Ok((u, end))
    };

    let mut srams = Vec::new();
    if let Some(shape) = plan.spad {
        m.section("Activation scratchpad: one write channel on the write port, the read channels share the read port round-robin.");
        let ab = shape.addr_bits();
        let n = fabric.read_channels;
        let req_wires: Vec<Signal> = (0..n).map(|i| m.wire(&format!("spad_rd{i}_req"), 1)).collect();
        let grants: Vec<Signal> = if n == 1 {
            vec![req_wires[0].clone()]
        } else {
            let arb = arbiter(n)?;
            let refs: Vec<&Signal> = req_wires.iter().rev().collect();
            let req = crate::hdl::cat(&refs).named("spad_rd_req");
            let a = m.instance("u_spad_rd_arb", &arb, &[("req_i", &req)]);
            let g = a.output("gnt_o");
            (0..n).map(|i| g.bit(i).named(&format!("spad_rd{i}_gnt"))).collect()
        };
        let rdata = m.wire("spad_rdata", w);
        let wr_req = m.wire("spad_wr_req", 1);
        let (wr, end) = write_chan("spad_wr", ab, &wr_req)?;
        sinks.insert("spad_wr".into(), end);
        m.drive(&wr_req, &wr.output("req_o"));
        let mut raddr = m.lit(0, ab);
        for i in 0..n {
            let name = format!("spad_rd{i}");
            let (u, end) = read_chan(&name, w, ab, &grants[i as usize], &rdata)?;
            sources.insert(name.clone(), end);
            m.drive(&req_wires[i as usize], &u.output("req_o"));
            raddr = raddr.or(&grants[i as usize].repeat(ab).and(&u.output("addr_o")));
        }
        let re = req_wires.iter().skip(1).fold(req_wires[0].clone(), |a, r| a.or(r)).named("spad_re");
        let bb = shape.black_box()?;
        let sram = m.instance(
            "u_spad",
            &bb,
            &[
                ("we_i", &wr.output("req_o")),
                ("waddr_i", &wr.output("addr_o")),
                ("wdata_i", &wr.output("wdata_o")),
                ("re_i", &re),
                ("raddr_i", &raddr.named("spad_raddr")),
            ],
        );
        m.drive(&rdata, &sram.output("rdata_o"));
        srams.push(("scratchpad".to_string(), shape));
    }
    if let Some(shape) = plan.wsram {
        m.section("Weight SRAM: its write (loading) and read channels share the one port round-robin.");
        let ab = shape.addr_bits();
        let wr_req = m.wire("wsram_wr_req", 1);
        let rd_req = m.wire("wsram_rd_req", 1);
        let arb = arbiter(2)?;
        let req = crate::hdl::cat(&[&rd_req, &wr_req]).named("wsram_req");
        let a = m.instance("u_wsram_arb", &arb, &[("req_i", &req)]);
        let g = a.output("gnt_o");
        let (wr_gnt, rd_gnt) = (g.bit(0).named("wsram_wr_gnt"), g.bit(1).named("wsram_rd_gnt"));
        let rdata = m.wire("wsram_rdata", w);
        let (wr, end) = write_chan("wsram_wr", ab, &wr_gnt)?;
        sinks.insert("wsram_wr".into(), end);
        let (rd, end) = read_chan("wsram_rd", w, ab, &rd_gnt, &rdata)?;
        sources.insert("wsram_rd".into(), end);
        m.drive(&wr_req, &wr.output("req_o"));
        m.drive(&rd_req, &rd.output("req_o"));
        let addr = wr_gnt.mux(&wr.output("addr_o"), &rd.output("addr_o")).named("wsram_addr");
        let en = wr_req.or(&rd_req).named("wsram_en");
        let bb = shape.black_box()?;
        let sram = m.instance(
            "u_wsram",
            &bb,
            &[("en_i", &en), ("we_i", &wr_gnt), ("addr_i", &addr), ("wdata_i", &wr.output("wdata_o"))],
        );
        m.drive(&rdata, &sram.output("rdata_o"));
        srams.push(("weight_sram".to_string(), shape));
    }

    // Blocks.
    for (u, up) in units.iter().zip(&plan.units) {
        m.section(&format!("Block {} ({}).", u.instance, u.block));
        let mut inputs: Vec<(String, Signal)> = Vec::new();
        let mut feeds: Vec<(String, Stream)> = Vec::new();
        let mut readies: Vec<(String, Signal)> = Vec::new();
        // Inputs from CSR registers and the die edge.
        for p in u.module.ports() {
            match up.ports.get(&p.name) {
                Some(PortUse::Edge) if p.dir == PortDir::Input => {
                    inputs.push((p.name.clone(), m.input(&format!("{}_{}", u.instance, p.name), p.width)));
                }
                Some(PortUse::Csr(v, _)) if p.dir == PortDir::Input => {
                    inputs.push((p.name.clone(), csr.out(v)))
                }
                _ => {}
            }
        }
        // The command stream: CSR fields, held valid.
        let mut cmd_valid = None;
        if let Some((fields, go, _)) = &up.cmd {
            let decl = u
                .module
                .streams()
                .iter()
                .find(|s| s.name == "cmd")
                .cloned()
                .unwrap_or_else(|| unreachable!("planned"));
            let valid = m.reg(&format!("{}_cmd_valid", u.instance), 1, Reset::Zero);
            let values: Vec<Signal> = fields.iter().map(|f| csr.out(f)).collect();
            let named: Vec<(&str, &Signal)> =
                decl.ty.fields().iter().zip(&values).map(|((f, _), s)| (f.as_str(), s)).collect();
            feeds.push(("cmd".into(), Stream::from_fields(&decl.ty, &valid, &named)));
            cmd_valid = Some((valid, csr.out(go)));
        }
        // Endpoint streams: upsizers in front of sinks, ready wires for sources.
        let mut sink_readies: Vec<(String, Signal)> = Vec::new();
        for s in u.module.streams() {
            if s.name == "cmd" && s.dir == PortDir::Input {
                continue;
            }
            let end = format!("{}_{}", u.instance, s.name);
            match s.dir {
                PortDir::Input => {
                    let j = sink_ix(&end);
                    let ready = m.wire(&format!("{end}_ready"), 1);
                    let upm = stream_upsizer(w, &s.ty)?;
                    let feed = Stream::new(&ty_w, &sink_valid[j], &sink_data[j]);
                    let x = m.instance_streams(
                        &format!("u_{end}_up"),
                        &upm,
                        &[],
                        &[("in", StreamConn::Feed(&feed)), ("out", StreamConn::Ready(&ready))],
                    );
                    sinks.insert(end.clone(), SinkEnd { valid: sink_valid[j].clone(), ready: x.ready("in") });
                    feeds.push((s.name.clone(), x.stream("out")));
                    sink_readies.push((s.name.clone(), ready));
                }
                PortDir::Output => {
                    let ready = m.wire(&format!("{end}_ready"), 1);
                    readies.push((s.name.clone(), ready));
                }
            }
        }
        // The read port: en and address from a read channel, built after the block.
        let rp_wires = up.binding.read_port.map(|rp| {
            let pw = |n: &str| u.module.ports().iter().find(|p| p.name == n).map(|p| p.width).unwrap_or(1);
            let en = m.wire(&format!("{}_rd_en", u.instance), 1);
            let addr = m.wire(&format!("{}_rd_addr", u.instance), pw(rp.addr));
            inputs.push((rp.en.to_string(), en.clone()));
            inputs.push((rp.addr.to_string(), addr.clone()));
            (rp, en, addr, pw(rp.data), pw(rp.addr))
        });
        let conns: Vec<(&str, StreamConn<'_>)> = feeds
            .iter()
            .map(|(n, s)| (n.as_str(), StreamConn::Feed(s)))
            .chain(readies.iter().map(|(n, r)| (n.as_str(), StreamConn::Ready(r))))
            .collect();
        let refs: Vec<(&str, &Signal)> = inputs.iter().map(|(p, s)| (p.as_str(), s)).collect();
        let inst = m.instance_streams(&format!("u_{}", u.instance), u.module, &refs, &conns);
        for (name, ready) in &sink_readies {
            m.drive(ready, &inst.ready(name));
        }
        if let Some((valid, go)) = cmd_valid {
            let taken = valid.and(&inst.ready("cmd")).named(&format!("{}_cmd_taken", u.instance));
            m.next(&valid, &go.or(&valid.and(&taken.not())));
            if let Some((_, _, pending)) = &up.cmd {
                drive(pending, &valid);
            }
        }
        for (name, ready) in &readies {
            let end = format!("{}_{}", u.instance, name);
            let i = source_ix(&end);
            let source = downsize(&m, &end, &inst.stream(name), ready, &source_ready[i], w)?;
            sources.insert(end, source);
        }
        for p in u.module.ports() {
            match up.ports.get(&p.name) {
                Some(PortUse::Edge) if p.dir == PortDir::Output => {
                    m.output(&format!("{}_{}", u.instance, p.name), &inst.output(&p.name));
                }
                Some(PortUse::Csr(v, _)) if p.dir == PortDir::Output => drive(v, &inst.output(&p.name)),
                _ => {}
            }
        }
        if let Some((rp, en, addr, dw, aw)) = rp_wires {
            let name = format!("{}_rd", u.instance);
            let gnt = m.wire(&format!("{name}_gnt"), 1);
            let (c, end) = read_chan(&name, dw, aw, &gnt, &inst.output(rp.data))?;
            sources.insert(name.clone(), end);
            m.drive(&gnt, &c.output("req_o"));
            m.drive(&en, &c.output("req_o"));
            m.drive(&addr, &c.output("addr_o"));
        }
    }

    // The switch.
    m.section(
        "Stream switch: sink j takes source route_j - 1; a source goes to the lowest sink that names it.",
    );
    let rb = index_bits(plan.sources.len() as u64 + 1);
    let ns = plan.sources.len();
    let mut taken_by_lower: Vec<Signal> = vec![m.lit(0, 1); ns];
    let mut ready_terms: Vec<Signal> = vec![m.lit(0, 1); ns];
    let mut conflicts = Vec::new();
    let clear = csr.out("die_perf_clear");
    for (j, sname) in plan.sinks.iter().enumerate() {
        let route = csr.out(&format!("switch_route_{sname}"));
        let mut valid = m.lit(0, 1);
        let mut data = m.lit(0, w);
        let mut conflict = m.lit(0, 1);
        for (i, src_name) in plan.sources.iter().enumerate() {
            let src = sources.get(src_name).unwrap_or_else(|| unreachable!("source {src_name} is built"));
            let hit = route.eq(&m.lit(i as u64 + 1, rb));
            let sel = hit.and(&taken_by_lower[i].not()).named(&format!("{sname}_from_{src_name}"));
            conflict = conflict.or(&hit.and(&taken_by_lower[i]));
            taken_by_lower[i] = taken_by_lower[i].or(&hit);
            valid = valid.or(&sel.and(&src.valid));
            data = data.or(&sel.repeat(w).and(&src.data));
            let snk = sinks.get(sname).unwrap_or_else(|| unreachable!("sink {sname} is built"));
            ready_terms[i] = ready_terms[i].or(&sel.and(&snk.ready));
        }
        m.drive(&sink_valid[j], &valid.named(&format!("{sname}_valid")));
        m.drive(&sink_data[j], &data.named(&format!("{sname}_data")));
        conflicts.push(conflict.named(&format!("{sname}_conflict")));
        let snk = sinks.get(sname).unwrap_or_else(|| unreachable!("sink {sname} is built"));
        let fire = snk.valid.and(&snk.ready).named(&format!("{sname}_fire"));
        let beats = m.reg(&format!("{sname}_beats"), 32, Reset::Zero);
        m.next(&beats, &clear.mux(&m.lit(0, 32), &fire.mux(&beats.add(&beats.lit(1)), &beats)));
        drive(&format!("switch_beats_{sname}"), &beats);
    }
    for (i, s) in plan.sources.iter().enumerate() {
        m.drive(&source_ready[i], &ready_terms[i].named(&format!("{s}_ready")));
    }
    let refs: Vec<&Signal> = conflicts.iter().rev().collect();
    drive("switch_conflict", &crate::hdl::cat(&refs));
    let cycles = m.reg("cycles", 64, Reset::Zero);
    m.next(&cycles, &clear.mux(&m.lit(0, 64), &cycles.add(&cycles.lit(1))));
    drive("die_cycles", &cycles);
    drive("die_fabric_bits", &m.lit(u64::from(w), 16));
    let module = m.finish()?;
    let units =
        units.iter().map(|u| (u.instance.to_string(), u.block.to_string(), u.module.clone())).collect();
    Ok(DieTop { module, regmap: plan.map, srams, sinks: plan.sinks, sources: plan.sources, units })
}
