//! Output that never costs the user a file: ownership by manifest, validation before writing,
//! all-or-nothing multi-die writes, locks, crash recovery, bounded config reads, global module
//! names, and a fuzz over mutated configs. Each test names the defect it guards against.

mod common;

use common::vdx;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every entry below `dir` (relative paths, sorted) with its contents (folders: empty).
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.map(Result::unwrap) {
            let path = e.path();
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                out.push((format!("{rel}/"), Vec::new()));
                walk(root, &path, out);
            } else {
                out.push((rel, std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn names(dir: &Path) -> Vec<String> {
    tree(dir).into_iter().map(|(n, _)| n).collect()
}

/// A small two-die config (fast to generate).
fn two_dies(name: &str, lane: u32) -> String {
    format!(
        "name = '{name}'\nclock_mhz = 500.0\n[dies.a.blocks.r]\nblock = 'xoshiro_lane'\nlane = {lane}\n\
         [dies.b.blocks.s]\nblock = 'sgu'\nlanes = 2\n"
    )
}

#[test]
fn defect1_a_hand_written_manifest_does_not_make_a_folder_vdx_output() {
    let tmp = tempfile::tempdir().unwrap();
    let mine = tmp.path().join("mine");
    std::fs::create_dir_all(mine.join("sub")).unwrap();
    std::fs::write(mine.join("manifest.json"), r#"{"generator":"vdx x"}"#).unwrap();
    std::fs::write(mine.join("my_tb.sv"), "module my_tb; endmodule\n").unwrap();
    let before = tree(&mine);
    let (ok, _, stderr) = vdx(&["gen", "--block", "xoshiro_lane", "--out", "mine"], tmp.path());
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("refusing to write into mine") && stderr.contains("file list"), "{stderr}");
    assert_eq!(tree(&mine), before, "nothing of the user's folder changed");
}

#[test]
fn defect1_edited_and_colliding_files_are_named_not_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(vdx(&["gen", "--block", "xoshiro_lane", "--out", "o"], tmp.path()).0);
    let o = tmp.path().join("o");
    // A generated file the user edited: gen refuses and names it.
    let filelist = o.join("noise_lane0.f");
    std::fs::write(&filelist, "my own list\n").unwrap();
    let before = tree(&o);
    let (ok, _, stderr) =
        vdx(&["gen", "--block", "xoshiro_lane", "--set", "lane=3", "--out", "o"], tmp.path());
    assert!(!ok && stderr.contains("noise_lane0.f was changed since vdx wrote it"), "{stderr}");
    assert_eq!(tree(&o), before);
    // A user file where gen wants to write one: refused and named.
    std::fs::remove_dir_all(&o).unwrap();
    assert!(vdx(&["gen", "--block", "xoshiro_lane", "--out", "o"], tmp.path()).0);
    let planned = common::verilog_of(
        &{
            let d = tmp.path().join("peek");
            assert!(
                vdx(&["gen", "--block", "xoshiro_lane", "--set", "lane=3", "--out", "peek"], tmp.path()).0
            );
            d
        },
        "vdx_xoshiro_lane",
    );
    let clash = o.join(planned.file_name().unwrap());
    std::fs::write(&clash, "// mine\n").unwrap();
    let before = tree(&o);
    let (ok, _, stderr) =
        vdx(&["gen", "--block", "xoshiro_lane", "--set", "lane=3", "--out", "o"], tmp.path());
    assert!(!ok && stderr.contains("exists and is not vdx output"), "{stderr}");
    assert_eq!(tree(&o), before);
}

#[test]
fn defect1_synth_reports_live_outside_gen_folders_and_lint_skips_netlists() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("two.toml"), two_dies("two", 1)).unwrap();
    assert!(vdx(&["gen", "--config", "two.toml"], tmp.path()).0);
    // What `vdx synth` would leave: in its own folder, which gen never touches.
    let synth = tmp.path().join("rtl_out/two-synth/a/r");
    std::fs::create_dir_all(&synth).unwrap();
    std::fs::write(synth.join("netlist.v"), "module broken(; endmodule\n").unwrap();
    assert!(vdx(&["gen", "--config", "two.toml"], tmp.path()).0);
    assert!(synth.join("netlist.v").exists(), "gen left the synthesis folder alone");
    if common::lint_tools() {
        let (ok, stdout, stderr) = vdx(&["lint", "rtl_out"], tmp.path());
        assert!(ok, "a gate-level netlist is never linted:\n{stdout}{stderr}");
    }
}

