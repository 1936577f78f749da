//! Photos of three kinds of scene for the tests of own classes, drawn from a seed: `stripes`
//! (straight bands at any angle), `dots` (discs scattered on a plain ground) and `checks` (a
//! tilted chequerboard). Every colour is random, so only the pattern tells the classes apart: a
//! model that learns them has learnt shapes, not a colour.

use image::RgbImage;

/// The classes' names, in label order.
pub const NAMES: [&str; 3] = ["checks", "dots", "stripes"];

/// A small deterministic generator (SplitMix64), so every run draws the same photos.
pub struct Draw(u64);

impl Draw {
    pub fn new(seed: u64) -> Draw {
        Draw(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    fn colour(&mut self) -> [f64; 3] {
        [
            self.unit() * 255.0,
            self.unit() * 255.0,
            self.unit() * 255.0,
        ]
    }

    /// Two colours far enough apart for the pattern to show.
    fn pair(&mut self) -> ([f64; 3], [f64; 3]) {
        loop {
            let (a, b) = (self.colour(), self.colour());
            let d: f64 = a.iter().zip(&b).map(|(x, y)| (x - y).powi(2)).sum();
            if d.sqrt() > 120.0 {
                return (a, b);
            }
        }
    }
}

/// A `w x h` photo of class `label` (index into [`NAMES`]) drawn from `seed`, with a little
/// noise on every pixel.
pub fn scene(label: usize, seed: u64, w: u32, h: u32) -> RgbImage {
    let mut d = Draw::new(seed * 7 + label as u64);
    let (a, b) = d.pair();
    let scale = f64::from(w.min(h));
    let angle = d.range(0.0, std::f64::consts::PI);
    let (sin, cos) = angle.sin_cos();
    let period = scale * d.range(0.08, 0.2);
    let dots: Vec<(f64, f64, f64)> = (0..d.range(6.0, 14.0) as usize)
        .map(|_| {
            (
                d.range(0.0, f64::from(w)),
                d.range(0.0, f64::from(h)),
                scale * d.range(0.05, 0.12),
            )
        })
        .collect();
    let mut noise = Draw::new(seed ^ 0xA5A5);
    RgbImage::from_fn(w, h, |x, y| {
        let (x, y) = (f64::from(x), f64::from(y));
        let (u, v) = (x * cos + y * sin, -x * sin + y * cos);
        let first = match NAMES[label] {
            "stripes" => (u / period).floor() as i64 % 2 == 0,
            "checks" => ((u / period).floor() as i64 + (v / period).floor() as i64) % 2 == 0,
            _ => dots
                .iter()
                .any(|(cx, cy, r)| (x - cx).powi(2) + (y - cy).powi(2) < r * r),
        };
        let c = if first { a } else { b };
        let n = (noise.unit() - 0.5) * 24.0;
        image::Rgb(c.map(|v| (v + n).clamp(0.0, 255.0) as u8))
    })
}
