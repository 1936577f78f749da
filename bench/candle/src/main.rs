//! Times EfficientNet-Lite0 with candle natively; see README.md.

use std::time::Instant;

use candle_bench::run::{features_in_batches, first_features};
use candle_bench::{name, synthetic, Depthwise, Net, Result, MULTIPLY_ADDS_128};
use candle_core::Device;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut path = String::from("/work/cache/backbone-ref.safetensors");
    let mut n = 64usize;
    let mut side = 128usize;
    let mut raw: Option<String> = None;
    let mut modes = vec![Depthwise::Groups, Depthwise::Shifts];
    while let Some(a) = args.next() {
        match a.as_str() {
            "--backbone" => path = args.next().ok_or("--backbone PATH")?,
            "--images" => n = args.next().ok_or("--images N")?.parse()?,
            "--side" => side = args.next().ok_or("--side PX")?.parse()?,
            "--raw" => raw = Some(args.next().ok_or("--raw FILE")?),
            "--depthwise" => {
                modes = match args.next().as_deref() {
                    Some("groups") => vec![Depthwise::Groups],
                    Some("shifts") => vec![Depthwise::Shifts],
                    _ => return Err("--depthwise groups|shifts".into()),
                }
            }
            other => return Err(format!("unknown argument {other} (see README.md)").into()),
        }
    }
    let bytes = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
    let net = Net::load(&bytes, &Device::Cpu)?;
    println!(
        "candle-core 0.11; threads {}; backbone {path}; {side} x {side} px",
        candle_core::utils::get_num_threads()
    );

    // Features of one image, to compare with another implementation.
    let first = match &raw {
        Some(file) => {
            let v = std::fs::read(file)?;
            if v.len() != side * side * 3 {
                return Err(format!("{file}: {} bytes, not {side} x {side} x 3", v.len()).into());
            }
            v
        }
        None => synthetic(0, side),
    };
    for &dw in &modes {
        println!("{}", first_features(&net, &first, side, dw)?);
    }

    let images: Vec<Vec<u8>> = (0..n).map(|k| synthetic(k, side)).collect();
    let madds = MULTIPLY_ADDS_128 * (side * side) as f64 / (128.0 * 128.0);
    for &dw in &modes {
        for batch_size in [1usize, 32] {
            // One warm-up batch, then every image once.
            features_in_batches(&net, &images[..batch_size.min(n)], side, batch_size, dw)?;
            let start = Instant::now();
            let done = features_in_batches(&net, &images, side, batch_size, dw)?;
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{} batch {batch_size:2}: {done} images in {secs:.2} s: {:.1} ms/image, \
                 {:.1} GFLOP/s",
                name(dw),
                secs * 1e3 / done as f64,
                2.0 * madds * done as f64 / secs / 1e9
            );
        }
    }
    Ok(())
}