#[test]
fn defect2_synth_checks_everything_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let u = tmp.path().join("u");
    std::fs::create_dir(&u).unwrap();
    std::fs::write(u.join("keep.v"), "// mine\n").unwrap();
    let before = tree(&u);
    for clock in ["nan", "0", "-5", "inf"] {
        let arg = format!("--clock-mhz={clock}");
        let (ok, _, stderr) = vdx(&["synth", "--block", "xoshiro_lane", &arg, "--out", "u"], tmp.path());
        assert!(!ok && stderr.contains("--clock-mhz"), "{clock}: {stderr}");
        assert_eq!(tree(&u), before, "{clock}");
    }
    let (ok, _, stderr) = vdx(&["synth", "--block", "xoshiro_lane", "--out", "/"], tmp.path());
    assert!(!ok && stderr.contains("refusing to write into /"), "{stderr}");
    assert!(!Path::new("/rtl").exists() && !Path::new("/synth.ys").exists());
    // A folder of the user's is refused before anything runs.
    let (ok, _, stderr) = vdx(&["synth", "--block", "xoshiro_lane", "--out", "u"], tmp.path());
    assert!(!ok && stderr.contains("refusing to write into u"), "{stderr}");
    assert_eq!(tree(&u), before);
}

#[test]
fn defect3_multi_die_roots_are_checked_and_writes_are_all_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("two.toml"), two_dies("two", 1)).unwrap();
    // A non-empty folder of the user's as the root of several dies: refused.
    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "x").unwrap();
    let (ok, _, stderr) = vdx(&["gen", "--config", "two.toml", "--out", "mine"], tmp.path());
    assert!(!ok && stderr.contains("refusing to write into mine"), "{stderr}");
    assert_eq!(names(&mine), ["notes.txt"]);
    // Through a symbolic link: refused.
    std::os::unix::fs::symlink(&mine, tmp.path().join("link")).unwrap();
    let (ok, _, stderr) = vdx(&["gen", "--config", "two.toml", "--out", "link"], tmp.path());
    assert!(!ok && stderr.contains("symbolic link"), "{stderr}");
    // Into `/`: refused.
    let (ok, _, stderr) = vdx(&["gen", "--config", "two.toml", "--out", "/"], tmp.path());
    assert!(!ok && stderr.contains("refusing to write into /"), "{stderr}");
    assert!(!Path::new("/a").exists() && !Path::new("/b").exists());
    // A name too long for the file system is found before any die is written.
    let long = "d".repeat(300);
    let config = format!("{}\n[dies.{long}.blocks.r]\nblock = 'xoshiro_lane'\n", two_dies("two", 1));
    std::fs::write(tmp.path().join("long.toml"), config).unwrap();
    let (ok, _, stderr) = vdx(&["gen", "--config", "long.toml", "--out", "fresh"], tmp.path());
    assert!(!ok && stderr.contains("longer than 255 bytes"), "{stderr}");
    assert!(!tmp.path().join("fresh").exists(), "no die was written");
    // A failure while committing (a die folder that is a file) rolls the other dies back.
    assert!(vdx(&["gen", "--config", "two.toml", "--out", "root"], tmp.path()).0);
    let root = tmp.path().join("root");
    let before = tree(&root);
    std::fs::write(tmp.path().join("two3.toml"), two_dies("two", 3)).unwrap();
    let b = root.join("b");
    let saved = tmp.path().join("b-saved");
    std::fs::rename(&b, &saved).unwrap();
    std::fs::write(&b, "not a folder").unwrap();
    let (ok, _, stderr) = vdx(&["gen", "--config", "two3.toml", "--out", "root"], tmp.path());
    assert!(!ok && stderr.contains("not a folder"), "{stderr}");
    std::fs::remove_file(&b).unwrap();
    std::fs::rename(&saved, &b).unwrap();
    assert_eq!(tree(&root), before, "die a was not changed either");
}

