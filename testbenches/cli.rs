//! The `vdx` command line, as a user runs it.

mod common;

use std::path::Path;
use std::process::Command;

use common::vdx;

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap_or_default())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn gen_block_writes_verilog_and_filelist_and_lint_is_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = vdx(&["gen", "--block", "xoshiro_lane", "--out", "lane"], tmp.path());
    assert!(ok, "{stderr}");
    assert!(stdout.contains("1 block(s), 1 module file(s)"), "{stdout}");
    let names: Vec<String> = listing(&tmp.path().join("lane")).into_iter().map(|(n, _)| n).collect();
    let flow = [
        "noise_lane0.config.mk",
        "noise_lane0.core",
        "noise_lane0.f",
        "noise_lane0.sdc",
        "noise_lane0_params.h",
    ];
    assert_eq!(names.len(), 7, "{names:?}");
    assert_eq!(&names[..6], [&["manifest.json"][..], &flow[..]].concat());
    assert!(names[6].starts_with("vdx_xoshiro_lane_") && names[6].ends_with(".v"), "{names:?}");
    if !common::lint_tools() {
        return;
    }
    let (ok, stdout, stderr) = vdx(&["lint", "lane"], tmp.path());
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("lint clean: 1 distinct module(s) in 1 folder(s), zero warnings"), "{stdout}");
}

#[test]
fn lint_reports_warnings_in_hand_edited_output() {
    if !common::lint_tools() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    assert!(vdx(&["gen", "--block", "xoshiro_lane", "--out", "lane"], tmp.path()).0);
    let file = common::verilog_of(&tmp.path().join("lane"), "vdx_xoshiro_lane");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace(
            "input  wire         en_i,",
            "input  wire         en_i,\n  input  wire         spare_i,",
        ),
    )
    .unwrap();
    let (ok, stdout, _) = vdx(&["lint", "lane"], tmp.path());
    assert!(!ok, "{stdout}");
    assert!(stdout.contains("spare_i"), "{stdout}");
}

#[test]
fn bad_config_fails_naming_the_field_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.v"), "previous output\n").unwrap();
    let before = listing(&out);
    let cases = [
        (
            "[dies.d.blocks.r]\nblock = 'xoshiro_lane'\nlane = 4096\n",
            "dies.d.blocks.r.lane: 4096 is out of range 0..=1023",
        ),
        ("[dies.d.blocks.r]\nblock = 'xoshiro_lane'\nseed = 'abc'\n", "dies.d.blocks.r.seed: invalid type"),
        (
            "[dies.d.blocks.r]\nblock = 'no_such_block'\n",
            "dies.d.blocks.r.block: unknown block `no_such_block`",
        ),
        ("[dies.d.blocks.r]\nblock = 'xoshiro_lane'\nlane = \n", "line 7"),
    ];
    for (body, message) in cases {
        let config = tmp.path().join("bad.toml");
        std::fs::write(&config, format!("name = 'bad'\nclock_mhz = 500.0\n\n\n{body}")).unwrap();
        let (ok, _, stderr) = vdx(&["gen", "--config", "bad.toml", "--out", "out"], tmp.path());
        assert!(!ok, "{body}");
        assert!(stderr.contains(message), "expected `{message}` in:\n{stderr}");
        assert!(stderr.contains("bad.toml"), "{stderr}");
        assert_eq!(listing(&out), before, "the output folder must be untouched");
        assert!(!tmp.path().join("rtl_out").exists());
    }
}

