//! Eigen-decomposition of a small symmetric matrix by the cyclic Jacobi method (ZCA whitening
//! needs the 108 x 108 covariance of the patches). Jacobi is short, unconditionally convergent
//! on symmetric input, and uses only `+ - * / sqrt`, so every platform rounds it identically.

use crate::{Error, Result};

/// Most sweeps before giving up; quadratic convergence needs well under 20 on any input.
const MAX_SWEEPS: usize = 60;

/// `(values, vectors)` of the symmetric `n x n` row-major matrix `a` (only symmetric input is
/// meaningful; the lower triangle is read as given): `a = V diag(values) Vᵀ`, with `values` in
/// ascending order and `vectors` the row-major `n x n` matrix `V` whose column `i` is the unit
/// eigenvector of `values[i]`.
pub fn symmetric_eigen(a: &[f64], n: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    if a.len() != n * n {
        return Err(Error::Shape(format!(
            "eigen-decomposition of a {n} x {n} matrix given {} values",
            a.len()
        )));
    }
    if let Some(bad) = a.iter().find(|v| !v.is_finite()) {
        return Err(Error::Numerical(format!(
            "eigen-decomposition of a matrix holding {bad}"
        )));
    }
    let mut a = a.to_vec();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let frob: f64 = a.iter().map(|x| x * x).sum();
    let mut converged = false;
    for _ in 0..MAX_SWEEPS {
        let off: f64 = (0..n)
            .flat_map(|p| (p + 1..n).map(move |q| (p, q)))
            .map(|(p, q)| a[p * n + q] * a[p * n + q])
            .sum();
        // Off-diagonal mass down to rounding level of the whole matrix.
        if off <= 1e-30 * frob || off == 0.0 {
            converged = true;
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                // Rotation that zeroes a[p][q] (Numerical Recipes' `jacobi`, P_pq = s, P_qp = -s).
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                a[p * n + q] = 0.0;
                a[q * n + p] = 0.0;
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    if !converged {
        return Err(Error::Numerical(format!(
            "the Jacobi eigen-decomposition of a {n} x {n} matrix did not converge in {MAX_SWEEPS} sweeps"
        )));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a[i * n + i].total_cmp(&a[j * n + j]));
    let values = order.iter().map(|&i| a[i * n + i]).collect();
    let mut vectors = vec![0.0; n * n];
    for (new, &old) in order.iter().enumerate() {
        for k in 0..n {
            vectors[k * n + new] = v[k * n + old];
        }
    }
    Ok((values, vectors))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn two_by_two_by_hand() {
        // [[2, 1], [1, 2]]: eigenvalues 1 and 3, eigenvectors (1, -1)/√2 and (1, 1)/√2.
        let (values, v) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2).unwrap();
        assert!(
            close(values[0], 1.0, 1e-15) && close(values[1], 3.0, 1e-15),
            "{values:?}"
        );
        let h = 0.5f64.sqrt();
        // Column 0 ∝ (1, -1), column 1 ∝ (1, 1), up to sign.
        assert!(close(v[0].abs(), h, 1e-15) && close(v[0] + v[2], 0.0, 1e-15));
        assert!(close(v[1].abs(), h, 1e-15) && close(v[1] - v[3], 0.0, 1e-15));
    }

    #[test]
    fn tridiagonal_three_by_three_by_hand() {
        // The second-difference matrix: eigenvalues 2 - √2, 2, 2 + √2.
        let a = [2.0, -1.0, 0.0, -1.0, 2.0, -1.0, 0.0, -1.0, 2.0];
        let (values, _) = symmetric_eigen(&a, 3).unwrap();
        let want = [2.0 - 2f64.sqrt(), 2.0, 2.0 + 2f64.sqrt()];
        for (g, w) in values.iter().zip(want) {
            assert!(close(*g, w, 1e-14), "{values:?} vs {want:?}");
        }
    }

    #[test]
    fn diagonal_and_empty() {
        let (values, v) = symmetric_eigen(&[3.0, 0.0, 0.0, -1.0], 2).unwrap();
        assert_eq!(values, vec![-1.0, 3.0]);
        assert_eq!(
            v.iter().map(|x| x.abs()).collect::<Vec<_>>(),
            vec![0.0, 1.0, 1.0, 0.0]
        );
        assert_eq!(symmetric_eigen(&[], 0).unwrap(), (vec![], vec![]));
    }

    #[test]
    fn reconstructs_a_108_by_108_matrix_with_orthonormal_vectors() {
        let n = 108;
        let b: Vec<f64> = (0..n * n)
            .map(|i| ((i * 7919 % 1009) as f64 / 1009.0) - 0.5)
            .collect();
        // a = b bᵀ: symmetric, positive semi-definite, like a covariance.
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| b[i * n + k] * b[j * n + k]).sum();
            }
        }
        let (values, v) = symmetric_eigen(&a, n).unwrap();
        assert!(values.windows(2).all(|w| w[0] <= w[1]));
        assert!(values[0] > -1e-9);
        for i in 0..n {
            for j in 0..n {
                let vtv: f64 = (0..n).map(|k| v[k * n + i] * v[k * n + j]).sum();
                assert!(
                    close(vtv, f64::from(u8::from(i == j)), 1e-12),
                    "VᵀV[{i}][{j}] = {vtv}"
                );
                let rec: f64 = (0..n)
                    .map(|k| v[i * n + k] * values[k] * v[j * n + k])
                    .sum();
                assert!(
                    close(rec, a[i * n + j], 1e-9),
                    "a[{i}][{j}]: {rec} vs {}",
                    a[i * n + j]
                );
            }
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            symmetric_eigen(&[1.0, 2.0], 2),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            symmetric_eigen(&[1.0, f64::NAN, f64::NAN, 1.0], 2),
            Err(Error::Numerical(_))
        ));
    }
}
