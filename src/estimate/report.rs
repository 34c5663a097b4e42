//! The text of `vdx estimate` and its SVG of where a step's time goes.

use super::models::{ARTICLE_FORWARD, ARTICLE_STEP};
use super::{ARTICLE_DENOISE_SECONDS, Estimate, Precision};
use std::fmt::Write;

/// `x` with an SI prefix and three significant digits: `1.23 P`.
pub fn si(x: f64) -> String {
    let (v, p) = [(1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        .iter()
        .find(|(s, _)| x.abs() >= *s)
        .map(|(s, p)| (x / s, *p))
        .unwrap_or((x, ""));
    format!("{v:.3} {p}")
}

/// Seconds as ms or s.
pub fn secs(s: f64) -> String {
    if s < 1.0 { format!("{:.3} ms", s * 1e3) } else { format!("{s:.2} s") }
}

impl Estimate {
    /// The report `vdx estimate` prints.
    pub fn report(&self) -> String {
        let w = &self.workload;
        let m = &w.model;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} on {} at {} MHz: {} compute dies, peak {:.0} TOPS (2 ops per MAC, arrays at W4A8)",
            m.name,
            self.config,
            self.clock_mhz,
            self.dies.len(),
            self.peak_tops
        );
        let _ = writeln!(
            s,
            "{}, {} video frames, {} steps, precision {}\n",
            w.resolution.0,
            w.frames,
            w.steps,
            format!("{:?}", w.precision).to_lowercase()
        );
        let (g, mg, f, mf) = (&self.geometry, &self.model_geometry, &self.flops, &self.model_flops);
        let _ = writeln!(
            s,
            "FLOP per step                 | article's geometry      | {}'s own geometry",
            m.name
        );
        let _ =
            writeln!(s, "------------------------------|-------------------------|------------------------");
        let row = |s: &mut String, name: &str, a: String, b: String| {
            let _ = writeln!(s, "{name:<30}| {a:<24}| {b}");
        };
        row(
            &mut s,
            "tokens (per frame × frames)",
            format!("{} × {} = {}", g.tokens_per_frame, g.frames, g.tokens()),
            format!("{} × {} = {}", mg.tokens_per_frame, mg.frames, mg.tokens()),
        );
        for (name, a, b) in [
            ("linear layers", f.linear, mf.linear),
            ("spatial attention (factored)", f.spatial, mf.spatial),
            ("temporal attention (factored)", f.temporal, mf.temporal),
            ("cross-attention", f.cross, mf.cross),
            ("factored total", f.factored(), mf.factored()),
            ("full 3D attention instead", f.full_3d, mf.full_3d),
        ] {
            row(&mut s, name, format!("{}FLOP", si(a)), format!("{}FLOP", si(b)));
        }
        if m.name == "wan-14b" && w.resolution.0 == "720p" {
            let article: Vec<String> =
                ARTICLE_STEP.iter().map(|(n, v)| format!("{n} {}FLOP", si(*v))).collect();
            let _ = writeln!(
                s,
                "\nThe article, same model and geometry:\n- its VDX-1 section: {} per step: {:.0}× below the \
                 factored count above (its linear figure alone is {:.0}× below);\n- its opening: {}FLOP per forward \
                 pass ({:.2}× the factored count), and 2 × {:.1} B parameters × {} tokens = {}FLOP of linear layers.",
                article.join(", "),
                f.factored() / ARTICLE_STEP[3].1,
                f.linear / ARTICLE_STEP[0].1,
                si(ARTICLE_FORWARD),
                ARTICLE_FORWARD / f.factored(),
                m.params / 1e9,
                g.tokens(),
                si(2.0 * m.params * g.tokens() as f64)
            );
        } else {
            let _ = writeln!(s, "\n(The article's own figures are for wan-14b at 720p.)");
        }
        let hz = self.clock_mhz * 1e6;
        for d in &self.dies {
            let _ = writeln!(s, "\nDie {}: {} transformer blocks; per block:", d.die, d.layers);
            let _ = writeln!(s, "part                 | compute cycles | fabric cycles | bound   | time");
            let _ =
                writeln!(s, "---------------------|----------------|---------------|---------|----------");
            for (name, c) in [
                ("linear, W4A8", d.linear_w4),
                ("linear, W8A8", d.linear_w8),
                ("spatial attention", d.spatial),
                ("cross-attention", d.cross),
                ("temporal attention", d.temporal),
            ] {
                let _ = writeln!(
                    s,
                    "{name:<21}| {:>14} | {:>13} | {:<7} | {}",
                    c.compute,
                    c.fabric,
                    c.bound(),
                    secs(c.total() as f64 / hz)
                );
            }
            let _ = writeln!(
                s,
                "weights {}B of {}B weight SRAM ({}); one step's activations {}B of a {}B scratchpad ({})",
                si(d.weight_bytes as f64),
                si(d.weight_sram_bytes as f64),
                if d.weight_bytes <= d.weight_sram_bytes { "fit" } else { "do NOT fit" },
                si(d.activation_bytes as f64),
                si(d.scratchpad_bytes as f64),
                if d.activation_bytes <= d.scratchpad_bytes {
                    "fit"
                } else {
                    "do NOT fit: they stream through HBM"
                }
            );
        }
        let (st, sp, cl) = (self.step_seconds, self.step_seconds_pipelined, self.clip_seconds);
        let _ = writeln!(
            s,
            "\nUCIe: {}B cross each die boundary per step (INT8 activations of every token) at {:.0} GB/s: {} \
             (the article says ~40 MB and ~50 µs); the lanes carry {:.0} GB/s of payload, one adapter \
             with its bridge moves {:.0} GB/s between the switch and the flits",
            si(self.boundary_bytes as f64),
            self.link_gb_s,
            secs(self.boundary_bytes as f64 / (self.link_gb_s.max(1e-9) * 1e9)),
            self.link_phy_gb_s,
            self.link_bridge_gb_s
        );
        let _ = writeln!(
            s,
            "Per step: {} at W4A8, {} at W8A8 with the dies in turn; {} / {} pipelined over micro-batches",
            secs(st.0),
            secs(st.1),
            secs(sp.0),
            secs(sp.1)
        );
        let _ = writeln!(
            s,
            "Denoising a clip ({} steps, {}): {} in turn, {} pipelined (the VAE decoder is not modelled)",
            w.steps,
            match w.precision {
                Precision::W4a8 => "all W4A8",
                Precision::W8a8 => "all W8A8",
                Precision::Schedule => "W4A8 for the first half, W8A8 after",
            },
            secs(cl.0),
            secs(cl.1)
        );
        let _ = writeln!(
            s,
            "The article claims {ARTICLE_DENOISE_SECONDS} s of denoising: the factored workload would need {:.0} effective TOPS \
             ({:.1}× this config's peak of {:.0} TOPS) even at full utilisation.",
            self.tops_for_claim,
            self.tops_for_claim / self.peak_tops,
            self.peak_tops
        );
        if let Some(j) = self.clip_joules {
            let _ = writeln!(s, "Energy of the clip's operations: {j:.1} J");
        }
        s
    }

    /// An SVG bar chart of one step's time per die and part (W4A8 linear layers unless the
    /// precision is W8A8).
    pub fn svg(&self) -> String {
        let hz = self.clock_mhz * 1e6;
        let w4 = self.workload.precision != Precision::W8a8;
        let parts = ["linear", "spatial attention", "cross-attention", "temporal attention"];
        let colours = ["#4e79a7", "#f28e2b", "#76b7b2", "#e15759"];
        let rows: Vec<(String, Vec<f64>)> = self
            .dies
            .iter()
            .map(|d| {
                let lin = if w4 { d.linear_w4 } else { d.linear_w8 };
                let v = [lin, d.spatial, d.cross, d.temporal]
                    .iter()
                    .map(|c| d.layers as f64 * c.total() as f64 / hz)
                    .collect();
                (d.die.clone(), v)
            })
            .collect();
        let max = rows.iter().map(|(_, v)| v.iter().sum::<f64>()).fold(0.0, f64::max).max(1e-12);
        let (left, width, bar, gap) = (110.0, 600.0, 28.0, 14.0);
        let height = 70.0 + rows.len() as f64 * (bar + gap) + 40.0;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">",
            left + width + 120.0
        );
        let _ = writeln!(
            s,
            "<text x=\"10\" y=\"20\" font-size=\"14\">{} on {}: one denoising step, {} ({} per die, dies in turn)</text>",
            self.workload.model.name,
            self.config,
            secs(if w4 { self.step_seconds.0 } else { self.step_seconds.1 }),
            if w4 { "W4A8" } else { "W8A8" }
        );
        for (i, (name, v)) in rows.iter().enumerate() {
            let y = 40.0 + i as f64 * (bar + gap);
            let _ = writeln!(s, "<text x=\"10\" y=\"{}\">{name}</text>", y + bar * 0.65);
            let mut x = left;
            for (k, t) in v.iter().enumerate() {
                let wpx = width * t / max;
                let _ = writeln!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{wpx:.1}\" height=\"{bar}\" fill=\"{}\"><title>{}: {}</title></rect>",
                    colours[k],
                    parts[k],
                    secs(*t)
                );
                x += wpx;
            }
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{}\">{}</text>",
                x + 6.0,
                y + bar * 0.65,
                secs(v.iter().sum())
            );
        }
        let ly = 40.0 + rows.len() as f64 * (bar + gap) + 10.0;
        for (k, p) in parts.iter().enumerate() {
            let x = left + k as f64 * 150.0;
            let _ = writeln!(
                s,
                "<rect x=\"{x}\" y=\"{ly}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{p}</text>",
                colours[k],
                x + 16.0,
                ly + 11.0
            );
        }
        s.push_str("</svg>\n");
        s
    }
}
