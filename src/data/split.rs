//! One split of a dataset: images and their labels.

use ndarray::{Array2, ShapeBuilder};

use crate::preprocess::PIXELS;
use crate::{Error, Result};

/// One split (train or test): `len()` images of 64x64x3 bytes and their labels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// `len() * 12288` bytes, image after image, each row-major (row, column, channel).
    pub pixels: Vec<u8>,
    /// One label per image: the index of its class.
    pub labels: Vec<u8>,
}

impl Split {
    /// Checks that pixels and labels fit together and that every label names one of `classes`
    /// classes.
    pub fn new(pixels: Vec<u8>, labels: Vec<u8>, classes: usize) -> Result<Self> {
        if pixels.len() != labels.len() * PIXELS {
            return Err(Error::Shape(format!(
                "{} pixel bytes for {} labels (expected {} bytes)",
                pixels.len(),
                labels.len(),
                labels.len() * PIXELS
            )));
        }
        crate::check::labels(&labels, classes)?;
        Ok(Split { pixels, labels })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The 12288 bytes of image `i` (panics if `i >= len()`, like slice indexing).
    pub fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i * PIXELS..(i + 1) * PIXELS]
    }

    /// The input matrix `(12288, len())`: one image per column, pixels row-major
    /// (row, column, channel) scaled to [0, 1] by `x / 255`, as the classic notebook's
    /// `x.reshape(m, -1).T / 255`.
    pub fn to_matrix(&self) -> Array2<f64> {
        pixels_to_matrix(&self.pixels)
    }

    /// How many images carry `label`.
    pub fn count(&self, label: u8) -> usize {
        self.labels.iter().filter(|&&l| l == label).count()
    }

    /// Images of each of `classes` classes, by label, in one pass.
    pub fn per_class(&self, classes: usize) -> Vec<usize> {
        let mut counts = vec![0; classes];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(usize::from(l)) {
                *c += 1;
            }
        }
        counts
    }

    /// Fraction of the split that the most common class makes up (the "always guess the
    /// majority" accuracy), in 0..=1; 0 for an empty split.
    pub fn majority_rate(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        let mut counts = [0usize; 256];
        for &l in &self.labels {
            counts[usize::from(l)] += 1;
        }
        let most = counts.iter().copied().max().unwrap_or(0);
        most as f64 / self.len() as f64
    }
}

/// `(12288, n)` inputs in [0, 1] from `n` images of 12288 bytes each (a trailing partial image
/// is ignored).
pub fn pixels_to_matrix(pixels: &[u8]) -> Array2<f64> {
    let n = pixels.len() / PIXELS;
    let data = pixels[..n * PIXELS]
        .iter()
        .map(|&p| crate::kernels::UNIT[usize::from(p)])
        .collect();
    // Image-major bytes are exactly the column-major layout of the (12288, n) matrix.
    Array2::from_shape_vec((PIXELS, n).f(), data).unwrap_or_else(|_| Array2::zeros((PIXELS, 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_is_the_most_common_class_whichever_it_is() {
        let img = vec![0u8; PIXELS];
        let s = Split::new(img.repeat(4), vec![0, 1, 1, 1], 2).unwrap();
        assert_eq!(s.majority_rate(), 0.75);
        let s = Split::new(img.repeat(4), vec![0, 0, 0, 1], 2).unwrap();
        assert_eq!(s.majority_rate(), 0.75);
        let s = Split::new(img.repeat(5), vec![0, 1, 2, 2, 1], 3).unwrap();
        assert_eq!(s.majority_rate(), 0.4);
        assert_eq!(Split::default().majority_rate(), 0.0);
        assert!(Split::new(img.repeat(2), vec![0, 2], 2).is_err());
        assert!(Split::new(img, vec![0, 1], 2).is_err());
    }
}
