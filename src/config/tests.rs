use super::*;

fn parse_err(text: &str) -> ConfigError {
    DieConfig::parse(text, "t.toml").expect_err("config must be rejected")
}

#[test]
fn default_config_is_valid_and_has_every_die() {
    let c = DieConfig::default_config().expect("embedded default parses");
    let dies: Vec<&str> = c.dies.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(dies, ["compute0", "compute1", "compute2", "utility"]);
    let utility = c.die("utility").unwrap();
    let lane = utility.blocks.iter().find(|b| b.instance == "noise_lane0").unwrap();
    assert_eq!(lane.block, "xoshiro_lane");
    assert!(lane.elaborated.is_some());
    let tcu = utility.blocks.iter().find(|b| b.instance == "tcu").unwrap();
    assert!(tcu.elaborated.is_some(), "timestep_cond (the embedding) is implemented");
    let vae = utility.blocks.iter().find(|b| b.instance == "vae").unwrap();
    assert!(vae.elaborated.is_none(), "vae_decoder is not implemented yet and must not be stubbed");
}

#[test]
fn out_of_range_parameter_names_the_field_path() {
    let e = parse_err("name='x'\nclock_mhz=100.0\n[dies.d.blocks.r]\nblock='xoshiro_lane'\nlane=5000\n");
    assert_eq!(e.issues, ["dies.d.blocks.r.lane: 5000 is out of range 0..=1023"]);
    assert!(e.to_string().starts_with("invalid config t.toml:"));
}

#[test]
fn wrong_type_and_unknown_keys_are_reported_with_paths() {
    let e = parse_err("name='x'\nclock_mhz=100.0\n[dies.d.blocks.r]\nblock='xoshiro_lane'\nlane='three'\n");
    assert!(e.issues[0].starts_with("dies.d.blocks.r.lane: invalid type"), "{e}");
    let e = parse_err("name='x'\nclock_mhz=100.0\n[dies.d.blocks.r]\nblock='xoshiro_lane'\nlanes=3\n");
    assert!(
        e.issues[0].ends_with("unknown field `lanes`, expected `seed` or `lane`")
            && !e.issues[0].contains("parameters:"),
        "the parameters are listed once: {e}"
    );
    let e = parse_err("name='x'\nclock_mhz=100.0\ncolour=1\n[dies.d]\n");
    assert!(e.issues[0].contains("unknown field `colour`"), "{e}");
    let e = parse_err("name='x'\nclock_mhz=100.0\n[dies.d]\nrole=3\n");
    assert!(e.issues[0].starts_with("dies.d.role: invalid type"), "{e}");
}

#[test]
fn unknown_blocks_and_bad_names_are_listed_together() {
    let e = parse_err(
        "name='My Chip'\nclock_mhz=-1.0\n[dies.d.blocks.r]\nblock='xoshiro'\n[dies.d.blocks.sgu]\n",
    );
    assert_eq!(e.issues.len(), 3, "{e}");
    assert!(e.issues[0].contains("name: name `My Chip` must be a lower-case identifier (e.g. `my_chip`)"));
    assert!(e.issues[1].contains("clock_mhz: -1 is out of range"));
    assert!(
        e.issues[2].starts_with("dies.d.blocks.r.block: unknown block `xoshiro`; blocks: xoshiro_lane, sgu")
    );
}

#[test]
fn syntax_errors_carry_the_position() {
    let e = parse_err("name = 'x'\nclock_mhz = \n");
    assert!(e.issues[0].contains("line 2"), "{e}");
}

#[test]
fn effective_config_round_trips_with_defaults_filled_in() {
    let c = DieConfig::parse("name='x'\nclock_mhz=100.0\n[dies.d.blocks.r]\nblock='xoshiro_lane'\n", "t")
        .unwrap();
    let text = c.to_toml();
    assert!(text.contains("seed = 0") && text.contains("lane = 0"), "{text}");
    let again = DieConfig::parse(&text, "again").unwrap();
    assert_eq!(again.to_toml().lines().skip(1).collect::<Vec<_>>(), text.lines().skip(1).collect::<Vec<_>>());
    let default_text = DieConfig::default_config().unwrap().to_toml();
    DieConfig::parse(&default_text, "default again").expect("the effective default config is itself valid");
}

#[test]
fn names_may_be_verilog_keywords_but_must_be_plain() {
    DieConfig::parse("name='small'\nclock_mhz=1.0\n[dies.module.blocks.wire]\nblock='xoshiro_lane'\n", "t")
        .expect("keywords are fine as config, die and instance names");
    let e = parse_err("name='Small'\nclock_mhz=1.0\n[dies.d]\n");
    assert!(e.issues[0].contains("name `Small` must be a lower-case identifier (e.g. `small`)"), "{e}");
}