#[test]
fn bad_overrides_and_selections_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, _, stderr) =
        vdx(&["gen", "--block", "xoshiro_lane", "--set", "lane=2000", "--out", "o"], tmp.path());
    assert!(!ok && stderr.contains("lane: 2000 is out of range 0..=1023"), "{stderr}");
    let (ok, _, stderr) = vdx(&["gen", "--block", "vae_decoder"], tmp.path());
    assert!(!ok && stderr.contains("--block vae_decoder: this block is not available"), "{stderr}");
    let (ok, _, stderr) = vdx(&["gen", "--die", "nope"], tmp.path());
    assert!(!ok && stderr.contains("no die `nope`; dies: compute0, compute1, compute2, utility"), "{stderr}");
    let (ok, _, stderr) = vdx(&["gen", "--set", "lane=1"], tmp.path());
    assert!(!ok && stderr.contains("--set needs --block"), "{stderr}");
    assert!(!tmp.path().join("o").exists() && !tmp.path().join("rtl_out").exists());
}

#[test]
fn gen_is_byte_identical_across_runs_and_reports_unavailable_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = vdx(&["gen", "--out", "a"], tmp.path());
    assert!(ok, "{stderr}");
    assert!(stdout.contains("not available yet (left out of the die top): vae (vae_decoder)"), "{stdout}");
    assert!(!stdout.contains("(timestep_cond)"), "the TCU's embedding is generated: {stdout}");
    assert!(!stdout.contains("(temporal_attention)"), "the TAE is generated: {stdout}");
    assert!(!stdout.contains("(ucie_adapter)"), "the UCIe adapter is generated: {stdout}");
    for die in ["compute0", "compute1", "compute2", "utility"] {
        common::verilog_of(&tmp.path().join("a").join(die), "vdx_ucie_adapter");
    }
    assert!(common::verilog_of(&tmp.path().join("a/compute0"), "vdx_systolic_ws").exists());
    assert!(common::verilog_of(&tmp.path().join("a/utility"), "vdx_timestep_cond").exists());
    assert!(vdx(&["gen", "--out", "b"], tmp.path()).0);
    for die in ["compute0", "compute1", "compute2", "utility"] {
        assert_eq!(listing(&tmp.path().join("a").join(die)), listing(&tmp.path().join("b").join(die)));
    }
    let (ok, stdout, _) =
        vdx(&["gen", "--block", "xoshiro_lane", "--set", "lane=7", "--out", "c"], tmp.path());
    assert!(ok, "{stdout}");
    let text =
        std::fs::read_to_string(common::verilog_of(&tmp.path().join("c"), "vdx_xoshiro_lane")).unwrap();
    assert!(text.contains("// params: seed=0x7ea lane=7"), "the config instance keeps its seed: {text}");
}

#[test]
fn config_show_prints_a_config_that_loads_again() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = vdx(&["config", "show"], tmp.path());
    assert!(ok, "{stderr}");
    assert!(stdout.contains("[dies.utility.blocks.noise_lane0]"), "{stdout}");
    std::fs::write(tmp.path().join("mine.toml"), &stdout).unwrap();
    let (ok, again, stderr) = vdx(&["config", "show", "--config", "mine.toml"], tmp.path());
    assert!(ok, "{stderr}");
    assert_eq!(again.lines().skip(1).collect::<Vec<_>>(), stdout.lines().skip(1).collect::<Vec<_>>());
}

#[test]
fn sim_prints_a_pass_table() {
    if !common::verilator() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // The default die's blocks, at sizes a test can afford.
    let config = "name = 'small'\nclock_mhz = 1500.0\n\
        [dies.utility.blocks.noise_lane0]\nblock = 'xoshiro_lane'\n\
        [dies.utility.blocks.sgu]\nlanes = 2\n\
        [dies.utility.blocks.noise]\nblock = 'noise_buffer'\nlanes = 2\ntensor_samples = 100\n\
        [dies.utility.blocks.tcu]\nblock = 'timestep_cond'\n";
    std::fs::write(tmp.path().join("small.toml"), config).unwrap();
    let (ok, stdout, stderr) = vdx(&["sim", "--config", "small.toml", "--cycles", "20000"], tmp.path());
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("noise_lane0    xoshiro_lane         PASS   20000 checks"), "{stdout}");
    assert!(stdout.contains("sgu            sgu                  PASS"), "{stdout}");
    assert!(stdout.contains("noise          noise_buffer         PASS"), "{stdout}");
    assert!(stdout.contains("tcu            timestep_cond        PASS"), "{stdout}");
}