#[test]
fn defect3_killed_runs_are_cleaned_up_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("one.toml"), two_dies("two", 1)).unwrap();
    std::fs::write(tmp.path().join("other.toml"), two_dies("two", 5)).unwrap();
    assert!(vdx(&["gen", "--config", "one.toml", "--out", "root"], tmp.path()).0);
    let root = tmp.path().join("root");
    std::fs::write(root.join("a/my_notes.txt"), "mine").unwrap();
    let reference = tmp.path().join("reference");
    assert!(vdx(&["gen", "--config", "other.toml", "--out", "reference"], tmp.path()).0);
    for (point, count) in [("before-folder", 2), ("moving-old", 2), ("placing-new", 3), ("placing-new", 8)] {
        let out = Command::new(env!("CARGO_BIN_EXE_vdx"))
            .args(["gen", "--config", "other.toml", "--out", "root"])
            .current_dir(tmp.path())
            .env("VDX_TEST_CRASH_AT", point)
            .env("VDX_TEST_CRASH_COUNT", count.to_string())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{point} {count}: the run was killed");
        // The next run recovers and completes; the result is exactly the other config's output.
        let (ok, _, stderr) = vdx(&["gen", "--config", "other.toml", "--out", "root"], tmp.path());
        assert!(ok, "{point} {count}: {stderr}");
        let mut got = tree(&root);
        got.retain(|(n, _)| n != "a/my_notes.txt");
        assert_eq!(got, tree(&reference), "{point} {count}");
        assert_eq!(std::fs::read(root.join("a/my_notes.txt")).unwrap(), b"mine");
        // And back, for the next round.
        assert!(vdx(&["gen", "--config", "one.toml", "--out", "root"], tmp.path()).0);
    }
    assert!(!names(tmp.path()).iter().any(|n| n.contains(".vdx-")), "{:?}", names(tmp.path()));
}

#[test]
fn defect3_concurrent_runs_into_one_folder_are_serialised() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("x.toml"), two_dies("two", 1)).unwrap();
    std::fs::write(tmp.path().join("y.toml"), two_dies("two", 9)).unwrap();
    for (config, dir) in [("x.toml", "rx"), ("y.toml", "ry")] {
        assert!(vdx(&["gen", "--config", config, "--out", dir], tmp.path()).0);
    }
    let (rx, ry) = (tree(&tmp.path().join("rx")), tree(&tmp.path().join("ry")));
    for round in 0..12 {
        let spawn = |config: &str| {
            Command::new(env!("CARGO_BIN_EXE_vdx"))
                .args(["gen", "--config", config, "--out", "shared"])
                .current_dir(tmp.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (x, y) = (spawn("x.toml"), spawn("y.toml"));
        for child in [x, y] {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {}", String::from_utf8_lossy(&out.stderr));
        }
        let got = tree(&tmp.path().join("shared"));
        assert!(got == rx || got == ry, "round {round}: the folder mixes two configs");
    }
}

#[test]
fn defect4_config_reads_are_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = vdx(&["gen", "--config", "/dev/zero"], tmp.path());
    assert!(!ok && stderr.contains("/dev/zero") && stderr.contains("not a regular file"), "{stderr}");
    let fifo = tmp.path().join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (ok, _, stderr) = vdx(&["gen", "--config", "fifo"], tmp.path());
    assert!(!ok && stderr.contains("not a regular file"), "{stderr}");
    let big = tmp.path().join("big.toml");
    std::fs::write(&big, format!("# {}\n", "x".repeat(5 << 20))).unwrap();
    let (ok, _, stderr) = vdx(&["gen", "--config", "big.toml"], tmp.path());
    assert!(!ok && stderr.contains("big.toml") && stderr.contains("limit"), "{stderr}");
    // A parse error quotes its line shortened, not 200 KB of it.
    std::fs::write(tmp.path().join("long.toml"), format!("name = '{}\n", "y".repeat(200_000))).unwrap();
    let (ok, _, stderr) = vdx(&["gen", "--config", "long.toml"], tmp.path());
    assert!(!ok && stderr.contains("long.toml") && stderr.len() < 2_000, "{} bytes", stderr.len());
    assert!(!tmp.path().join("rtl_out").exists());
}

