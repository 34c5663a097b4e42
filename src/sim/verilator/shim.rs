//! Generates the C++ glue between a Verilated model and Rust.
//!
//! Everything is straight-line code emitted per port, so that the per-cycle loop in C++ does no
//! name lookups, and the batched loop (`vdx_run`) is the very code the C++ benchmark runs too.

use crate::sim::{CLOCK_PORT, PortLayout, RESET_PORT, Slot};
use std::fmt::Write as _;

/// Bumped whenever the generated C++ changes, so cached models built from older shims are not
/// reused (it is part of the cache key).
pub(crate) const SHIM_VERSION: u32 = 6;

/// Half a clock period in VCD time units: the replay dumps inputs at `2 * HALF * c` and the rising
/// edge at `2 * HALF * c + HALF`.
const HALF_PERIOD: u64 = 5;

/// The mask of the valid bits in the top word of `slot`, or `None` when all 32 are valid.
fn top_mask(slot: &Slot) -> Option<u32> {
    let rem = slot.width % 32;
    (rem != 0).then(|| (1u32 << rem) - 1)
}

/// ` & 0x..u` for the top word of `slot`, empty when no masking is needed.
fn mask_suffix(slot: &Slot, word: usize) -> String {
    match top_mask(slot) {
        Some(m) if word + 1 == slot.words => format!(" & 0x{m:x}u"),
        _ => String::new(),
    }
}

