//! Training inputs, as real features or as image bytes, and the products of the first layer
//! with them.

use std::sync::Arc;

use ndarray::Array2;

use crate::kernels::{self, Panels};
use crate::{Error, Result};

/// Training inputs: `m` examples of `n_x` features (the model's `X` is `(n_x, m)`).
#[derive(Clone, Debug)]
pub enum Inputs {
    /// Real-valued features, one example per row: `(m, n_x)` row-major.
    Examples(Array2<f64>),
    /// `m` images of `n_x` bytes each, one after the other; the model sees `byte / 255`.
    /// `gram`: their exact Gram matrix ([`kernels::gram_u8`], `m x m`) when it was computed
    /// beforehand (see [`with_gram`](Inputs::with_gram)).
    Pixels {
        bytes: Vec<u8>,
        n_x: usize,
        gram: Option<Arc<Vec<u32>>>,
    },
}

impl From<Array2<f64>> for Inputs {
    /// From the model's `X` `(n_x, m)`, one example per column.
    fn from(x: Array2<f64>) -> Self {
        Inputs::Examples(x.reversed_axes().as_standard_layout().into_owned())
    }
}

impl Inputs {
    /// `m` images of `n_x` bytes, image after image (e.g. a dataset split's pixels with
    /// `n_x = 12288`). Kept as bytes: 8 times smaller than `f64` features.
    pub fn pixels(bytes: Vec<u8>, n_x: usize) -> Result<Self> {
        if n_x == 0 || bytes.len() % n_x != 0 {
            return Err(Error::Shape(format!(
                "{} bytes are not a whole number of {n_x}-byte images",
                bytes.len()
            )));
        }
        Ok(Inputs::Pixels {
            bytes,
            n_x,
            gram: None,
        })
    }

    /// `(n_x, m)`: features, examples.
    pub fn dim(&self) -> (usize, usize) {
        match self {
            Inputs::Examples(xt) => (xt.ncols(), xt.nrows()),
            Inputs::Pixels { bytes, n_x, .. } => (*n_x, bytes.len() / n_x),
        }
    }

    /// Pixels whose exact Gram matrix `gram` ([`kernels::gram_u8`] of these bytes, `m x m`)
    /// was computed beforehand: training uses it instead of computing it again. `None` changes
    /// nothing; a matrix of another size, or for real-valued features, is refused.
    pub fn with_gram(self, gram: Option<Arc<Vec<u32>>>) -> Result<Self> {
        let Some(k) = gram else {
            return Ok(self);
        };
        let (_, m) = self.dim();
        match self {
            Inputs::Pixels { bytes, n_x, .. } if k.len() == m * m => Ok(Inputs::Pixels {
                bytes,
                n_x,
                gram: Some(k),
            }),
            _ => Err(Error::Shape(format!(
                "a Gram matrix of {} values for {m} images of pixels",
                k.len()
            ))),
        }
    }

    /// Calls `f(j, example_j)` for every example, as `f64` features.
    fn for_each_example(&self, mut f: impl FnMut(usize, &[f64])) {
        match self {
            Inputs::Examples(xt) => {
                for (j, row) in xt.outer_iter().enumerate() {
                    f(j, row.as_slice().unwrap_or(&row.to_vec()));
                }
            }
            Inputs::Pixels { bytes, n_x, .. } => {
                let mut buf = vec![0.0; *n_x];
                for (j, image) in bytes.chunks_exact(*n_x).enumerate() {
                    kernels::unit_scale(image, &mut buf);
                    f(j, &buf);
                }
            }
        }
    }

    /// The model's `X` `(n_x, m)` (row-major), for the textbook solver.
    pub(super) fn to_matrix(&self) -> Array2<f64> {
        let (n_x, m) = self.dim();
        let mut x = Array2::zeros((n_x, m));
        self.for_each_example(|j, e| x.column_mut(j).assign(&ndarray::aview1(e)));
        x
    }