#[test]
fn missing_verilator_is_an_error_with_install_instructions() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["sim", "--die", "utility", "--cycles", "10"])
        .current_dir(tmp.path())
        .env("PATH", tmp.path())
        .env_remove(vdx::sim::SKIP_ENV)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("FAIL") && stdout.contains("verilator not found on PATH"), "{stdout}");
    assert!(stdout.contains("apt-get install verilator"), "{stdout}");
}

#[test]
fn sim_builds_a_threaded_model_when_asked_and_names_a_bad_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = |threads: &str| {
        Command::new(env!("CARGO_BIN_EXE_vdx"))
            .args(["sim", "--block", "mesh", "--set", "rows=8", "--set", "cols=8", "--cycles", "600"])
            .current_dir(tmp.path())
            .env(vdx::sim::THREADS_ENV, threads)
            .env_remove(vdx::sim::SKIP_ENV)
            .output()
            .unwrap()
    };
    let out = sim("2");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("PASS") && !stdout.contains("FAIL"), "{stdout}");
    let out = sim("two");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("VDX_SIM_THREADS=two") && text.contains("thread count"), "{text}");
}

#[test]
fn gen_refuses_to_overwrite_a_folder_that_is_not_vdx_output() {
    let tmp = tempfile::tempdir().unwrap();
    let mine = tmp.path().join("proj");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "precious\n").unwrap();
    let (ok, _, stderr) = vdx(&["gen", "--block", "xoshiro_lane", "--out", "proj"], tmp.path());
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("refusing to write into proj") && stderr.contains("not vdx output"), "{stderr}");
    assert_eq!(listing(&mine), [("notes.txt".to_string(), b"precious\n".to_vec())]);
    let (ok, _, stderr) = vdx(&["gen", "--block", "xoshiro_lane", "--out", "."], tmp.path());
    assert!(!ok, "{stderr}");
    let leftovers: Vec<String> = listing(tmp.path()).into_iter().map(|(n, _)| n).collect();
    assert_eq!(leftovers, ["proj"], "no temporary folders are left behind");
}

#[test]
fn gen_replaces_its_own_earlier_output_and_keeps_the_users_files() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(vdx(&["gen", "--block", "xoshiro_lane", "--out", "o"], tmp.path()).0);
    let first = common::verilog_of(&tmp.path().join("o"), "vdx_xoshiro_lane");
    std::fs::write(tmp.path().join("o/my_tb.sv"), "module my_tb; endmodule\n").unwrap();
    std::fs::create_dir(tmp.path().join("o/waves")).unwrap();
    let (ok, _, stderr) =
        vdx(&["gen", "--block", "xoshiro_lane", "--set", "lane=1", "--out", "o"], tmp.path());
    assert!(ok, "{stderr}");
    let second = common::verilog_of(&tmp.path().join("o"), "vdx_xoshiro_lane");
    assert_ne!(first, second, "lane 1 is other content, so another name");
    assert!(!first.exists(), "the previous run's module is replaced");
    let names: Vec<String> = listing(&tmp.path().join("o")).into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"my_tb.sv".to_string()) && names.contains(&"waves".to_string()), "{names:?}");
    assert_eq!(names.len(), 9, "manifest, 5 flow files, 1 module, 2 of the user's: {names:?}");
    let leftovers: Vec<String> = listing(tmp.path()).into_iter().map(|(n, _)| n).collect();
    assert_eq!(leftovers, ["o"]);
}

#[test]
fn bad_sgu_parameters_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    for (set, message) in [
        ("lanes=0", "lanes: 0 is out of range 1..=1024"),
        (
            "out_width=14",
            "out_width: 14 bits with 11 fraction bits leave 2 integer bits; the tail reaches 8.24",
        ),
        ("u0_bits=24", "u0_bits: 24 is out of range 32..=48"),
    ] {
        let (ok, _, stderr) = vdx(&["gen", "--block", "sgu", "--set", set, "--out", "o"], tmp.path());
        assert!(!ok, "{set}");
        assert!(stderr.contains(message), "expected `{message}` in:\n{stderr}");
    }
    assert!(!tmp.path().join("o").exists());
}

