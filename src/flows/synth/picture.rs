//! The SVG area breakdown `vdx synth --area-svg` writes: one stacked bar per die, a segment per
//! block instance (standard cells and SRAM macros), from the synthesis reports.

use std::fmt::Write;

/// One synthesized instance's area.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    /// Die.
    pub die: String,
    /// Instance.
    pub instance: String,
    /// Standard-cell area, µm².
    pub cells_um2: f64,
    /// SRAM macro area (estimated), µm².
    pub macros_um2: f64,
}

const COLOURS: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
    "#bab0ac",
];

/// The picture for `areas` of config `config`.
pub fn area_svg(config: &str, areas: &[Area]) -> String {
    let mut dies: Vec<&str> = Vec::new();
    for a in areas {
        if !dies.contains(&a.die.as_str()) {
            dies.push(&a.die);
        }
    }
    let instances: Vec<&str> = {
        let mut v: Vec<&str> = areas.iter().map(|a| a.instance.as_str()).collect();
        v.sort();
        v.dedup();
        v
    };
    let total =
        |d: &str| areas.iter().filter(|a| a.die == d).map(|a| a.cells_um2 + a.macros_um2).sum::<f64>();
    let max = dies.iter().map(|d| total(d)).fold(0.0, f64::max).max(1e-9);
    let (left, width, bar, gap) = (110.0, 620.0, 28.0, 14.0);
    let legend_rows = instances.len().div_ceil(4) as f64;
    let height = 50.0 + dies.len() as f64 * (bar + gap) + 20.0 * legend_rows + 30.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">",
        left + width + 130.0
    );
    let _ = writeln!(
        s,
        "<text x=\"10\" y=\"20\" font-size=\"14\">{config}: synthesized area per die (OSU 0.18 µm cells; hatched: SRAM macros, estimated)</text>"
    );
    let _ = writeln!(
        s,
        "<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"3\" height=\"6\" fill=\"white\" opacity=\"0.5\"/></pattern></defs>"
    );
    for (i, d) in dies.iter().enumerate() {
        let y = 35.0 + i as f64 * (bar + gap);
        let _ = writeln!(s, "<text x=\"10\" y=\"{}\">{d}</text>", y + bar * 0.65);
        let mut x = left;
        for a in areas.iter().filter(|a| a.die == *d) {
            let c = COLOURS[instances.iter().position(|n| *n == a.instance).unwrap_or(0) % COLOURS.len()];
            for (part, um2, hatched) in [("cells", a.cells_um2, false), ("macros", a.macros_um2, true)] {
                if um2 <= 0.0 {
                    continue;
                }
                let w = width * um2 / max;
                let _ = writeln!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bar}\" fill=\"{c}\"><title>{}: {part} {:.4} mm²</title></rect>",
                    a.instance,
                    um2 / 1e6
                );
                if hatched {
                    let _ = writeln!(
                        s,
                        "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bar}\" fill=\"url(#hatch)\"/>"
                    );
                }
                x += w;
            }
        }
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{}\">{:.3} mm²</text>",
            x + 6.0,
            y + bar * 0.65,
            total(d) / 1e6
        );
    }
    let ly = 35.0 + dies.len() as f64 * (bar + gap) + 6.0;
    for (k, inst) in instances.iter().enumerate() {
        let (col, row) = (k % 4, k / 4);
        let (x, y) = (left + col as f64 * 150.0, ly + row as f64 * 20.0);
        let _ = writeln!(
            s,
            "<rect x=\"{x}\" y=\"{y}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{inst}</text>",
            COLOURS[k % COLOURS.len()],
            x + 16.0,
            y + 11.0
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bar_per_die_and_a_segment_per_instance_part() {
        let a = |die: &str, inst: &str, c: f64, m: f64| Area {
            die: die.into(),
            instance: inst.into(),
            cells_um2: c,
            macros_um2: m,
        };
        // Instances come in synthesis order: an instance shared by two dies is reported for both.
        let svg = area_svg(
            "t",
            &[
                a("d0", "d2d", 1e6, 3e6),
                a("d1", "d2d", 1e6, 3e6),
                a("d0", "mesh", 2e6, 0.0),
                a("d1", "sgu", 5e5, 0.0),
            ],
        );
        assert_eq!(svg.matches("<title>").count(), 6, "{svg}");
        assert_eq!(svg.matches("mm²</text>").count(), 2, "one bar per die: {svg}");
        assert!(svg.contains("6.000 mm²") && svg.contains("4.500 mm²"), "{svg}");
        assert!(svg.contains("d2d: macros 3.0000 mm²"), "{svg}");
    }
}