#[test]
fn defect6_ignored_input_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = vdx(&["gen", "--block", "xoshiro_lane", "--set", "block=7"], tmp.path());
    assert!(!ok && stderr.contains("--set block=7: `block` is not a parameter"), "{stderr}");
    for (body, message) in [
        (
            "block = 'ucie_adapter'\nmodules = 'CamelCase'\n",
            "dies.d.blocks.t.modules: invalid type: string \"CamelCase\", expected u32",
        ),
        ("block = 'ucie_adapter'\nmodule = 3\n", "dies.d.blocks.t.module: unknown field `module`"),
        (
            "block = 'vae_decoder'\nx = 1\n",
            "dies.d.blocks.t.x: unknown parameter of vae_decoder (not available yet; its parameters: none)",
        ),
        ("block = 'timestep_cond'\nlanes = 3\n", "dies.d.blocks.t.lanes"),
    ] {
        std::fs::write(
            tmp.path().join("c.toml"),
            format!("name = 'c'\nclock_mhz = 100.0\n[dies.d.blocks.t]\n{body}"),
        )
        .unwrap();
        let (ok, _, stderr) = vdx(&["gen", "--config", "c.toml"], tmp.path());
        assert!(!ok && stderr.contains(message), "expected `{message}` in {stderr}");
    }
    std::fs::write(
        tmp.path().join("e.toml"),
        "name = 'e'\nclock_mhz = 100.0\n[dies.empty]\n[dies.d.blocks.noise_lane0]\nblock = 'xoshiro_lane'\n",
    )
    .unwrap();
    let (ok, _, stderr) = vdx(&["gen", "--config", "e.toml"], tmp.path());
    assert!(!ok && stderr.contains("dies.empty: the die has no blocks"), "{stderr}");
    assert!(!tmp.path().join("rtl_out").exists(), "nothing is written for a bad config");
    // `--set` errors name the option and the field, and list the parameters once.
    let (ok, _, stderr) = vdx(&["gen", "--block", "xoshiro_lane", "--set", "lanes=2"], tmp.path());
    assert!(!ok && stderr.contains("--set lanes: unknown field `lanes`"), "{stderr}");
    assert_eq!(stderr.matches("seed").count(), 1, "the parameters are listed once: {stderr}");
    assert!(!stderr.contains("--set.blocks"), "{stderr}");
}