/// C++ statements copying `slot` from the `u32` words at `src[off..]` into the model port.
/// Inputs are masked because Verilator assumes clean upper bits and frames may come from anywhere.
fn input_assign(slot: &Slot, src: &str, off: usize) -> String {
    let n = &slot.name;
    match slot.width {
        0..=32 => format!("t->{n} = {src}[{off}]{};", mask_suffix(slot, 0)),
        33..=64 => format!(
            "t->{n} = (QData){src}[{off}] | ((QData)({src}[{}]{}) << 32);",
            off + 1,
            mask_suffix(slot, 1)
        ),
        _ => (0..slot.words)
            .map(|i| format!("t->{n}[{i}] = {src}[{}]{};", off + i, mask_suffix(slot, i)))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// C++ statements copying the model port `slot` into the `u32` words at `dst[off..]`.
fn output_copy(slot: &Slot, dst: &str, off: usize) -> String {
    let n = &slot.name;
    match slot.width {
        0..=32 => format!("{dst}[{off}] = (uint32_t)t->{n}{};", mask_suffix(slot, 0)),
        33..=64 => format!(
            "{{ const QData v = t->{n}; {dst}[{off}] = (uint32_t)v; {dst}[{}] = (uint32_t)(v >> 32){}; }}",
            off + 1,
            mask_suffix(slot, 1)
        ),
        _ => (0..slot.words)
            .map(|i| format!("{dst}[{}] = t->{n}[{i}]{};", off + i, mask_suffix(slot, i)))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// A C++ expression for the low 64 bits of the model port `slot`.
fn output_low64(slot: &Slot) -> String {
    let n = &slot.name;
    let mask64 = if slot.width >= 64 { u64::MAX } else { (1u64 << slot.width) - 1 };
    match slot.width {
        0..=64 => format!("(uint64_t)t->{n} & 0x{mask64:x}ull"),
        _ => format!("(uint64_t)t->{n}[0] | ((uint64_t)t->{n}[1] << 32)"),
    }
}

/// The per-port frame code shared by the shim and the benchmark testbench: `vdx_apply` (input
/// frame to ports), `vdx_sample` (ports to output frame) and `vdx_edge` (one clock pulse).
pub(crate) fn frame_code(layout: &PortLayout) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "static const uint64_t VDX_IN_WORDS = {};", layout.in_words);
    let _ = writeln!(s, "static const uint64_t VDX_OUT_WORDS = {};", layout.out_words);
    s.push_str("static inline void vdx_apply(Vdut* const t, const uint32_t* const f) {\n");
    s.push_str("    (void)t; (void)f;\n");
    for slot in &layout.inputs {
        let _ = writeln!(s, "    {}", input_assign(slot, "f", slot.offset));
    }
    s.push_str("}\nstatic inline void vdx_sample(Vdut* const t, uint32_t* const f) {\n");
    s.push_str("    (void)t; (void)f;\n");
    for slot in &layout.outputs {
        let _ = writeln!(s, "    {}", output_copy(slot, "f", slot.offset));
    }
    s.push_str("}\nstatic inline void vdx_edge(Vdut* const t) {\n");
    if layout.has_clock {
        // The fall is evaluated together with the next cycle's inputs, as in the usual two-eval
        // Verilator loop: generated designs act on rising edges only, so nothing happens at it.
        let _ = writeln!(s, "    t->{CLOCK_PORT} = 1; t->eval(); t->{CLOCK_PORT} = 0;");
    } else {
        // Without a clock a cycle is only the settle that vdx_run already did.
        s.push_str("    (void)t;\n");
    }
    s.push_str("}\n");
    s.push_str("static inline void vdx_init(Vdut* const t) {\n");
    if layout.has_clock {
        let _ = writeln!(s, "    t->{CLOCK_PORT} = 0;");
    }
    // Reset released at power-up, so that a first frame asserting it is a real negedge and the
    // asynchronous reset fires, as it does in hardware and in Icarus (X to 0).
    if layout.inputs.iter().any(|slot| slot.name == RESET_PORT) {
        let _ = writeln!(s, "    t->{RESET_PORT} = 1;");
    }
    s.push_str("    t->eval();\n}\n");
    s
}

/// The complete `extern "C"` shim for one model; `trace` adds the VCD replay entry point.
pub(crate) fn shim_source(layout: &PortLayout, trace: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// Generated by vdx (shim v{SHIM_VERSION}) for module `{}`; do not edit.",
        layout.module
    );
    let _ = writeln!(s, "#define VDX_TRACE {}", u8::from(trace));
    s.push_str(
        "#include \"Vdut.h\"\n#include \"verilated.h\"\n#if VDX_TRACE\n#include \"verilated_vcd_c.h\"\n#endif\n\
         #include <cstdint>\n\n",
    );
    s.push_str(&frame_code(layout));
    s.push_str(
        r#"
namespace {
struct VdxInst {
    VerilatedContext* ctx;
    Vdut* top;
};
inline Vdut* vdx_top(void* p) { return static_cast<VdxInst*>(p)->top; }
// Verilator registers and erases a model's scopes (hierarchical blocks have them) in the calling
// thread's context, not the model's: without this a model freed after another instance's
// context was deleted erases from freed memory (a hang on a dead mutex, 5.006 and 5.48 alike).
inline void vdx_enter(void* p) { Verilated::threadContextp(static_cast<VdxInst*>(p)->ctx); }
}  // namespace

// Everything is compiled with -fvisibility=hidden; only the entry points below are exported.
#pragma GCC visibility push(default)
extern "C" {
"#,
    );
    let _ = writeln!(s, "uint32_t vdx_shim_version(void) noexcept {{ return {SHIM_VERSION}; }}");
    let _ = writeln!(
        s,
        "uint64_t vdx_frame_words(void) noexcept {{ return (VDX_IN_WORDS << 32) | VDX_OUT_WORDS; }}"
    );
    s.push_str(
        r#"void* vdx_new(void) noexcept {
    VerilatedContext* const ctx = new VerilatedContext;
    Verilated::threadContextp(ctx);
    Vdut* const top = new Vdut{ctx, "TOP"};
    vdx_init(top);
    return new VdxInst{ctx, top};
}
void vdx_free(void* p) noexcept {
    VdxInst* const i = static_cast<VdxInst*>(p);
    vdx_enter(p);
    i->top->final();
    delete i->top;
    delete i->ctx;
    // No thread may keep pointing at the deleted context.
    Verilated::threadContextp(nullptr);
    delete i;
}
void vdx_eval(void* p) noexcept { vdx_top(p)->eval(); }
void vdx_step(void* p) noexcept { vdx_edge(vdx_top(p)); }
void vdx_run(void* p, const uint32_t* in, uint32_t* out, uint64_t cycles) noexcept {
    vdx_enter(p);
    Vdut* const t = vdx_top(p);
    for (uint64_t c = 0; c < cycles; ++c) {
        vdx_apply(t, in + c * VDX_IN_WORDS);
        t->eval();
        vdx_sample(t, out + c * VDX_OUT_WORDS);
        vdx_edge(t);
    }
}
void vdx_poke(void* p, uint32_t port, const uint32_t* w) noexcept {
    Vdut* const t = vdx_top(p);
    (void)w;
    switch (port) {
"#,
    );
    for (i, slot) in layout.inputs.iter().enumerate() {
        let _ = writeln!(s, "    case {i}: {} break;", input_assign(slot, "w", 0));
    }
    s.push_str(
        r#"    default: (void)t; break;
    }
}
void vdx_peek(void* p, uint32_t port, uint32_t* w) noexcept {
    Vdut* const t = vdx_top(p);
    (void)w;
    switch (port) {
"#,
    );
    for (i, slot) in layout.outputs.iter().enumerate() {
        let _ = writeln!(s, "    case {i}: {} break;", output_copy(slot, "w", 0));
    }
    s.push_str(
        r#"    default: (void)t; break;
    }
}
uint64_t vdx_peek64(void* p, uint32_t port) noexcept {
    Vdut* const t = vdx_top(p);
    switch (port) {
"#,
    );
    for (i, slot) in layout.outputs.iter().enumerate() {
        let _ = writeln!(s, "    case {i}: return {};", output_low64(slot));
    }
    s.push_str("    default: (void)t; return 0;\n    }\n}\n");
    if trace {
        let _ = write!(
            s,
            r#"// Replays input frames into a fresh traced model: inputs change at 10*c, the clock rises at
// 10*c+5. Returns 0 on success, 1 when the VCD file cannot be opened.
int vdx_trace_replay(const uint32_t* in, uint64_t cycles, const char* path) noexcept {{
    VerilatedContext* const ctx = new VerilatedContext;
    Verilated::threadContextp(ctx);
    ctx->traceEverOn(true);
    Vdut* const t = new Vdut{{ctx, "TOP"}};
    VerilatedVcdC* const vcd = new VerilatedVcdC;
    t->trace(vcd, 99);
    vcd->open(path);
    int rc = 1;
    if (vcd->isOpen()) {{
        vdx_init(t);
        for (uint64_t c = 0; c < cycles; ++c) {{
            vdx_apply(t, in + c * VDX_IN_WORDS);
            t->eval();
            vcd->dump({period} * c);
{edge}        }}
        vcd->dump({period} * cycles);
        vcd->close();
        rc = 0;
    }}
    t->final();
    delete vcd;
    delete t;
    delete ctx;
    Verilated::threadContextp(nullptr);
    return rc;
}}
"#,
            period = 2 * HALF_PERIOD,
            edge = if layout.has_clock {
                format!(
                    "            t->{CLOCK_PORT} = 1; t->eval(); vcd->dump({p} * c + {HALF_PERIOD});\n            \
                     t->{CLOCK_PORT} = 0; t->eval();\n",
                    p = 2 * HALF_PERIOD
                )
            } else {
                String::new()
            },
        );
    }
    s.push_str("}  // extern \"C\"\n#pragma GCC visibility pop\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hdl::{PortDir, PortSpec};

    fn port(name: &str, dir: PortDir, width: u32) -> PortSpec {
        PortSpec { name: name.into(), dir, width, signed: false }
    }

    #[test]
    fn wide_ports_copy_every_word_and_mask_the_top_one() {
        let layout = PortLayout::new(
            "m",
            &[
                port("clk_i", PortDir::Input, 1),
                port("w_i", PortDir::Input, 100),
                port("q_o", PortDir::Output, 40),
            ],
        );
        let code = frame_code(&layout);
        assert!(code.contains("t->w_i[3] = f[3] & 0xfu;"), "{code}");
        assert!(code.contains("f[1] = (uint32_t)(v >> 32) & 0xffu;"), "{code}");
        assert!(code.contains("t->clk_i = 1; t->eval(); t->clk_i = 0;\n"), "{code}");
        let shim = shim_source(&layout, true);
        assert!(shim.contains("vdx_trace_replay"));
        assert!(!shim_source(&layout, false).contains("vdx_trace_replay"));
    }
}
