//! Seeded, dependency-free random numbers that reproduce numpy's legacy `np.random` stream.
//!
//! The classic cat-vs-non-cat notebooks initialise their weights with
//! `np.random.seed(seed)` followed by `np.random.randn(rows, cols)`. To get *bit-identical*
//! initial weights (and therefore results that can be compared with a numpy reference run to
//! ~1e-10) this module re-implements exactly the pieces of numpy that are involved:
//!
//! * [`Mt19937`]: the 32-bit Mersenne Twister of M. Matsumoto and T. Nishimura, "Mersenne
//!   Twister: a 623-dimensionally equidistributed uniform pseudo-random number generator",
//!   *ACM Transactions on Modeling and Computer Simulation* 8(1):3–30, 1998, as in the authors'
//!   reference `mt19937ar.c` and numpy's `numpy/random/src/mt19937/mt19937.c`. Seeding from a
//!   scalar is `init_genrand`, which is what numpy's legacy `np.random.seed(int)` /
//!   `RandomState(int)` does (checked against numpy 2.4: the 624-word state from `get_state()`
//!   equals `init_genrand(seed)` for several seeds).
//! * [`Mt19937::next_f64`]: numpy's legacy 53-bit double (`legacy_double` /
//!   `mt19937_next_double`, the `genrand_res53` of the reference code).
//! * [`NumpyRandn`]: numpy's legacy Marsaglia polar-method gaussian, `legacy_gauss` in
//!   `numpy/random/src/legacy/legacy-distributions.c`, including its cached second value.
//!
//! [`Mt19937::below`] and [`Mt19937::shuffle`] are convenience helpers for seeded sampling
//! (e.g. mini-batch order); they are unbiased but do **not** reproduce numpy's
//! `randint`/`shuffle` streams.

use ndarray::Array2;

/// Number of 32-bit words in the MT19937 state (`N` in the paper).
const N: usize = 624;
/// Middle word offset used by the recurrence (`M` in the paper).
const M: usize = 397;
/// Coefficients of the rational normal form twist matrix (`a` in the paper).
const MATRIX_A: u32 = 0x9908_b0df;
/// Most significant bit of a word (`w - r` upper bits).
const UPPER_MASK: u32 = 0x8000_0000;
/// Least significant 31 bits of a word (`r` lower bits).
const LOWER_MASK: u32 = 0x7fff_ffff;

/// The 32-bit Mersenne Twister MT19937 (Matsumoto & Nishimura, 1998).
///
/// Period 2^19937 − 1; each call to [`next_u32`](Self::next_u32) yields one tempered 32-bit
/// word. The state and algorithms follow the authors' `mt19937ar.c` and numpy's
/// `mt19937.c`, so a generator created with [`Mt19937::new`]`(s)` produces the same words as
/// `numpy.random.RandomState(s)` (and as `std::mt19937(s)` in C++).
#[derive(Clone, Debug)]
pub struct Mt19937 {
    /// The 624-word state vector.
    state: [u32; N],
    /// Index of the next state word to temper and return; `N` means "regenerate first".
    index: usize,
}

impl Mt19937 {
    /// Creates a generator seeded like numpy's legacy `np.random.seed(seed)` for a scalar
    /// integer seed (any value in `0..=u32::MAX`).
    ///
    /// This is `init_genrand` from the reference implementation (numpy's `mt19937_seed`):
    /// `mt[0] = seed`, `mt[i] = 1812433253 * (mt[i-1] ^ (mt[i-1] >> 30)) + i` (mod 2^32),
    /// with the next output triggering a full state regeneration.
    pub fn new(seed: u32) -> Self {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            // `i < 624`, so the cast is lossless.
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Self { state, index: N }
    }