#[test]
fn bad_systolic_parameters_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    for (sets, message) in [
        (&["rows=0"][..], "rows: 0 is out of range 1..=256"),
        (
            &["acc_width=24", "max_k=4096"][..],
            "acc_width: 24 bits is too narrow for max_k = 4096: a 4096-long dot product of signed 8-bit \
             activations and 8-bit weights needs 28 bits",
        ),
        (&["weight_width=6"][..], "weight_width: 6 is not supported"),
        (&["acc_rows=100"][..], "acc_rows: 100 must be a power of two"),
    ] {
        let mut args = vec!["gen", "--block", "systolic_ws", "--out", "o"];
        for s in sets {
            args.extend(["--set", s]);
        }
        let (ok, _, stderr) = vdx(&args, tmp.path());
        assert!(!ok, "{sets:?}");
        assert!(stderr.contains(message), "expected `{message}` in:\n{stderr}");
    }
    assert!(!tmp.path().join("o").exists());
}

#[test]
fn sim_trace_writes_the_waveform_of_a_passing_run() {
    if !common::verilator() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) =
        vdx(&["sim", "--block", "xoshiro_lane", "--cycles", "200", "--trace", "t.vcd"], tmp.path());
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("PASS") && stdout.contains("waveform t.vcd"), "{stdout}");
    let vcd = std::fs::read_to_string(tmp.path().join("t.vcd")).unwrap();
    let (header, body) = vcd.split_once("$enddefinitions").expect("$enddefinitions");
    let var = |name: &str| {
        header.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&"$var") && f.get(4) == Some(&name)).then(|| f[3].to_string())
        })
    };
    let rand = var("rand_o").unwrap_or_else(|| panic!("no $var rand_o in:\n{header}"));
    let changes = body.lines().filter(|l| l.starts_with('b') && l.ends_with(&format!(" {rand}"))).count();
    assert!(changes > 50, "{changes} value changes of rand_o in 200 cycles");
    // The whole run is there: the clock's last rise is in cycle 199.
    assert!(body.lines().any(|l| l == "#1995"), "no time 1995 in the waveform");
}

#[test]
fn sim_trace_needs_a_selection_of_one_design() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) =
        vdx(&["sim", "--die", "utility", "--cycles", "10", "--trace", "t.vcd"], tmp.path());
    assert!(!ok, "{stdout}");
    assert!(stderr.contains("--trace t.vcd writes the waveform of one design"), "{stderr}");
    assert!(stderr.contains("5 distinct designs"), "{stderr}");
    assert!(!tmp.path().join("t.vcd").exists());
}

#[test]
fn sim_refuses_zero_cycles() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = vdx(&["sim", "--block", "xoshiro_lane", "--cycles", "0"], tmp.path());
    assert!(!ok, "{stdout}");
    assert!(stderr.contains("--cycles 0 would simulate nothing"), "{stderr}");
    assert!(!stdout.contains("PASS"), "{stdout}");
}

#[test]
fn sim_names_a_cache_dir_variable_that_is_not_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("plain-file");
    std::fs::write(&file, "").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["sim", "--block", "xoshiro_lane", "--cycles", "10"])
        .current_dir(tmp.path())
        .env("VDX_CACHE_DIR", &file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    let want = format!("FAIL   VDX_CACHE_DIR={}: not a directory", file.display());
    assert!(stdout.contains(&want), "expected `{want}` in:\n{stdout}");
}

