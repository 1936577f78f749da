//! The transcendental functions that must give the same bits natively and in WebAssembly.
//!
//! `f64::exp` and its kin call the C library natively (glibc on Linux) and a Rust port of musl's
//! in WebAssembly. The two differ in the last bit for some arguments, and 2,000 iterations of
//! gradient descent carry such a bit into most of the weights: a logistic regression trained in
//! the page differed from the CLI's in 12,049 of its 12,288 weights (by up to 3e-10,
//! relatively). Everything the page and the CLI must agree on calls these instead: the same code
//! (the `libm` crate, musl's algorithms, accurate to within 1 ulp) on every platform.
//!
//! numpy's normal deviates ([`crate::rng`]) keep the C library's `ln`: there numpy's own bits are
//! the reference, and musl's `log` misses glibc's on a few of the 245,760 values a test checks.

/// `e^x`.
#[inline]
pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}

/// `ln(1 + x)`, accurate for small `x`.
#[inline]
pub fn ln_1p(x: f64) -> f64 {
    libm::log1p(x)
}

/// The natural logarithm.
#[inline]
pub fn ln(x: f64) -> f64 {
    libm::log(x)
}