#[test]
fn defect7_module_names_are_global_and_everything_compiles_together() {
    if !common::verilator() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let config = "name = 'mix'\nclock_mhz = 500.0\n\
        [dies.a.blocks.m]\nblock = 'systolic_ws'\nrows = 2\ncols = 2\nmax_k = 64\nmax_m = 64\nmax_n = 64\nacc_rows = 4\n\
        [dies.a.blocks.s]\nblock = 'sgu'\nlanes = 2\n\
        [dies.b.blocks.m]\nblock = 'systolic_ws'\nrows = 3\ncols = 2\nmax_k = 64\nmax_m = 64\nmax_n = 64\nacc_rows = 4\n\
        [dies.b.blocks.r]\nblock = 'xoshiro_lane'\nseed = 5\n";
    std::fs::write(tmp.path().join("mix.toml"), config).unwrap();
    assert!(vdx(&["gen", "--config", "mix.toml", "--out", "all"], tmp.path()).0);
    assert!(vdx(&["gen", "--block", "sgu", "--set", "lanes=2", "--out", "alone_sgu"], tmp.path()).0);
    assert!(vdx(&["gen", "--block", "xoshiro_lane", "--out", "alone_lane"], tmp.path()).0);
    // The SGU's lane module is named the same whatever else is generated.
    let lane_in = |dir: &str| -> Vec<String> {
        names(&tmp.path().join(dir))
            .into_iter()
            .filter(|n| n.contains("vdx_xoshiro_lane_") && n.ends_with(".v"))
            .collect()
    };
    let sgu_alone = lane_in("alone_sgu");
    assert_eq!(sgu_alone.len(), 1);
    assert!(lane_in("all/a").contains(&sgu_alone[0]), "{:?} vs {sgu_alone:?}", lane_in("all/a"));
    assert!(!lane_in("all/b").contains(&sgu_alone[0]), "seed 5 is other content, so another name");
    // Every file of every folder, deduplicated by name, compiles in one Verilator run.
    let mut files: std::collections::BTreeMap<String, PathBuf> = Default::default();
    let mut tops = Vec::new();
    for dir in ["all/a", "all/b", "alone_sgu", "alone_lane"] {
        let m: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(tmp.path().join(dir).join("manifest.json")).unwrap(),
        )
        .unwrap();
        for b in m["blocks"].as_array().unwrap() {
            tops.push(b["top"].as_str().unwrap().to_string());
        }
        for (n, bytes) in tree(&tmp.path().join(dir)) {
            if n.ends_with(".v") {
                let path = tmp.path().join(dir).join(&n);
                if let Some(prev) = files.get(&n) {
                    assert_eq!(std::fs::read(prev).unwrap(), bytes, "{n}: one name, one content");
                }
                files.insert(n, path);
            }
        }
    }
    // A wrapper instantiating every top makes Verilator elaborate all of them at once.
    let mut wrapper = String::from("module all_tops;\n");
    for (i, t) in tops.iter().enumerate() {
        wrapper.push_str(&format!("  {t} u_{i} ();\n"));
    }
    wrapper.push_str("endmodule\n");
    std::fs::write(tmp.path().join("all_tops.v"), wrapper).unwrap();
    let out = Command::new("verilator")
        .args(["--lint-only", "-Wno-PINMISSING", "-Wno-UNDRIVEN", "--top-module", "all_tops"])
        .args(files.values())
        .arg(tmp.path().join("all_tops.v"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !text.contains("MODDUP"), "{text}");
}

#[test]
fn defect9_causes_are_printed_once() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("blocker"), "a file where a folder must go").unwrap();
    let (ok, _, stderr) = vdx(&["gen", "--block", "xoshiro_lane", "--out", "blocker/x"], tmp.path());
    assert!(!ok, "{stderr}");
    let cause = "Not a directory (os error 20)";
    assert_eq!(stderr.matches(cause).count(), 1, "{stderr}");
}