#[test]
fn lint_checks_a_hierarchy_through_its_top_once() {
    if !common::lint_tools() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let args = ["gen", "--block", "systolic_ws", "--set", "rows=2", "--set", "cols=2", "--out", "s"];
    assert!(vdx(&args, tmp.path()).0);
    let (ok, stdout, stderr) = vdx(&["lint", "s"], tmp.path());
    assert!(ok, "{stdout}{stderr}");
    let table_rows: Vec<&str> =
        stdout.lines().filter(|l| l.starts_with("vdx_") && l.contains(" | ")).collect();
    assert_eq!(table_rows.len(), 1, "only the array is a top:\n{stdout}");
    assert!(table_rows[0].starts_with("vdx_systolic_ws_"), "{stdout}");
    let covers = stdout
        .lines()
        .find(|l| l.contains("also covers the 9 module(s) below it"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(covers.contains("vdx_systolic_pe_") && covers.contains("vdx_systolic_mesh_"), "{covers}");
    assert!(stdout.contains("lint clean: 10 distinct module(s) in 3 folder(s)"), "{stdout}");

    // A warning in a module below the top is still found, and blamed on the top that uses it;
    // the edited folder is no longer the same as the other two, so each is linted.
    let pe = common::verilog_of(&tmp.path().join("s/compute0"), "vdx_systolic_pe");
    let text = std::fs::read_to_string(&pe).unwrap();
    let edited = text.replacen("input  wire", "input  wire        spare_i,\n  input  wire", 1);
    std::fs::write(&pe, edited).unwrap();
    let (ok, stdout, _) = vdx(&["lint", "s"], tmp.path());
    assert!(!ok, "{stdout}");
    assert!(stdout.contains("spare_i"), "{stdout}");
    let tops: Vec<&str> =
        stdout.lines().filter(|l| l.starts_with("vdx_systolic_ws_") && l.contains(" | ")).collect();
    assert_eq!(tops.len(), 2, "{stdout}");
    assert!(tops.iter().any(|t| t.contains("s/compute0") && t.contains("| 2 ")), "{stdout}");
    assert!(tops.iter().any(|t| t.contains("s/compute1") && t.contains("| 0 ")), "{stdout}");
}

#[test]
fn online_softmax_bad_parameters_name_their_field_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (vec!["scale=1e9"], "scale: "),
        (vec!["scale=-0.5"], "scale: -0.5 must be a positive finite number"),
        (vec!["segments=3"], "segments: 3 must be a power of two"),
        (vec!["row_width=128", "max_len=64"], "max_len: 64 is shorter than one beat (row_width = 128)"),
        (vec!["prob_width=2"], "prob_width: 2 is out of range 4..=16"),
        (vec!["scale=\"big\""], "scale"),
    ];
    for (sets, want) in cases {
        let mut args = vec!["gen", "--block", "online_softmax", "--out", "o"];
        for s in &sets {
            args.extend(["--set", s]);
        }
        let (ok, _, stderr) = vdx(&args, tmp.path());
        assert!(!ok && stderr.contains(want), "{sets:?}: expected `{want}` in:\n{stderr}");
        assert!(!tmp.path().join("o").exists(), "{sets:?} wrote output");
    }
    let (ok, stdout, stderr) = vdx(&["doc", "online_softmax"], tmp.path());
    assert!(ok && stdout.contains("Denominator, exactly"), "{stdout}{stderr}");
}

#[test]
fn spatial_attention_bad_parameters_name_their_field_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (vec!["d=0"], "d: 0 is out of range 1..=256"),
        (vec!["bk=512"], "bk: 512 keys per block do not fit a mesh"),
        (vec!["prob_width=16"], "prob_width: 16-bit probabilities enter the output mesh as signed 17-bit"),
        (vec!["d=256", "score_width=23"], "score_width: 23 bits overflow at d = 256"),
        (vec!["bk=64", "max_keys=32"], "max_keys: 32 is shorter than one block"),
        (vec!["segments=3"], "segments: 3 must be a power of two"),
        (vec!["bq=100"], "bq: 100 must be a power of two"),
    ];
    for (sets, want) in cases {
        let mut args = vec!["gen", "--block", "spatial_attention", "--out", "o"];
        for s in &sets {
            args.extend(["--set", s]);
        }
        let (ok, _, stderr) = vdx(&args, tmp.path());
        assert!(!ok && stderr.contains(want), "{sets:?}: expected `{want}` in:\n{stderr}");
        assert!(!tmp.path().join("o").exists(), "{sets:?} wrote output");
    }
    let (ok, stdout, stderr) = vdx(&["doc", "spatial_attention"], tmp.path());
    assert!(ok && stdout.contains("Double buffering"), "{stdout}{stderr}");
}

