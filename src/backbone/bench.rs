//! Timing the pass and each of its layers, for the benchmarks (the native example
//! `backbone_bench` and the page www/bench-backbone.html). The clock is the caller's
//! (`Instant` natively, `performance.now()` in a browser, whose resolution is 0.1 ms), in
//! milliseconds; nothing here asserts anything about speed.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::pointwise::{Epilogue, Pointwise};
use super::resize::to_input;
use super::{Backbone, Scratch, FEATURES, STEM_CHANNELS};
use crate::Result;

/// One layer of the pass, timed alone on the activations it sees in a real pass.
#[derive(Clone, Debug, Serialize)]
pub struct LayerTime {
    /// `stem`, `blocks.{i}.expand` / `.depthwise` / `.project`, `head`.
    pub name: String,
    /// `stem`, `1x1` or `depthwise`.
    pub kind: &'static str,
    /// Multiply-adds of one call.
    pub madds: u64,
    /// Milliseconds per call (the mean over as many calls as fill `min_ms`).
    pub ms: f64,
}

impl LayerTime {
    /// Billions of floating-point operations (2 per multiply-add) per second.
    pub fn gflops(&self) -> f64 {
        2.0 * self.madds as f64 / (self.ms * 1e6)
    }
}

/// What [`run`] measured.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The input side the images were resized to.
    pub input: usize,
    /// Milliseconds of each whole pass (resize + network + pooling), in order: the first ones
    /// include a browser's tier-up to optimised code.
    pub image_ms: Vec<f64>,
    /// Multiply-adds of one pass (every layer of [`Report::layers`]).
    pub madds: u64,
    /// Every layer timed alone.
    pub layers: Vec<LayerTime>,
    /// Hex sha256 of the first image's pooled features (little-endian `f32` bytes): the same
    /// on every target, as the kernels round the same way everywhere.
    pub checksum: String,
}

/// Runs `passes` whole passes over `images` (RGB, `side x side`, taken in turn) at `input`
/// pixels, then times every layer alone for at least `min_ms` each.
pub fn run(
    net: &Backbone,
    images: &[&[u8]],
    side: usize,
    input: usize,
    passes: usize,
    min_ms: f64,
    now: &mut dyn FnMut() -> f64,
) -> Result<Report> {
    let mut scratch = Scratch::default();
    let mut image_ms = Vec::with_capacity(passes);
    let checksum = match images.first() {
        Some(rgb) => {
            let f = net.features_with(rgb, side, input, &mut scratch)?;
            let bytes: Vec<u8> = f.pooled.iter().flat_map(|v| v.to_le_bytes()).collect();
            hex(&Sha256::digest(&bytes))
        }
        None => String::new(),
    };
    for i in 0..passes {
        let Some(&rgb) = images.get(i % images.len().max(1)) else {
            break;
        };
        let t0 = now();
        let f = net.features_with(rgb, side, input, &mut scratch)?;
        image_ms.push(now() - t0);
        std::hint::black_box(f);
    }
    let layers = match images.first() {
        Some(rgb) => layers(net, rgb, side, input, min_ms, now),
        None => Vec::new(),
    };
    Ok(Report {
        input,
        image_ms,
        madds: layers.iter().map(|l| l.madds).sum(),
        layers,
        checksum,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Calls `f` until `min_ms` have passed (at least twice, the first call untimed as a warm-up):
/// milliseconds per call.
fn time(min_ms: f64, now: &mut dyn FnMut() -> f64, mut f: impl FnMut()) -> f64 {
    f();
    let t0 = now();
    let mut calls = 0u32;
    loop {
        f();
        calls += 1;
        let dt = now() - t0;
        // A clock that gives NaN ends the loop too.
        if (dt >= min_ms || dt.is_nan()) && calls >= 2 {
            return dt / f64::from(calls);
        }
    }
}

/// One 1x1 layer timed alone.
#[allow(clippy::too_many_arguments)]
fn pointwise(
    name: String,
    pw: &Pointwise,
    x: &[f32],
    rows: usize,
    epilogue: Epilogue,
    dst: &mut [f32],
    min_ms: f64,
    now: &mut dyn FnMut() -> f64,
) -> LayerTime {
    let ms = time(min_ms, now, || pw.apply(x, rows, epilogue, dst));
    LayerTime {
        name,
        kind: "1x1",
        madds: (rows * pw.cin() * pw.cout()) as u64,
        ms,
    }
}

/// The pass of [`Backbone::features_with`], layer by layer, each layer timed alone.
fn layers(
    net: &Backbone,
    rgb: &[u8],
    side: usize,
    input: usize,
    min_ms: f64,
    now: &mut dyn FnMut() -> f64,
) -> Vec<LayerTime> {
    let mut out = Vec::new();
    let mut x = Vec::new();
    to_input(rgb, side, input, &mut x);
    let mut n = net.stem.out_side(input, 2);
    let mut a = vec![0.0f32; n * n * STEM_CHANNELS];
    let ms = time(min_ms, now, || net.stem.conv(&x, input, input, 2, &mut a));
    out.push(LayerTime {
        name: "stem".into(),
        kind: "stem",
        madds: (n * n * STEM_CHANNELS * 27) as u64,
        ms,
    });
    for (i, block) in net.blocks.iter().enumerate() {
        let spec = block.spec;
        let (mid, rows) = (spec.mid(), n * n);
        let expanded = match &block.expand {
            Some(expand) => {
                let mut e = vec![0.0f32; rows * mid];
                let name = format!("blocks.{i}.expand");
                out.push(pointwise(
                    name,
                    expand,
                    &a,
                    rows,
                    Epilogue::Relu6,
                    &mut e,
                    min_ms,
                    now,
                ));
                e
            }
            None => a.clone(),
        };
        let m = block.depthwise.out_side(n, spec.stride);
        let mut dw = vec![0.0f32; m * m * mid];
        let ms = time(min_ms, now, || {
            block
                .depthwise
                .depthwise(&expanded, n, n, spec.stride, &mut dw)
        });
        out.push(LayerTime {
            name: format!("blocks.{i}.depthwise"),
            kind: "depthwise",
            madds: (m * m * mid * spec.kernel * spec.kernel) as u64,
            ms,
        });
        let mut proj = vec![0.0f32; m * m * spec.cout];
        let epilogue = if spec.residual() {
            Epilogue::Residual(&a)
        } else {
            Epilogue::Linear
        };
        let name = format!("blocks.{i}.project");
        out.push(pointwise(
            name,
            &block.project,
            &dw,
            m * m,
            epilogue,
            &mut proj,
            min_ms,
            now,
        ));
        a = proj;
        n = m;
    }
    let mut map = vec![0.0f32; n * n * FEATURES];
    out.push(pointwise(
        "head".into(),
        &net.head,
        &a,
        n * n,
        Epilogue::Relu6,
        &mut map,
        min_ms,
        now,
    ));
    out
}