/// Seeded mutations of the default config and of small ones: every run either succeeds or fails
/// naming a field or the file, never panics, and a failing run writes nothing.
#[test]
fn fuzz_mutated_configs_fail_cleanly_and_write_nothing() {
    use rand::{RngExt, SeedableRng};
    let tmp = tempfile::tempdir().unwrap();
    let base = "name = 'fz'\nclock_mhz = 500.0\n[dies.d.blocks.r]\nblock = 'xoshiro_lane'\nlane = 3\nseed = 9\n\
                [dies.d.blocks.s]\nblock = 'sgu'\nlanes = 2\nout_width = 16\n\
                [dies.d.blocks.n]\nblock = 'noise_buffer'\nlanes = 2\ntensor_samples = 100\n\
                [dies.e.blocks.m]\nblock = 'systolic_ws'\nrows = 2\ncols = 2\nacc_rows = 4\n";
    let tokens = [
        "0",
        "-1",
        "4096",
        "1e400",
        "nan",
        "'x'",
        "true",
        "[1]",
        "{a=1}",
        "''",
        "\"CamelCase\"",
        "999999999999999999999",
        "block",
        "lanes",
        "rows",
        "unknown_key",
        "=",
        "[",
        "]",
        "\n",
        "dies",
        ".",
        "é",
        "\u{0}",
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let (mut failed, mut passed) = (0, 0);
    for case in 0..150 {
        let mut text = base.to_string();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..text.len());
            let at = (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap();
            let end = (at + rng.random_range(0..6)).min(text.len());
            let end = (end..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap();
            text.replace_range(at..end, tokens[rng.random_range(0..tokens.len())]);
        }
        let file = tmp.path().join("fz.toml");
        std::fs::write(&file, &text).unwrap();
        let out = tmp.path().join("out");
        let (ok, _, stderr) = vdx(&["gen", "--config", "fz.toml", "--out", "out"], tmp.path());
        assert!(!stderr.contains("panicked"), "case {case} panicked:\n{text}\n{stderr}");
        if ok {
            passed += 1;
            std::fs::remove_dir_all(&out).unwrap();
        } else {
            failed += 1;
            assert!(
                stderr.contains("fz.toml") || stderr.contains("dies.") || stderr.contains("--"),
                "case {case}: {stderr}"
            );
            assert!(!out.exists(), "case {case}: a failing run wrote {out:?}");
        }
    }
    eprintln!("{passed} mutated configs generated, {failed} were refused with a named field");
    assert!(failed > 50, "the mutations must exercise the error paths");
}

#[test]
fn defect9_lint_blames_only_the_modules_that_use_a_broken_file() {
    if !common::lint_tools() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let config = "name = 'lb'\nclock_mhz = 100.0\n[dies.d.blocks.r]\nblock = 'xoshiro_lane'\n\
                  [dies.d.blocks.n]\nblock = 'noise_buffer'\nlanes = 1\ntensor_samples = 16\n";
    std::fs::write(tmp.path().join("lb.toml"), config).unwrap();
    assert!(vdx(&["gen", "--config", "lb.toml", "--out", "o"], tmp.path()).0);
    let lane = common::verilog_of(&tmp.path().join("o"), "vdx_xoshiro_lane");
    std::fs::write(&lane, "module broken(; endmodule\n").unwrap();
    let (ok, stdout, _) = vdx(&["lint", "o"], tmp.path());
    assert!(!ok, "{stdout}");
    let buffer = common::verilog_of(&tmp.path().join("o"), "vdx_noise_buffer");
    let buffer = buffer.file_stem().unwrap().to_str().unwrap();
    let row = stdout.lines().find(|l| l.starts_with(buffer)).unwrap_or_else(|| panic!("{stdout}"));
    assert!(row.contains(" 0 ") && row.contains("pass"), "the noise buffer does not use the lane:\n{stdout}");
}

#[test]
fn synth_reruns_replace_their_own_reports_and_keep_the_users_files() {
    if !common::lint_tools() || vdx::sim::find_on_path("sta").is_none() {
        panic!("Yosys and OpenSTA are needed: apt-get install yosys opensta qflow-tech-osu018");
    }
    let tmp = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = vdx(&["synth", "--block", "xoshiro_lane", "--clock-mhz", "100"], tmp.path());
    assert!(ok, "{stdout}{stderr}");
    let work = tmp.path().join("rtl_out/vdx1-synth/utility/noise_lane0");
    assert!(stdout.contains(&format!("reports in {}", "rtl_out/vdx1-synth/utility/noise_lane0")), "{stdout}");
    std::fs::write(work.join("notes.txt"), "mine").unwrap();
    let (ok, _, stderr) = vdx(&["synth", "--block", "xoshiro_lane", "--clock-mhz", "200"], tmp.path());
    assert!(ok, "{stderr}");
    assert_eq!(std::fs::read(work.join("notes.txt")).unwrap(), b"mine");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["clock_mhz"], 200.0);
    let listed: Vec<&str> =
        m["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(
        listed.contains(&"netlist.v") && listed.contains(&"synth.json") && !listed.contains(&"notes.txt"),
        "{listed:?}"
    );
}