    /// `K = XᵀX` `(m, m)`, stored for products. From bytes it is exact integer arithmetic,
    /// scaled once by 1/255².
    pub(super) fn gram(&self) -> Panels {
        let (_, m) = self.dim();
        let k = match self {
            Inputs::Pixels { gram: Some(k), .. } => {
                k.iter().map(|&v| f64::from(v) / 65025.0).collect()
            }
            Inputs::Pixels { bytes, n_x, .. } => kernels::gram_u8(bytes, *n_x)
                .into_iter()
                .map(|v| f64::from(v) / 65025.0)
                .collect(),
            Inputs::Examples(xt) => {
                let mut k = vec![0.0; m * m];
                for i in 0..m {
                    for j in i..m {
                        let v = kernels::dot(row(xt, i), row(xt, j));
                        k[i * m + j] = v;
                        k[j * m + i] = v;
                    }
                }
                k
            }
        };
        Panels::new(&k, m, m)
    }

    /// `W X` `(r, m)` for `w` `(r, n_x)`.
    pub(super) fn project(&self, w: &Array2<f64>) -> Array2<f64> {
        if let Inputs::Pixels { bytes, n_x, .. } = self {
            return project_pixels(bytes, *n_x, w);
        }
        let w = w.as_standard_layout();
        let mut out = Array2::zeros((w.nrows(), self.dim().1));
        self.for_each_example(|j, e| {
            for (r, w_r) in w.outer_iter().enumerate() {
                out[[r, j]] = kernels::dot(w_r.as_slice().unwrap_or(&[]), e);
            }
        });
        out
    }

    /// `C Xᵀ` `(r, n_x)` for `c` `(r, m)`.
    pub(super) fn back_project(&self, c: &Array2<f64>) -> Array2<f64> {
        let mut out = Array2::zeros((c.nrows(), self.dim().0));
        self.for_each_example(|j, e| {
            for (r, mut out_r) in out.outer_iter_mut().enumerate() {
                out_r.scaled_add(c[[r, j]], &ndarray::aview1(e));
            }
        });
        out
    }
}

/// `W X` `(r, m)` for `w` `(r, n_x)` and `m` images of `n_x` bytes (`X` = bytes / 255).
pub(super) fn project_pixels(bytes: &[u8], n_x: usize, w: &Array2<f64>) -> Array2<f64> {
    let w = w.as_standard_layout();
    let m = bytes.len().checked_div(n_x).unwrap_or(0);
    let r = w.nrows();
    let mut out = Array2::zeros((r, m));
    let (mut buf0, mut buf1) = (vec![0.0; n_x], vec![0.0; n_x]);
    let w_row = |i: usize| w.row(i).to_slice().unwrap_or(&[]);
    // Two images against two weight rows per kernel call (a last odd image pairs with itself);
    // a last odd row, or the only one (logistic regression), against the two images alone. Each
    // product equals `kernels::dot` bit for bit.
    for j in (0..m).step_by(2) {
        let j1 = (j + 1).min(m - 1);
        kernels::unit_scale(&bytes[j * n_x..(j + 1) * n_x], &mut buf0);
        kernels::unit_scale(&bytes[j1 * n_x..(j1 + 1) * n_x], &mut buf1);
        for i in (0..r).step_by(2) {
            if i + 1 == r {
                let d = kernels::dot_1x2(w_row(i), &buf0, &buf1);
                out[[i, j]] = d[0];
                out[[i, j1]] = d[1];
                continue;
            }
            let i1 = i + 1;
            let d = kernels::dot_2x2(w_row(i), w_row(i1), &buf0, &buf1);
            out[[i, j]] = d[0];
            out[[i, j1]] = d[1];
            out[[i1, j]] = d[2];
            out[[i1, j1]] = d[3];
        }
    }
    out
}

/// Row `i` of a row-major matrix as a slice.
fn row(a: &Array2<f64>, i: usize) -> &[f64] {
    let n = a.ncols();
    a.as_slice().map_or(&[][..], |s| &s[i * n..(i + 1) * n])
}

/// A split's images as a network's training inputs, kept as bytes (the network widens them
/// itself, once).
impl From<&crate::data::Split> for Inputs {
    fn from(split: &crate::data::Split) -> Inputs {
        Inputs::Pixels {
            bytes: split.pixels.clone(),
            n_x: crate::preprocess::PIXELS,
            gram: None,
        }
    }
}
