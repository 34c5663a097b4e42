//! `vdx`: generate, co-simulate and lint VDX-1 blocks from a die configuration.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Duration;
use vdx::blocks::{BlockParams, CosimRun, REGISTRY};
use vdx::config::DieConfig;
use vdx::generate::{self, Selection};
use vdx::hdl::Design;

#[derive(Parser)]
#[command(
    name = "vdx",
    version,
    about = "Verilog generator and co-simulator for the VDX-1 video-diffusion accelerator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the blocks and their parameters.
    Blocks,
    /// Generate Verilog, filelists and a manifest per die.
    Gen {
        #[command(flatten)]
        select: SelectArgs,
        /// Output folder (default rtl_out/<config>/<die>; with several dies, one subfolder each).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Co-simulate the selected blocks under Verilator against their golden models.
    Sim {
        #[command(flatten)]
        select: SelectArgs,
        /// Cycles per block.
        #[arg(long, default_value_t = 1_000_000)]
        cycles: u64,
        /// Seed of the random stimulus.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Lint generated Verilog: Verilator -Wall and Yosys `hierarchy -check; proc; check -assert`.
    Lint {
        /// Folder to lint; every folder below it holding .v files is linted (default rtl_out).
        dir: Option<PathBuf>,
    },
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Benchmarks that write JSON under bench/results/.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Args)]
struct SelectArgs {
    /// Die configuration (TOML); the embedded VDX-1 config when omitted.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Only this die.
    #[arg(long)]
    die: Option<String>,
    /// Only this block instance or block name (a block no die places is generated alone).
    #[arg(long)]
    block: Option<String>,
    /// Override a parameter of --block: key=value (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration (defaults filled in) as TOML.
    Show {
        /// Configuration file; the embedded default when omitted.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Co-simulation speed: Rust harness (batched and per-call) vs a C++ Verilator testbench.
    Cosim {
        /// Cycles per measurement.
        #[arg(long, default_value_t = 2_000_000)]
        cycles: u64,
        /// Interleaved repetitions; the best of each is reported.
        #[arg(long, default_value_t = 5)]
        repeats: usize,
        /// JSON output file.
        #[arg(long, default_value = "bench/results/cosim.json")]
        out: PathBuf,
    },
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Blocks => blocks(),
        Command::Gen { select, out } => gen_cmd(&select, out.as_deref()),
        Command::Sim { select, cycles, seed } => sim_cmd(&select, cycles, seed),
        Command::Lint { dir } => lint_cmd(dir.as_deref().unwrap_or(Path::new("rtl_out"))),
        Command::Config { command: ConfigCommand::Show { config } } => {
            print!("{}", load_config(config.as_deref())?.to_toml());
            Ok(())
        }
        Command::Bench { command: BenchCommand::Cosim { cycles, repeats, out } } => {
            bench_cosim(cycles, repeats, &out)
        }
    }
}

fn load_config(path: Option<&Path>) -> Result<DieConfig> {
    Ok(match path {
        Some(p) => DieConfig::load(p)?,
        None => DieConfig::default_config()?,
    })
}

fn spinner(message: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message);
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("valid template"));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn blocks() -> Result<()> {
    for b in REGISTRY {
        match b.kind {
            None => println!("{:<20} {} [not available yet]", b.name, b.summary),
            Some(kind) => {
                println!("{:<20} {}", b.name, b.summary);
                for p in kind.describe() {
                    println!("    {:<10} default {:<6} range {:<24} {}", p.name, p.default, p.range, p.doc);
                }
            }
        }
    }
    Ok(())
}

fn selection(select: &SelectArgs) -> Selection {
    Selection { die: select.die.clone(), block: select.block.clone(), sets: select.sets.clone() }
}

fn gen_cmd(select: &SelectArgs, out: Option<&Path>) -> Result<()> {
    let config = load_config(select.config.as_deref())?;
    let plans = generate::plan(&config, &selection(select))?;
    // Everything is built in memory first, so a failure writes nothing.
    let bar = spinner("building".into());
    let outputs = plans.iter().map(|p| generate::build_die(&config, p)).collect::<Result<Vec<_>, _>>()?;
    bar.finish_and_clear();
    let dir_of = |die: &str| match out {
        Some(o) if plans.len() == 1 => o.to_path_buf(),
        Some(o) => o.join(die),
        None => generate::default_dir(&config, die),
    };
    // Every target is checked before any is written, so a refusal leaves all of them untouched.
    for plan in plans.iter().filter(|p| !p.units.is_empty()) {
        generate::check_replaceable(&dir_of(&plan.die))?;
    }
    for (plan, output) in plans.iter().zip(&outputs) {
        let unavailable: Vec<String> = plan.unavailable.iter().map(|(i, b)| format!("{i} ({b})")).collect();
        if plan.units.is_empty() {
            println!("{}: nothing to generate; not available yet: {}", plan.die, unavailable.join(", "));
            continue;
        }
        let dir = dir_of(&plan.die);
        generate::write_die(output, &dir)?;
        println!(
            "{}: {} block(s), {} module file(s) -> {}",
            plan.die,
            plan.units.len(),
            output.emitted.files.len(),
            dir.display()
        );
        if !unavailable.is_empty() {
            println!("  not available yet: {}", unavailable.join(", "));
        }
    }
    Ok(())
}

