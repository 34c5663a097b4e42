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

fn two_dies_with_adapters(links: &str, bytes_b: u32) -> String {
    format!(
        "name='p'\nclock_mhz=100.0\n[dies.a.blocks.l]\nblock='ucie_adapter'\n[dies.b.blocks.l]\nblock='ucie_adapter'\nbytes={bytes_b}\n\
         [dies.b.blocks.r]\nblock='xoshiro_lane'\n{links}"
    )
}

#[test]
fn ucie_adapters_must_pair_up_between_dies() {
    let e = parse_err(&two_dies_with_adapters("", 64));
    assert_eq!(e.issues.len(), 2, "{e}");
    assert!(e.issues[0].starts_with("dies.a.blocks.l: this UCIe adapter is in no link"), "{e}");
    let ok =
        DieConfig::parse(&two_dies_with_adapters("[[links]]\na='a.l'\nb='b.l'\n", 64), "t.toml").unwrap();
    assert_eq!(ok.links, [Link { a: ("a".into(), "l".into()), b: ("b".into(), "l".into()) }]);
    let e = parse_err(&two_dies_with_adapters("[[links]]\na='a.l'\nb='b.l'\n", 32));
    assert_eq!(
        e.issues,
        ["links[0]: bytes differs between a.l (64) and b.l (32); both ends of a link must agree"]
    );
    let e = parse_err(&two_dies_with_adapters("[[links]]\na='a.l'\nb='b.r'\n", 64));
    assert!(e.issues[0].contains("`b.r` is not a ucie_adapter"), "{e}");
    let e = parse_err(&two_dies_with_adapters("[[links]]\na='a.l'\nb='b.x'\n", 64));
    assert!(e.issues[0].contains("no UCIe adapter `b.x`; adapters: a.l, b.l"), "{e}");
    let e =
        parse_err(&two_dies_with_adapters("[[links]]\na='a.l'\nb='b.l'\n[[links]]\na='a.l'\nb='b.l'\n", 64));
    assert!(e.issues.iter().any(|i| i.contains("is already an end of links[0]")), "{e}");
    let e = parse_err(&two_dies_with_adapters("[[links]]\na='a.l'\nb='a.l'\n", 64));
    assert!(e.issues.iter().any(|i| i.contains("both ends are on die a")), "{e}");
}

#[test]
fn fabric_fields_are_checked_with_their_paths() {
    let e = parse_err(
        "name='x'\nclock_mhz=100.0\n[dies.d]\nfabric_bits=12\nread_channels=9\nscratchpad_kib=3\n[dies.d.blocks.r]\nblock='xoshiro_lane'\n",
    );
    assert!(
        e.issues.contains(&"dies.d.fabric_bits: 12 must be a multiple of 8 in 8..=4096".to_string()),
        "{e}"
    );
    assert!(e.issues.contains(&"dies.d.read_channels: 9 is out of range 1..=8".to_string()), "{e}");
    let e = parse_err(
        "name='x'\nclock_mhz=100.0\n[dies.d]\nfabric_bits=24\nscratchpad_kib=1\n[dies.d.blocks.r]\nblock='xoshiro_lane'\n",
    );
    assert_eq!(e.issues, ["dies.d.scratchpad_kib: 1 KiB is not a whole number of 24-bit words"]);
    let e = parse_err("name='x'\nclock_mhz=0.0\n[dies.d.blocks.r]\nblock='xoshiro_lane'\n");
    assert_eq!(e.issues, ["clock_mhz: 0 is out of range (0, 10000]"]);
    let e = parse_err("name='x'\nclock_mhz=10.0\n[dies.d.blocks.die]\nblock='xoshiro_lane'\n");
    assert!(e.issues[0].contains("`die` is taken by the die top"), "{e}");
}
