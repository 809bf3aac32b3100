//! Backoff delays and the seeded random source for jitter.
//!
//! Delays are computed in f64 seconds, capped at `max_delay` before jitter,
//! and floored to whole seconds (docs/design.md §4 rule 10). The random source is a
//! SplitMix64 seeded from an FNV-1a hash of the failed execution id: both are
//! fixed algorithms written here, so one failure gets the same delay in every
//! version and on every machine.

use crate::model::{Backoff, Jitter, Strategy};

/// A source of uniform numbers in [0, 1).
pub trait RandomSource {
    /// The next draw, uniform in [0, 1).
    fn next_unit(&mut self) -> f64;
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fixed forever.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose state starts at `seed`; the same seed gives the same sequence forever.
    pub const fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The generator for one failed run: seeded from its execution id.
    pub fn for_execution(execution_id: &str) -> Self {
        Self::new(seed_for(execution_id))
    }

    /// The next 64 random bits (SplitMix64's output function, as published).
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl RandomSource for SplitMix64 {
    fn next_unit(&mut self) -> f64 {
        // The top 53 bits as a fraction: uniform in [0, 1).
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// The stable seed of an execution id: 64-bit FNV-1a of its UTF-8 bytes.
pub fn seed_for(execution_id: &str) -> u64 {
    execution_id.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

impl Backoff {
    /// The delay before restart `attempt` (1-based) before jitter, in
    /// seconds: never above `max_delay`, never overflowing.
    pub fn base_delay(&self, attempt: u32) -> f64 {
        let initial = self.initial_delay.as_secs_f64();
        let cap = self.max_delay.as_secs_f64();
        let n = f64::from(attempt.max(1));
        let base = match self.strategy {
            Strategy::Fixed => initial,
            Strategy::Linear => initial * n,
            Strategy::Exponential => {
                let m = self.multiplier;
                // Clamp before multiplying: once initial × m^(n−1) would pass
                // the cap, the answer is the cap.
                if initial <= 0.0 || m <= 1.0 {
                    initial
                } else if (n - 1.0) * m.ln() >= (cap / initial).ln() {
                    cap
                } else {
                    initial * m.powf(n - 1.0)
                }
            }
        };
        base.min(cap).max(0.0)
    }

    /// The range jitter can put delay `attempt` in, in seconds.
    pub fn delay_range(&self, attempt: u32) -> (f64, f64) {
        let base = self.base_delay(attempt);
        match self.jitter {
            Jitter::None => (base, base),
            Jitter::Full => (0.0, base),
            Jitter::Equal => (base / 2.0, base),
        }
    }

    /// The delay before restart `attempt`, whole seconds, drawing jitter from `rng`.
    pub fn delay(&self, attempt: u32, rng: &mut dyn RandomSource) -> u64 {
        let base = self.base_delay(attempt);
        let delay = match self.jitter {
            Jitter::None => base,
            Jitter::Full => rng.next_unit() * base,
            Jitter::Equal => base / 2.0 + rng.next_unit() * (base / 2.0),
        };
        // In [0, max_delay] ⊂ [0, 365d]: the cast cannot truncate.
        delay.floor() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::Duration;
    use crate::model::Strategy as S;
    use proptest::prelude::{Just, ProptestConfig, prop_assert, prop_oneof, proptest};

    fn backoff(strategy: S, initial: u64, multiplier: f64, max: u64, jitter: Jitter) -> Backoff {
        Backoff {
            strategy,
            initial_delay: Duration::from_secs(initial),
            multiplier,
            max_delay: Duration::from_secs(max),
            jitter,
        }
    }

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // First outputs of the reference implementation for seed 1234567.
        let mut g = SplitMix64::new(1_234_567);
        let got: Vec<u64> = (0..3).map(|_| g.next_u64()).collect();
        assert_eq!(
            got,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423
            ]
        );
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(seed_for(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(seed_for("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(seed_for("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn strategies_compute_the_documented_bases() {
        let b = backoff(S::Fixed, 60, 2.0, 3600, Jitter::None);
        assert_eq!([1, 2, 5].map(|n| b.base_delay(n)), [60.0, 60.0, 60.0]);
        let b = backoff(S::Linear, 60, 2.0, 200, Jitter::None);
        assert_eq!([1, 2, 3, 4].map(|n| b.base_delay(n)), [60.0, 120.0, 180.0, 200.0]);
        let b = backoff(S::Exponential, 120, 2.0, 3600, Jitter::None);
        assert_eq!(
            [1, 2, 3, 5, 6].map(|n| b.base_delay(n)),
            [120.0, 240.0, 480.0, 1920.0, 3600.0]
        );
        let b = backoff(S::Exponential, 1, 10.0, 365 * 86_400, Jitter::None);
        assert_eq!(b.base_delay(u32::MAX), 365.0 * 86_400.0);
    }

    #[test]
    fn jitter_is_floored_and_uses_the_source() {
        struct Fixed(f64);
        impl RandomSource for Fixed {
            fn next_unit(&mut self) -> f64 {
                self.0
            }
        }
        let full = backoff(S::Fixed, 101, 2.0, 3600, Jitter::Full);
        assert_eq!(full.delay(1, &mut Fixed(0.5)), 50);
        assert_eq!(full.delay(1, &mut Fixed(0.0)), 0);
        let equal = backoff(S::Fixed, 101, 2.0, 3600, Jitter::Equal);
        assert_eq!(equal.delay(1, &mut Fixed(0.5)), 75);
        let none = backoff(S::Fixed, 101, 2.0, 3600, Jitter::None);
        assert_eq!(none.delay(1, &mut Fixed(0.99)), 101);
    }

    fn any_backoff() -> impl proptest::strategy::Strategy<Value = Backoff> {
        use proptest::strategy::Strategy as _;
        (
            prop_oneof![Just(S::Fixed), Just(S::Linear), Just(S::Exponential)],
            1u64..=365 * 86_400,
            1.0f64..=10.0,
            1u64..=365 * 86_400,
            prop_oneof![Just(Jitter::None), Just(Jitter::Full), Just(Jitter::Equal)],
        )
            .prop_map(|(s, initial, m, max, j)| backoff(s, initial.min(max), m, max, j))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..ProptestConfig::default() })]

        #[test]
        fn delays_are_never_negative_nor_above_max_delay(b in any_backoff(), attempt in 1u32..=200, seed: u64) {
            let d = b.delay(attempt, &mut SplitMix64::new(seed));
            prop_assert!(d <= b.max_delay.as_secs());
            let base = b.base_delay(attempt);
            prop_assert!((0.0..=b.max_delay.as_secs_f64()).contains(&base));
        }

        #[test]
        fn without_jitter_delays_never_decrease(b in any_backoff(), attempt in 1u32..=150) {
            let b = Backoff { jitter: Jitter::None, ..b };
            let mut rng = SplitMix64::new(0);
            prop_assert!(b.delay(attempt + 1, &mut rng) >= b.delay(attempt, &mut rng));
            prop_assert!(b.base_delay(attempt + 1) >= b.base_delay(attempt));
        }

        #[test]
        fn jittered_delays_stay_inside_their_bounds(b in any_backoff(), attempt in 1u32..=150, seed: u64) {
            let (lo, hi) = b.delay_range(attempt);
            let d = b.delay(attempt, &mut SplitMix64::new(seed)) as f64;
            prop_assert!(d >= lo.floor() && d <= hi, "{d} not in [{lo}, {hi}]");
        }

        #[test]
        fn unit_draws_stay_in_zero_one(seed: u64) {
            let mut g = SplitMix64::new(seed);
            for _ in 0..64 {
                let u = g.next_unit();
                prop_assert!((0.0..1.0).contains(&u));
            }
        }
    }
}