fn sim_cmd(select: &SelectArgs, cycles: u64, seed: u64) -> Result<()> {
    let config = load_config(select.config.as_deref())?;
    let plans = generate::plan(&config, &selection(select))?;
    let mut rows = Vec::new();
    let mut failed = 0;
    for plan in &plans {
        for u in &plan.units {
            let bar = spinner(format!("{}/{}: Verilator build + {cycles} cycles", plan.die, u.instance));
            let result = u.params.cosim(CosimRun { cycles, seed });
            bar.finish_and_clear();
            let (status, detail) = match result {
                Ok(r) => (
                    "PASS".to_string(),
                    format!(
                        "{} checks, {:.2} Mcycles/s, model ready in {:.1} s",
                        r.checks,
                        r.cycles_per_second / 1e6,
                        r.build_seconds
                    ),
                ),
                Err(e) => {
                    failed += 1;
                    ("FAIL".to_string(), e.to_string())
                }
            };
            rows.push((plan.die.clone(), u.instance.clone(), u.block, status, detail));
        }
        for (inst, block) in &plan.unavailable {
            rows.push((plan.die.clone(), inst.clone(), block, "n/a".into(), "not available yet".into()));
        }
    }
    println!("{:<10} {:<14} {:<20} {:<6} detail", "die", "instance", "block", "result");
    for (die, inst, block, status, detail) in &rows {
        println!("{die:<10} {inst:<14} {block:<20} {status:<6} {detail}");
    }
    println!("seed {seed}, {cycles} cycles per block");
    if failed > 0 {
        bail!("{failed} block(s) failed co-simulation");
    }
    Ok(())
}

fn lint_cmd(root: &Path) -> Result<()> {
    let mut dirs = Vec::new();
    collect_verilog_dirs(root, &mut dirs).with_context(|| format!("reading {}", root.display()))?;
    if dirs.is_empty() {
        bail!("no .v files under {} (run `vdx gen` first)", root.display());
    }
    let mut dirty = 0;
    for dir in &dirs {
        let bar = spinner(format!("linting {}", dir.display()));
        let report = vdx::flows::lint::lint_dir(dir)?;
        bar.finish_and_clear();
        println!("{}:\n{}", dir.display(), vdx::flows::lint::format_report(&report));
        if !report.is_clean() {
            dirty += 1;
        }
    }
    if dirty > 0 {
        bail!("lint found problems in {dirty} folder(s)");
    }
    println!("lint clean: {} folder(s), zero warnings", dirs.len());
    Ok(())
}

fn collect_verilog_dirs(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    if entries.iter().any(|e| e.path().extension().is_some_and(|x| x == "v")) {
        out.push(dir.to_path_buf());
    }
    for e in entries {
        let hidden = e.file_name().to_string_lossy().starts_with('.');
        if e.file_type()?.is_dir() && !hidden {
            collect_verilog_dirs(&e.path(), out)?;
        }
    }
    Ok(())
}

fn bench_cosim(cycles: u64, repeats: usize, out: &Path) -> Result<()> {
    use rand::{RngExt, SeedableRng};
    let params = vdx::blocks::xoshiro::XoshiroLaneParams::default();
    let module = params.build()?;
    let src = Design::single(&module).emit().sim_source(0);
    let layout = vdx::sim::PortLayout::new(&src.top, &src.ports);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut inputs = vec![0u32; cycles as usize * layout.in_words];
    for (c, frame) in inputs.chunks_exact_mut(layout.in_words).enumerate() {
        layout.input("rst_ni")?.set(frame, u64::from(c > 0));
        layout.input("en_i")?.set(frame, u64::from(rng.random_bool(0.9)));
        layout.input("load_i")?.set(frame, u64::from(rng.random_bool(0.01)));
        let state: [u32; 8] = rng.random();
        layout.input("load_state_i")?.set_words(frame, &state);
    }
    let bar = spinner(format!("building and timing {} ({cycles} cycles x {repeats})", src.top));
    let speed = vdx::sim::bench::cosim_speed(&src, &inputs, repeats)?;
    bar.finish_and_clear();
    let json = serde_json::json!({
        "design": src.top,
        "generator": vdx::hdl::GENERATOR,
        "cycles": speed.cycles,
        "repeats": repeats,
        "cpp_testbench_cycles_per_s": speed.cpp_cycles_per_s,
        "rust_batched_cycles_per_s": speed.batched_cycles_per_s,
        "rust_per_call_cycles_per_s": speed.per_call_cycles_per_s,
        "batched_ratio": speed.batched_ratio,
        "per_call_ratio": speed.per_call_ratio,
    });
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(out, serde_json::to_string_pretty(&json)? + "\n")
        .with_context(|| format!("writing {}", out.display()))?;
    println!("design {}, {} cycles, best of {repeats}", src.top, speed.cycles);
    println!("  C++ testbench      {:>8.2} Mcycles/s", speed.cpp_cycles_per_s / 1e6);
    println!(
        "  Rust batched       {:>8.2} Mcycles/s  ratio {:.3}",
        speed.batched_cycles_per_s / 1e6,
        speed.batched_ratio
    );
    println!(
        "  Rust per-call      {:>8.2} Mcycles/s  ratio {:.3}",
        speed.per_call_cycles_per_s / 1e6,
        speed.per_call_ratio
    );
    println!("wrote {}", out.display());
    Ok(())
}