/// Bad temporal attention commands (T = 0, a window wider than T, fewer positions than lanes,
/// strides past the address space) are refused through the CLI, naming the field; nothing runs
/// and nothing is written.
#[test]
fn bad_tae_commands_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    for (args, want) in [
        (&["--frames", "0"][..], "frames: T = 0 must be in 1..=32"),
        (&["--frames", "30", "--window", "31"][..], "window: W = 31 is more than T = 30 frames"),
        (&["--frames", "30", "--positions", "50"][..], "positions: 50 positions leave lanes idle"),
        (&["--frames", "30", "--positions", "14400"][..], "frame_stride: the command reaches address"),
        (&["--frames", "30", "--positions", "256", "--heads", "0"][..], "heads: H = 0"),
        (&["--frames", "30", "--set", "lanes=3"][..], "--set lanes: 3 must be a power of two"),
        (&["--frames", "30", "--set", "rows=2"][..], "--set rows: unknown field `rows`"),
        (&["--frames", "30", "--positions", "100", "--set", "lanes=128"][..], "the engine has 128 lanes"),
    ] {
        let mut all = vec!["bench", "tae"];
        all.extend_from_slice(args);
        let (ok, _, stderr) = vdx(&all, tmp.path());
        assert!(!ok && stderr.contains(want), "{args:?}: {stderr}");
    }
    let (ok, stdout, stderr) = vdx(&["bench", "tae", "--frames", "30", "--positions", "256"], tmp.path());
    assert!(ok && stdout.contains("command accepted: T = 30"), "{stdout}{stderr}");
    let small = ["bench", "tae", "--frames", "30", "--positions", "100", "--set", "lanes=64"];
    let (ok, stdout, stderr) = vdx(&small, tmp.path());
    assert!(ok && stdout.contains("100 positions"), "--set reaches the checked engine: {stdout}{stderr}");
    assert!(!tmp.path().join("bench").exists(), "a check writes nothing");
}

#[test]
fn formal_refuses_an_existing_keep_folder_and_a_selection_without_assertions() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("mine")).unwrap();
    std::fs::write(tmp.path().join("mine/notes.txt"), "keep me").unwrap();
    let (ok, _, stderr) =
        vdx(&["formal", "--block", "d2d", "--die", "utility", "--keep", "mine"], tmp.path());
    assert!(!ok && stderr.contains("--keep mine: the folder exists"), "{stderr}");
    assert_eq!(std::fs::read_to_string(tmp.path().join("mine/notes.txt")).unwrap(), "keep me");
    let (ok, _, stderr) = vdx(&["formal", "--block", "xoshiro_lane"], tmp.path());
    assert!(!ok && stderr.contains("no block of the selection carries assertions"), "{stderr}");
    let (ok, _, stderr) = vdx(&["formal", "--depth", "0"], tmp.path());
    assert!(!ok && stderr.contains("--depth 0"), "{stderr}");
}

