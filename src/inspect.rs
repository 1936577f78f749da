//! What a model looks for: the first layer's weights drawn as images.
//!
//! The first layer multiplies each of its units' 12288 weights with the 12288 bytes of the image
//! the model sees (row, column, channel). Weight `i` of a unit is therefore drawn at the pixel
//! and channel that byte `i` comes from: the unit's weights become a 64x64 RGB picture, bright
//! where the unit wants the image bright in that channel, dark where it wants it dark.

use crate::network::Network;
use crate::preprocess::{PIXELS, SIDE};
use crate::{Error, Result};

/// Bytes of one RGBA weight image: `64 * 64 * 4` = 16 384.
pub const IMAGE_BYTES: usize = SIDE * SIDE * 4;

/// The first layer's weights as images, one per unit (logistic regression has one unit, its
/// only one): `(n1, 64, 64, 4)` RGBA bytes, unit after unit, ready for a canvas `ImageData`.
///
/// Each unit is scaled on its own, symmetrically around zero, so that the sign reads the same
/// in every image: with `m` the largest `|w|` of the unit, a weight `w` becomes
/// `round(127.5 + 127.5 w / m)` in its channel. Zero is mid-grey (128), `+m` is 255 and `-m` is
/// 0. A unit whose weights are all zero is uniformly grey. Alpha is 255.
///
/// Fails with [`Error::Shape`] when the network does not take 64x64 RGB images.
pub fn first_layer_rgba(network: &Network) -> Result<Vec<u8>> {
    let w1 = &network.weights()[0];
    if w1.ncols() != PIXELS {
        return Err(Error::Shape(format!(
            "the first layer takes {} inputs, not the {PIXELS} bytes of a {SIDE}x{SIDE} RGB image",
            w1.ncols()
        )));
    }
    let mut out = Vec::with_capacity(w1.nrows() * IMAGE_BYTES);
    for unit in w1.rows() {
        let m = unit.iter().fold(0.0f64, |m, w| m.max(w.abs()));
        let scale = if m > 0.0 { 127.5 / m } else { 0.0 };
        let level = |w: f64| (127.5 + w * scale).round().clamp(0.0, 255.0) as u8;
        for p in unit.to_vec().chunks_exact(3) {
            out.extend([level(p[0]), level(p[1]), level(p[2]), 255]);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};

    #[test]
    fn weights_map_to_levels_symmetric_around_grey() {
        let mut w1 = Array2::<f64>::zeros((2, PIXELS));
        // Unit 0: largest |w| is 2. Levels by hand: 127.5 + 127.5 * w / 2.
        w1[[0, 0]] = 2.0; // 255
        w1[[0, 1]] = -1.0; // 63.75 -> 64
        w1[[0, 2]] = 0.5; // 159.375 -> 159
        w1[[0, PIXELS - 1]] = -2.0; // 0, the blue channel of the last pixel

        // Unit 1 stays all zeros: uniformly grey.
        let w2 = Array2::<f64>::ones((1, 2));
        let net = Network::from_parts(vec![w1, w2], vec![Array1::zeros(2), Array1::zeros(1)])
            .expect("valid shapes");
        let img = first_layer_rgba(&net).expect("a 12288-input network");
        assert_eq!(img.len(), 2 * IMAGE_BYTES);
        assert_eq!(&img[..4], &[255, 64, 159, 255]);
        assert_eq!(&img[4..8], &[128, 128, 128, 255]);
        assert_eq!(&img[IMAGE_BYTES - 4..IMAGE_BYTES], &[128, 128, 0, 255]);
        assert!(img[IMAGE_BYTES..]
            .chunks_exact(4)
            .all(|p| p == [128, 128, 128, 255]));
    }

    #[test]
    fn a_network_on_other_inputs_is_refused() {
        let net = Network::from_parts(vec![Array2::ones((1, 5))], vec![Array1::zeros(1)])
            .expect("valid shapes");
        let e = first_layer_rgba(&net).unwrap_err().to_string();
        assert!(e.contains("takes 5 inputs"), "{e}");
    }
}
