//! Photo preprocessing (recognise, size check, decode, crop/squash, resize, EXIF orientation)
//! on any bytes: a 64x64 RGB image or an error, never a panic, hang or oversized allocation
//! (run with `-malloc_limit_mb` above `MAX_DECODE_BYTES`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use purrceptron::preprocess::{preprocess, Framing, PIXELS};

fuzz_target!(|data: &[u8]| {
    // The length's parity picks the fit, so both paths are explored from one corpus.
    let fit = if data.len() % 2 == 1 { Framing::Squash } else { Framing::Crop };
    if let Ok(p) = preprocess(data, fit) {
        assert_eq!(p.pixels.len(), PIXELS);
        assert!(p.width >= 1 && p.height >= 1);
    }
});