    /// Regenerates all `N` state words at once (the "twist"; numpy's `mt19937_gen`).
    fn twist(&mut self) {
        for i in 0..N {
            let y = (self.state[i] & UPPER_MASK) | (self.state[(i + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            self.state[i] = self.state[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// Returns the next tempered 32-bit word, uniform over `0..=u32::MAX`
    /// (`genrand_int32` in the reference code, `mt19937_next32` in numpy).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// Returns a uniform double in `[0, 1)` with 53 random bits, built from two consecutive
    /// 32-bit words `a`, `b` exactly as numpy's legacy `random_sample` does
    /// (`legacy_double` → `mt19937_next_double`, the reference `genrand_res53`):
    /// `((a >> 5) * 2^26 + (b >> 6)) / 2^53`.
    pub fn next_f64(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) / 9_007_199_254_740_992.0
    }

    /// Returns a uniform integer in `0..n` without modulo bias, by rejection sampling on
    /// [`next_u32`](Self::next_u32): words below `2^32 mod n` are discarded, so every residue
    /// is equally likely. Consumes one or (rarely) more words. Does not reproduce numpy's
    /// `randint` stream.
    ///
    /// # Panics
    ///
    /// Panics if `n == 0` (the range `0..0` is empty).
    pub fn below(&mut self, n: u32) -> u32 {
        assert!(n > 0, "Mt19937::below: n must be positive");
        // 2^32 mod n, computed without 64-bit arithmetic.
        let threshold = n.wrapping_neg() % n;
        loop {
            let r = self.next_u32();
            if r >= threshold {
                return r % n;
            }
        }
    }

    /// Returns a uniform index in `0..n` (`n > 0`) for slices of any length; uses
    /// [`below`](Self::below) when `n` fits in a `u32`, else 64-bit rejection sampling.
    fn below_usize(&mut self, n: usize) -> usize {
        match u32::try_from(n) {
            Ok(n32) => self.below(n32) as usize,
            Err(_) => {
                let n64 = n as u64;
                let threshold = n64.wrapping_neg() % n64;
                loop {
                    let r = (u64::from(self.next_u32()) << 32) | u64::from(self.next_u32());
                    if r >= threshold {
                        // `r % n64 < n`, which came from a `usize`.
                        return (r % n64) as usize;
                    }
                }
            }
        }
    }

    /// Shuffles `items` in place with the Fisher–Yates (Durstenfeld) algorithm: for `i` from
    /// the last index down to 1, swap item `i` with a uniformly chosen item in `0..=i`.
    /// Every permutation is equally likely. Does not reproduce numpy's `shuffle` stream.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below_usize(i + 1);
            items.swap(i, j);
        }
    }
}

/// numpy-compatible standard normal generator: an [`Mt19937`] plus the cached second
/// gaussian of the polar method, i.e. the state numpy's legacy `RandomState` uses for
/// `np.random.randn` (`legacy_gauss` in `legacy-distributions.c`).
///
/// `NumpyRandn::new(s)` followed by `randn()` calls reproduces
/// `np.random.seed(s); np.random.randn(...)` bit for bit.
#[derive(Clone, Debug)]
pub struct NumpyRandn {
    /// The underlying uniform generator.
    mt: Mt19937,
    /// Whether `gauss` holds an unused second deviate from the last polar-method draw.
    has_gauss: bool,
    /// The cached second deviate (meaningful only when `has_gauss`).
    gauss: f64,
}

impl NumpyRandn {
    /// Creates a generator in the state numpy is in right after `np.random.seed(seed)`:
    /// MT19937 seeded by `init_genrand(seed)` and no cached gaussian.
    pub fn new(seed: u32) -> Self {
        Self {
            mt: Mt19937::new(seed),
            has_gauss: false,
            gauss: 0.0,
        }
    }

    /// Returns one standard normal deviate (mean 0, variance 1, unbounded range), exactly as
    /// numpy's legacy `legacy_gauss` (Marsaglia polar method):
    ///
    /// if a cached value exists, return it; otherwise repeat `x1 = 2u - 1`, `x2 = 2u - 1`
    /// (`u` from [`Mt19937::next_f64`]), `r2 = x1² + x2²` until `0 < r2 < 1`, then with
    /// `f = sqrt(-2 ln(r2) / r2)` cache `f * x1` and return `f * x2`.
    pub fn randn(&mut self) -> f64 {
        if self.has_gauss {
            self.has_gauss = false;
            let cached = self.gauss;
            self.gauss = 0.0;
            return cached;
        }
        loop {
            let x1 = 2.0 * self.mt.next_f64() - 1.0;
            let x2 = 2.0 * self.mt.next_f64() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = f * x1;
                self.has_gauss = true;
                return f * x2;
            }
        }
    }

    /// Returns a `rows × cols` matrix of standard normal deviates filled in row-major
    /// (C) order, like `np.random.randn(rows, cols)`. Either dimension may be zero.
    pub fn randn_matrix(&mut self, rows: usize, cols: usize) -> Array2<f64> {
        Array2::from_shape_simple_fn((rows, cols), || self.randn())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference MT19937 test vector for `init_genrand(5489)` (the default seed of
    /// `mt19937ar.c` and `std::mt19937`; its 10000th output is 4123659995).
    /// Also produced by numpy 2.4.6:
    /// `python3 -c "import numpy as np; print(np.random.RandomState(5489).randint(0, 2**32, size=10, dtype=np.uint32).tolist())"`
    /// (for the full `u32` range numpy's `randint` returns raw `next_uint32` words).
    #[test]
    fn next_u32_seed_5489_matches_reference_vector() {
        let expected: [u32; 10] = [
            3499211612, 581869302, 3890346734, 3586334585, 545404204, 4161255391, 3922919429,
            949333985, 2715962298, 1323567403,
        ];
        let mut mt = Mt19937::new(5489);
        for &e in &expected {
            assert_eq!(mt.next_u32(), e);
        }
        // The 10000th output of the reference generator (C++ [rand.predef]).
        let mut mt = Mt19937::new(5489);
        let mut last = 0;
        for _ in 0..10_000 {
            last = mt.next_u32();
        }
        assert_eq!(last, 4_123_659_995);
    }

    /// numpy 2.4.6:
    /// `python3 -c "import numpy as np; print(np.random.RandomState(1).randint(0, 2**32, size=10, dtype=np.uint32).tolist())"`
    #[test]
    fn next_u32_seed_1_matches_numpy() {
        let expected: [u32; 10] = [
            1791095845, 4282876139, 3093770124, 4005303368, 491263, 550290313, 1298508491,
            4290846341, 630311759, 1013994432,
        ];
        let mut mt = Mt19937::new(1);
        for &e in &expected {
            assert_eq!(mt.next_u32(), e);
        }
    }

    /// numpy 2.4.6: `np.random.seed(1)` leaves the state `init_genrand(1)`:
    /// `python3 -c "import numpy as np; np.random.seed(1); print(np.random.get_state()[1][:3].tolist())"`
    /// prints `[1, 1812433254, 3713160357]`.
    #[test]
    fn seeding_is_init_genrand() {
        let mt = Mt19937::new(1);
        assert_eq!(mt.state[..3], [1, 1_812_433_254, 3_713_160_357]);
        assert_eq!(mt.index, N);
    }

    /// numpy 2.4.6, bit patterns of
    /// `python3 -c "import numpy as np, struct; np.random.seed(1); print([hex(struct.unpack('<Q', struct.pack('<d', x))[0]) for x in np.random.random_sample(5)])"`
    /// (values 0.417022004702574, 0.7203244934421581, 0.00011437481734488664,
    /// 0.30233257263183977, 0.14675589081711304), and the same with `seed(42)`
    /// (0.3745401188473625, 0.9507143064099162, 0.7319939418114051, 0.5986584841970366,
    /// 0.15601864044243652).
    #[test]
    fn next_f64_matches_numpy_random_sample() {
        let cases: [(u32, [u64; 5]); 2] = [
            (
                1,
                [
                    0x3fdab07d0ffa3c06,
                    0x3fe70ce5f3baf051,
                    0x3f1dfb906661c000,
                    0x3fd3596ab7fe08f4,
                    0x3fc2c8e5a3c7053c,
                ],
            ),
            (
                42,
                [
                    0x3fd7f8771e5f51ec,
                    0x3fee6c4068bbd654,
                    0x3fe76c7e8f1e6751,
                    0x3fe32835d6632cb0,
                    0x3fc3f86b37222184,
                ],
            ),
        ];
        for (seed, expected) in cases {
            let mut mt = Mt19937::new(seed);
            for e in expected {
                assert_eq!(mt.next_f64().to_bits(), e, "seed {seed}");
            }
        }
        assert_eq!(Mt19937::new(1).next_f64(), 0.417022004702574);
    }

    /// numpy 2.4.6, bit patterns of
    /// `python3 -c "import numpy as np, struct; np.random.seed(1); print([hex(struct.unpack('<Q', struct.pack('<d', x))[0]) for x in np.random.randn(6)])"`
    /// (values 1.6243453636632417, -0.6117564136500754, -0.5281717522634557,
    /// -1.0729686221561705, 0.8654076293246785, -2.3015386968802827), and the same with
    /// `seed(42)` (0.4967141530112327, -0.13826430117118466, 0.6476885381006925,
    /// 1.5230298564080254, -0.23415337472333597, -0.23413695694918055).
    #[test]
    fn randn_matches_numpy() {
        let cases: [(u32, [u64; 6]); 2] = [
            (
                1,
                [
                    0x3ff9fd5190657c50,
                    0xbfe393822fb7d9ad,
                    0xbfe0e6c872548fd2,
                    0xbff12ae1255cb80c,
                    0x3febb16b5735117d,
                    0xc002698d1ecca259,
                ],
            ),
            (
                42,
                [
                    0x3fdfca2a28a9307c,
                    0xbfc1b2a505de052a,
                    0x3fe4b9dd50245e68,
                    0x3ff85e548e01aa2b,
                    0xbfcdf8bcdf57a640,
                    0xbfcdf8332670db3b,
                ],
            ),
        ];
        for (seed, expected) in cases {
            let mut g = NumpyRandn::new(seed);
            for e in expected {
                assert_eq!(g.randn().to_bits(), e, "seed {seed}");
            }
        }
        assert_eq!(NumpyRandn::new(1).randn(), 1.6243453636632417);
    }

    /// numpy 2.4.6, the first-layer init of the [12288, 20, 7, 5, 1] notebook network:
    /// `python3 -c "import numpy as np, struct; np.random.seed(1); W = np.random.randn(20, 12288) / np.sqrt(12288); f = lambda x: hex(struct.unpack('<Q', struct.pack('<d', x))[0]); print([f(x) for x in W.ravel()[:4]], f(W[1, 0]), f(W[19, 12287]), repr(W.sum()))"`
    /// gives W[0, :4] = 0.014653378640123331, -0.0055187145328023605, -0.004764689114807226,
    /// -0.009679355044279483; W[1, 0] = 0.009104372701584724; W[19, 12287] =
    /// 0.006735189662709199; sum 7.373509610089014. The sum is compared to 1e-12 only,
    /// because numpy's pairwise summation and ndarray's `sum` add in different orders.
    #[test]
    fn randn_matrix_matches_numpy_layer_init() {
        let mut g = NumpyRandn::new(1);
        let w = g.randn_matrix(20, 12288) / 12288f64.sqrt();
        assert_eq!(w.dim(), (20, 12288));
        let first: [u64; 4] = [
            0x3f8e02973048291c,
            0xbf769acaa6f314da,
            0xbf7384237ec77e15,
            0xbf83d2c50ae475e8,
        ];
        for (j, e) in first.into_iter().enumerate() {
            assert_eq!(w[[0, j]].to_bits(), e, "W[0, {j}]");
        }
        assert_eq!(w[[1, 0]].to_bits(), 0x3f82a5503807fd8a);
        assert_eq!(w[[19, 12287]].to_bits(), 0x3f7b965bb556cec4);
        assert!(
            (w.sum() - 7.373509610089014).abs() < 1e-12,
            "sum {}",
            w.sum()
        );
    }

    /// Every one of the 245 760 entries bit-exact: the wrapping sum of the IEEE bit patterns.
    /// numpy 2.4.6:
    /// `python3 -c "import numpy as np; np.random.seed(1); W = np.random.randn(20, 12288) / np.sqrt(12288); print(int(W.view(np.uint64).sum(dtype=np.uint64)))"`
    /// prints 10152418430355439363 (and 1863450136293853613 without the `/ np.sqrt(12288)`).
    #[test]
    fn randn_matrix_all_bits_match_numpy() {
        let bit_sum = |m: &Array2<f64>| m.iter().fold(0u64, |acc, x| acc.wrapping_add(x.to_bits()));
        let raw = NumpyRandn::new(1).randn_matrix(20, 12288);
        assert_eq!(bit_sum(&raw), 1_863_450_136_293_853_613);
        let scaled = raw / 12288f64.sqrt();
        assert_eq!(bit_sum(&scaled), 10_152_418_430_355_439_363);
    }

    #[test]
    fn randn_matrix_handles_empty_shapes() {
        let mut g = NumpyRandn::new(0);
        assert_eq!(g.randn_matrix(0, 5).dim(), (0, 5));
        assert_eq!(g.randn_matrix(3, 0).dim(), (3, 0));
        // Nothing was drawn, so the stream still starts like a fresh one.
        assert_eq!(g.randn().to_bits(), NumpyRandn::new(0).randn().to_bits());
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut mt = Mt19937::new(7);
        let mut counts = [0u32; 6];
        for _ in 0..6000 {
            let v = mt.below(6);
            assert!(v < 6);
            counts[v as usize] += 1;
        }
        // Each face expected 1000 times; allow a generous margin.
        assert!(
            counts.iter().all(|&c| (850..1150).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(mt.below(1), 0);
        let big = u32::MAX;
        assert!(mt.below(big) < big);
    }

    #[test]
    #[should_panic(expected = "n must be positive")]
    fn below_zero_panics() {
        Mt19937::new(0).below(0);
    }

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let original: Vec<u32> = (0..209).collect();
        let mut a = original.clone();
        let mut b = original.clone();
        Mt19937::new(3).shuffle(&mut a);
        Mt19937::new(3).shuffle(&mut b);
        assert_eq!(a, b, "same seed, same order");
        assert_ne!(a, original, "209 items practically never stay in order");
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, original);
        let mut c = original.clone();
        Mt19937::new(4).shuffle(&mut c);
        assert_ne!(a, c, "different seeds give different orders");

        let mut empty: [u8; 0] = [];
        Mt19937::new(0).shuffle(&mut empty);
        let mut one = [9];
        Mt19937::new(0).shuffle(&mut one);
        assert_eq!(one, [9]);
    }
}