/// Findings of an adversarial review of the writer, each a regression test.
#[test]
fn review_one_die_and_several_dies_into_one_folder_take_turns() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("two.toml"), two_dies("two", 1)).unwrap();
    for round in 0..15 {
        let rr = tmp.path().join("rr");
        let _ = std::fs::remove_dir_all(&rr);
        std::fs::create_dir(&rr).unwrap();
        let spawn = |args: &[&str]| {
            Command::new(env!("CARGO_BIN_EXE_vdx"))
                .args(args)
                .current_dir(tmp.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        };
        let one = spawn(&["gen", "--block", "xoshiro_lane", "--out", "rr"]);
        let many = spawn(&["gen", "--config", "two.toml", "--out", "rr"]);
        let ok: Vec<bool> =
            [one, many].into_iter().map(|c| c.wait_with_output().unwrap().status.success()).collect();
        assert_eq!(ok.iter().filter(|o| **o).count(), 1, "round {round}: exactly one run owns the folder");
    }
}

#[test]
fn review_killed_synth_and_first_multi_die_runs_are_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("two.toml"), two_dies("two", 1)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["gen", "--config", "two.toml", "--out", "r1"])
        .current_dir(tmp.path())
        .env("VDX_TEST_CRASH_AT", "before-folder")
        .env("VDX_TEST_CRASH_COUNT", "2")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let (ok, _, stderr) = vdx(&["gen", "--config", "two.toml", "--out", "r1"], tmp.path());
    assert!(ok, "a killed first run leaves a root the next run takes over: {stderr}");
    // A synth work folder claimed by a run that never finished (its manifest lists the names).
    let sy = tmp.path().join("sy");
    std::fs::create_dir(&sy).unwrap();
    std::fs::write(
        sy.join("manifest.json"),
        r#"{"generator":"vdx 0.1.0","running":true,"files":[{"path":"synth.ys","sha256":""}]}"#,
    )
    .unwrap();
    std::fs::write(sy.join("synth.ys"), "half written").unwrap();
    let (ok, _, stderr) =
        vdx(&["synth", "--block", "xoshiro_lane", "--clock-mhz", "nan", "--out", "sy"], tmp.path());
    assert!(!ok && stderr.contains("--clock-mhz"), "{stderr}");
    let listed = vdx::generate::workdir::WorkDirs::claim(&[(sy.clone(), vec!["synth.ys".into()])]);
    assert!(listed.is_ok(), "{listed:?}");
    assert!(!sy.join("synth.ys").exists(), "the pending file was the earlier run's");
}

#[test]
fn review_synth_of_two_instances_on_one_die_does_not_deadlock() {
    let tmp = tempfile::tempdir().unwrap();
    let dup = "name = 'dup'\nclock_mhz = 100.0\n[dies.a.blocks.r1]\nblock = 'xoshiro_lane'\nlane = 1\n\
               [dies.a.blocks.r2]\nblock = 'xoshiro_lane'\nlane = 2\n";
    std::fs::write(tmp.path().join("dup.toml"), dup).unwrap();
    let claim = vdx::generate::workdir::WorkDirs::claim(&[
        (tmp.path().join("ds/a/r1"), vec!["x".into()]),
        (tmp.path().join("ds/a/r2"), vec!["x".into()]),
    ]);
    assert!(claim.is_ok(), "{claim:?}");
}