#[test]
fn bad_package_configs_name_the_problem_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let lane = "[dies.a.blocks.r]\nblock = 'xoshiro_lane'\n";
    let cases = [
        (
            "no_blocks",
            format!("name = 'p'\nclock_mhz = 100.0\n[dies.empty]\n{lane}"),
            "dies.empty: the die has no blocks",
        ),
        ("clock", format!("name = 'p'\nclock_mhz = 0.0\n{lane}"), "clock_mhz: 0 is out of range"),
        (
            "unpaired",
            format!(
                "name = 'p'\nclock_mhz = 100.0\n{lane}[dies.a.blocks.l]\nblock = 'ucie_adapter'\n[dies.b.blocks.l]\nblock = 'ucie_adapter'\n"
            ),
            "dies.a.blocks.l: this UCIe adapter is in no link",
        ),
        (
            "credits",
            format!(
                "name = 'p'\nclock_mhz = 100.0\n{lane}[dies.a.blocks.l]\nblock = 'ucie_adapter'\ncredits = 4\n[dies.b.blocks.l]\nblock = 'ucie_adapter'\ncredits = 8\n[[links]]\na = 'a.l'\nb = 'b.l'\n"
            ),
            "links[0]: credits differs between a.l (4) and b.l (8)",
        ),
        (
            "fabric",
            format!(
                "name = 'p'\nclock_mhz = 100.0\n[dies.a]\nfabric_bits = 64\n{lane}[dies.a.blocks.l]\nblock = 'ucie_adapter'\n[dies.b.blocks.l]\nblock = 'ucie_adapter'\n[[links]]\na = 'a.l'\nb = 'b.l'\n"
            ),
            "links[0]: dies a and b have different fabric_bits (64 and 256)",
        ),
        (
            "package_name",
            "name = 'p'\nclock_mhz = 100.0\n[dies.package.blocks.r]\nblock = 'xoshiro_lane'\n".to_string(),
            "dies.package: the die name `package` is taken",
        ),
        (
            "budget",
            format!(
                "name = 'p'\nclock_mhz = 100.0\n[dies.a]\nscratchpad_kib = 64\nsram_budget_kib = 32\n{lane}"
            ),
            "dies.a.sram_budget_kib: the die holds 64 KiB of SRAM (scratchpad 64 KiB, weight SRAM 0 KiB, blocks' memories 0 KiB), over its budget of 32 KiB",
        ),
    ];
    for (name, text, message) in cases {
        std::fs::write(tmp.path().join(format!("{name}.toml")), text).unwrap();
        let (ok, _, stderr) = vdx(&["gen", "--config", &format!("{name}.toml")], tmp.path());
        assert!(!ok && stderr.contains(message), "{name}: expected `{message}` in {stderr}");
        assert!(!tmp.path().join("rtl_out").exists(), "{name}: nothing may be written");
    }
}

