use super::StrideWalkerParams;
use super::golden::Walk;
use crate::blocks::BlockParams;
use proptest::prelude::*;

fn params() -> StrideWalkerParams {
    StrideWalkerParams { levels: 4, addr_width: 12, count_width: 3, limit: 3000 }
}

fn walk() -> impl Strategy<Value = Walk> {
    (0u64..4096, prop::collection::vec(1u64..=8, 4), prop::collection::vec(0u64..4096, 4))
        .prop_map(|(base, bounds, strides)| Walk { base, bounds, strides })
}

proptest! {
    /// A walk the range check accepts never reaches the limit, and the walker gives all of it.
    #[test]
    fn accepted_walks_stay_inside_the_buffer(w in walk()) {
        let p = params();
        let (given, stopped) = w.emitted(&p);
        prop_assert!(given.iter().all(|&a| a < p.words()));
        match w.check(&p) {
            Ok(()) => {
                prop_assert!(!stopped);
                prop_assert_eq!(given, w.addresses());
            }
            Err(e) => {
                prop_assert!(stopped, "rejected for {} but not stopped", e.field);
                prop_assert!(e.field == "base" || e.field.starts_with("strides["), "{}", e.field);
            }
        }
    }
}

#[test]
fn addresses_follow_the_loop_nest() {
    let w = Walk { base: 5, bounds: vec![2, 3, 1, 2], strides: vec![1, 10, 999, 100] };
    let want = [5, 6, 15, 16, 25, 26, 105, 106, 115, 116, 125, 126];
    assert_eq!(w.addresses(), want);
    assert_eq!(w.wraps()[1], 0b1, "the inner loop ends");
    assert_eq!(w.wraps()[5], 0b111, "levels 0..=2 end");
    assert_eq!(w.wraps()[11], 0b1111);
    assert_eq!(w.check(&params()), Ok(()));
}

#[test]
fn bad_parameters_and_walks_are_named() {
    let p = StrideWalkerParams { addr_width: 8, limit: 300, ..params() };
    assert!(p.validate().iter().any(|i| i.field == "limit"));
    assert!(StrideWalkerParams { levels: 0, ..params() }.validate().iter().any(|i| i.field == "levels"));
    let w = Walk { base: 0, bounds: vec![1, 1, 1, 100], strides: vec![0, 0, 0, 1] };
    assert_eq!(w.check(&params()).unwrap_err().field, "bounds[3]");
    let w = Walk { base: 2995, bounds: vec![2, 8, 1, 1], strides: vec![1, 1, 0, 0] };
    assert_eq!(w.check(&params()).unwrap_err().field, "strides[1]");
}