#[test]
fn review_recovery_touches_only_marked_backups_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    // A user's folder named like a backup is not vdx's.
    let u = tmp.path().join("u");
    std::fs::create_dir_all(u.join(".vdx-old-drafts")).unwrap();
    std::fs::write(u.join(".vdx-old-drafts/thesis.txt"), "x").unwrap();
    let (ok, _, _) = vdx(&["gen", "--block", "xoshiro_lane", "--out", "u"], tmp.path());
    assert!(!ok);
    assert!(u.join(".vdx-old-drafts/thesis.txt").exists());
    // A journal naming paths outside the folder is refused, not followed.
    assert!(vdx(&["gen", "--block", "xoshiro_lane", "--out", "g"], tmp.path()).0);
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    let backup = tmp.path().join("g/.vdx-old-zz");
    std::fs::create_dir(&backup).unwrap();
    std::fs::write(backup.join(".vdx-backup"), "").unwrap();
    let journal = serde_json::json!({
        "new_manifest": "0", "moved": [],
        "placed": [{ "path": victim.display().to_string(), "sha256": vdx::generate::write::sha256_hex(b"precious") }],
    });
    std::fs::write(backup.join("journal.json"), journal.to_string()).unwrap();
    let (ok, _, stderr) = vdx(&["gen", "--block", "xoshiro_lane", "--out", "g"], tmp.path());
    assert!(!ok && stderr.contains("names paths vdx never writes"), "{stderr}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    std::fs::remove_dir_all(&backup).unwrap();
    // A file the user put back where a killed run had moved vdx's away: named, not overwritten.
    let cr = tmp.path().join("cr");
    assert!(vdx(&["gen", "--block", "xoshiro_lane", "--out", "cr"], tmp.path()).0);
    let module = common::verilog_of(&cr, "vdx_xoshiro_lane");
    let out = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["gen", "--block", "xoshiro_lane", "--set", "lane=3", "--out", "cr"])
        .current_dir(tmp.path())
        .env("VDX_TEST_CRASH_AT", "moving-old")
        .output()
        .unwrap();
    assert!(!out.status.success());
    std::fs::write(&module, "my own module\n").unwrap();
    let (ok, _, stderr) = vdx(&["gen", "--block", "xoshiro_lane", "--out", "cr"], tmp.path());
    assert!(!ok && stderr.contains("exists, and vdx's backup of it is in"), "{stderr}");
    assert_eq!(std::fs::read(&module).unwrap(), b"my own module\n");
}

#[test]
fn review_identical_regeneration_killed_while_moving_keeps_every_file() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("two.toml"), two_dies("two", 1)).unwrap();
    assert!(vdx(&["gen", "--config", "two.toml", "--out", "s"], tmp.path()).0);
    let reference = tree(&tmp.path().join("s"));
    for count in 1..6 {
        let out = Command::new(env!("CARGO_BIN_EXE_vdx"))
            .args(["gen", "--config", "two.toml", "--out", "s"])
            .current_dir(tmp.path())
            .env("VDX_TEST_CRASH_AT", "moving-old")
            .env("VDX_TEST_CRASH_COUNT", count.to_string())
            .output()
            .unwrap();
        assert!(!out.status.success());
        // A refused run (a die folder edited) must still leave the other die complete.
        std::fs::write(tmp.path().join("s/b/s.sdc"), "edited\n").unwrap();
        assert!(!vdx(&["gen", "--config", "two.toml", "--out", "s"], tmp.path()).0);
        let a: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(tmp.path().join("s/a/manifest.json")).unwrap())
                .unwrap();
        for f in a["files"].as_array().unwrap() {
            assert!(tmp.path().join("s/a").join(f["path"].as_str().unwrap()).exists(), "count {count}: {f}");
        }
        std::fs::remove_dir_all(tmp.path().join("s")).unwrap();
        assert!(vdx(&["gen", "--config", "two.toml", "--out", "s"], tmp.path()).0);
        assert_eq!(tree(&tmp.path().join("s")), reference);
    }
}

#[test]
fn review_a_trailing_slash_does_not_pass_a_symlink_and_fifos_do_not_hang() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("real")).unwrap();
    std::os::unix::fs::symlink("real", tmp.path().join("l")).unwrap();
    let (ok, _, stderr) = vdx(&["gen", "--block", "xoshiro_lane", "--out", "l/"], tmp.path());
    assert!(!ok && stderr.contains("symbolic link"), "{stderr}");
    assert!(names(&tmp.path().join("real")).is_empty());
    let f = tmp.path().join("f");
    std::fs::create_dir(&f).unwrap();
    assert!(Command::new("mkfifo").arg(f.join("manifest.json")).status().unwrap().success());
    let (ok, _, stderr) = vdx(&["gen", "--block", "xoshiro_lane", "--out", "f"], tmp.path());
    assert!(!ok && stderr.contains("refusing"), "{stderr}");
}