#[test]
fn estimate_prints_the_reconciliation_and_writes_json_and_svg() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) =
        vdx(&["estimate", "--model", "wan-14b", "--json", "e.json", "--svg", "e.svg"], tmp.path());
    assert!(ok, "{stderr}");
    for want in [
        "14400 × 30 = 432000",
        "5.096 PFLOP",
        "152.882 PFLOP",
        "30.500 TFLOP per step",
        "10.000 PFLOP per forward",
        "Per step:",
        "effective TOPS",
    ] {
        assert!(stdout.contains(want), "`{want}` missing from:\n{stdout}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("e.json")).unwrap()).unwrap();
    assert_eq!(json["dies"].as_array().unwrap().len(), 3);
    assert!(json["step_seconds"][0].as_f64().unwrap() > 1.0, "a Wan-14B step is seconds long on 1 POPS");
    let svg = std::fs::read_to_string(tmp.path().join("e.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.matches("<rect").count() >= 12, "{svg}");
    let (ok, stdout, _) = vdx(&["estimate", "--model", "wan-1.3b"], tmp.path());
    assert!(ok && stdout.contains("wan-1.3b on vdx1"), "{stdout}");
    let (ok, _, stderr) = vdx(&["estimate", "--model", "sora"], tmp.path());
    assert!(!ok && stderr.contains("models: wan-14b, wan-1.3b"), "{stderr}");
    let (ok, _, stderr) = vdx(&["estimate", "--split", "10,10"], tmp.path());
    assert!(!ok && stderr.contains("one layer count per compute die"), "{stderr}");
}

#[test]
fn bench_gen_writes_its_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = vdx(&["bench", "gen", "--repeats", "1", "--out", "g.json"], tmp.path());
    assert!(ok && stdout.contains("vdx gen --die compute0"), "{stdout}{stderr}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("g.json")).unwrap()).unwrap();
    assert!(json["files"].as_u64().unwrap() > 50, "{json}");
    assert!(
        json["seconds_best"].as_f64().unwrap() > 0.0 && json["peak_rss_bytes"].as_u64().unwrap() > 0,
        "{json}"
    );
}

/// A sweep of 3 configs × 4 seeds split into 2 shards merges into the same table as one
/// unsharded run; a missing or doubled shard is refused by name.
#[test]
fn sweep_shards_merge_into_the_unsharded_table() {
    if !common::verilator() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let configs = [
        ("a", "[dies.d.blocks.r]\nblock = 'xoshiro_lane'\nseed = 1\n"),
        ("b", "[dies.d.blocks.g]\nblock = 'sgu'\nlanes = 1\n"),
        (
            "c",
            "[dies.d.blocks.r]\nblock = 'xoshiro_lane'\nseed = 9\nlane = 3\n[dies.d.blocks.g]\nblock = 'sgu'\nlanes = 1\n",
        ),
    ];
    let mut args: Vec<String> = vec!["sweep".into(), "run".into()];
    for (name, body) in configs {
        std::fs::write(
            tmp.path().join(format!("{name}.toml")),
            format!("name = '{name}'\nclock_mhz = 100.0\n{body}"),
        )
        .unwrap();
        args.extend(["--config".into(), format!("{name}.toml")]);
    }
    args.extend(["--seeds", "4", "--cycles", "300"].map(String::from));
    let run = |extra: &[&str]| {
        let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
        a.extend_from_slice(extra);
        let (ok, stdout, stderr) = vdx(&a, tmp.path());
        assert!(ok, "{stdout}{stderr}");
    };
    run(&["--out", "all.json"]);
    run(&["--shard", "1/2", "--out", "s1.json"]);
    run(&["--shard", "2/2", "--out", "s2.json"]);
    let rows = |f: &str| -> Vec<serde_json::Value> {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(tmp.path().join(f)).unwrap()).unwrap();
        v["rows"].as_array().unwrap().clone()
    };
    let (all, s1, s2) = (rows("all.json"), rows("s1.json"), rows("s2.json"));
    assert_eq!(all.len(), 16, "a and b have one block each, c two; four seeds each");
    assert!(!s1.is_empty() && !s2.is_empty() && s1.len() + s2.len() == all.len());
    assert!(all.iter().all(|r| r["result"] == "PASS" && r["checks"].as_u64().unwrap() > 0), "{all:?}");
    let (ok, _, stderr) = vdx(&["sweep", "merge", "all.json", "--csv", "all.csv"], tmp.path());
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = vdx(&["sweep", "merge", "s2.json", "s1.json", "--csv", "split.csv"], tmp.path());
    assert!(ok, "{stderr}");
    let table = std::fs::read_to_string(tmp.path().join("all.csv")).unwrap();
    assert_eq!(table.lines().count(), 17, "{table}");
    assert_eq!(table, std::fs::read_to_string(tmp.path().join("split.csv")).unwrap());
    let (ok, _, stderr) = vdx(&["sweep", "merge", "s1.json", "--csv", "x.csv"], tmp.path());
    assert!(!ok && stderr.contains("shard(s) 2/2 missing"), "{stderr}");
    let (ok, _, stderr) =
        vdx(&["sweep", "merge", "s1.json", "s1.json", "s2.json", "--csv", "x.csv"], tmp.path());
    assert!(!ok && stderr.contains("shard 1/2 is given twice"), "{stderr}");
    let (ok, _, stderr) = vdx(&["sweep", "merge", "all.json", "s1.json", "--csv", "x.csv"], tmp.path());
    assert!(!ok && stderr.contains("from a different sweep"), "{stderr}");
}
