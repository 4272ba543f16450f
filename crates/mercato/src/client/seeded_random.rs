//! A small seeded random source for `mercato gen-catalog`: SplitMix64, whose
//! output depends on the seed alone, so the same seed writes the same file
//! on every machine and with every version of every dependency.
//!
//! It is not cryptographic and need not be: it picks words and numbers.

/// The golden-ratio increment of SplitMix64.
const INCREMENT: u64 = 0x9E37_79B9_7F4A_7C15;

/// A deterministic stream of random numbers.
#[derive(Clone, Debug)]
pub struct SeededRandom {
    state: u64,
}

impl SeededRandom {
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(INCREMENT);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        let wide = u128::from(self.next_u64()) * u128::from(bound);
        (wide >> 64) as u64
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        const FRACTION_BITS: u32 = 53;
        let bits = self.next_u64() >> (64 - FRACTION_BITS);
        bits as f64 / (1_u64 << FRACTION_BITS) as f64
    }

    /// True with probability `probability`.
    pub fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    /// True `percent` times out of a hundred.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        let mut first = SeededRandom::new(7);
        let mut second = SeededRandom::new(7);
        let mut other = SeededRandom::new(8);
        let drawn: Vec<u64> = (0..5).map(|_| first.next_u64()).collect();
        assert_eq!(drawn, (0..5).map(|_| second.next_u64()).collect::<Vec<_>>());
        assert_ne!(drawn, (0..5).map(|_| other.next_u64()).collect::<Vec<_>>());
    }

    #[test]
    fn draws_stay_in_their_ranges() {
        let mut random = SeededRandom::new(1);
        for _ in 0..10_000 {
            assert!(random.below(7) < 7);
            assert!((3..=9).contains(&random.between(3, 9)));
            assert!((0.0..1.0).contains(&random.unit()));
        }
        assert_eq!(random.below(0), 0);
    }
}
