//! The tables the CLI prints and test messages show.

use super::{StageTiming, SynthReport};

/// Renders `r` as a two-column table of the headline figures, the critical path's ends and the
/// cell mix, for the CLI and test messages.
pub fn format_report(r: &SynthReport) -> String {
    let fmax = if r.fmax_mhz.is_finite() { format!("{:.1} MHz", r.fmax_mhz) } else { "unbounded".into() };
    let stages = r.critical_path.len().saturating_sub(2);
    let head: Vec<(String, String)> = vec![
        ("top".into(), r.top.clone()),
        ("cells".into(), r.cells.to_string()),
        ("area".into(), format!("{:.1} µm²", r.area_um2)),
        ("flip-flops".into(), r.flops.to_string()),
        ("critical path".into(), format!("{:.3} ns ({stages} pins)", r.critical_path_ns)),
        (format!("slack @ {} MHz", r.clock_mhz), format!("{:.3} ns", r.slack_ns)),
        ("Fmax".into(), fmax),
        ("startpoint".into(), r.startpoint().to_string()),
        ("endpoint".into(), r.endpoint().to_string()),
    ];
    let mut head = head;
    if !r.macros.is_empty() {
        head.insert(3, ("  standard cells".into(), format!("{:.1} µm²", r.area_um2 - r.macro_area_um2)));
        head.insert(4, ("  SRAM macros (est.)".into(), format!("{:.1} µm²", r.macro_area_um2)));
        for (i, m) in r.macros.iter().enumerate() {
            head.insert(
                5 + i,
                (
                    format!("  {}", m.cell),
                    format!(
                        "{} × {} words × {} bits, {:.1} µm² each (est.)",
                        m.count, m.words, m.width, m.area_um2
                    ),
                ),
            );
        }
    }
    let cells: Vec<(String, String)> =
        r.cell_counts.iter().map(|(c, n)| (format!("  {c}"), n.to_string())).collect();
    let w = head.iter().chain(&cells).map(|(k, _)| k.chars().count()).max().unwrap_or(0).max(9);
    let mut out = String::new();
    for (k, v) in &head {
        out.push_str(&format!("{k:<w$} | {v}\n"));
    }
    out.push_str(&format!("{:<w$} | count\n", "cell type"));
    for (k, v) in &cells {
        out.push_str(&format!("{k:<w$} | {v}\n"));
    }
    out
}

/// Renders [`stage_timing`](super::stage_timing) rows as a table, one line per row in the given order: stage,
/// endpoints, worst arrival and worst slack (ns, 3 decimals), worst endpoint, and a bar of `#`
/// proportional to the worst arrival (30 for the latest), so that an unbalanced stage stands out.
pub fn format_stage_timing(rows: &[StageTiming]) -> String {
    const BAR: f64 = 30.0;
    let longest = rows.iter().map(|r| r.worst_arrival_ns).fold(0.0, f64::max);
    let head = ["stage", "endpoints", "arrival ns", "slack ns", "worst endpoint"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.stage.clone(),
                r.endpoints.to_string(),
                format!("{:.3}", r.worst_arrival_ns),
                format!("{:.3}", r.worst_slack_ns),
                r.worst_endpoint.clone(),
            ]
        })
        .collect();
    let width = |i: usize| {
        cells.iter().map(|c| c[i].chars().count()).chain([head[i].chars().count()]).max().unwrap_or(0)
    };
    let w: Vec<usize> = (0..5).map(width).collect();
    let line = |c: [&str; 5], bar: &str| {
        format!(
            "{:<w0$} | {:>w1$} | {:>w2$} | {:>w3$} | {:<w4$} | {bar}",
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3],
            w4 = w[4],
        )
        .trim_end()
        .trim_end_matches(" |")
        .trim_end()
        .to_string()
            + "\n"
    };
    let mut out = line(head, "");
    for (r, c) in rows.iter().zip(&cells) {
        let n = if longest > 0.0 { (r.worst_arrival_ns / longest * BAR).round() as usize } else { 0 };
        out.push_str(&line([&c[0], &c[1], &c[2], &c[3], &c[4]], &"#".repeat(n)));
    }
    out
}
