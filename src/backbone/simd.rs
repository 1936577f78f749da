//! The spatial convolutions' inner loops with explicit simd128 operations, for the wasm build
//! (the compiler does not vectorise the portable loops of [`super::spatial`] there). The same
//! operations in the same order as the portable code: each lane is one output channel, summed
//! from +0 over the taps in order with a separate multiply and add, then `+ bias`, then ReLU6
//! as `pmin(6, pmax(0, v))` (`v < 6 ? v : 6` of `0 < v ? v : 0`, exactly [`super::relu6`]).

use core::arch::wasm32::*;

use super::relu6;
use super::spatial::Window;

/// Whether the window's last tap stays inside `x` (`xc` values a pixel) and `weight`
/// (`wc` values a tap): then so does every tap.
fn inside(win: &Window, x: &[f32], xc: usize, weight: &[f32], wc: usize) -> bool {
    if win.ny == 0 || win.nx == 0 {
        return true;
    }
    let (p, t) = win.at(win.ny - 1, win.nx - 1);
    (p + 1) * xc <= x.len() && (t + 1) * wc <= weight.len()
}

#[inline(always)]
fn finish(acc: v128, bias: *const f32, dst: *mut f32) {
    // SAFETY: the callers pass pointers with 4 values behind them.
    unsafe {
        let v = f32x4_add(acc, v128_load(bias as *const v128));
        let v = f32x4_pmin(f32x4_splat(6.0), f32x4_pmax(f32x4_splat(0.0), v));
        v128_store(dst as *mut v128, v);
    }
}

/// `V` vectors (`4 V` channels from `g`) of `P` neighbouring depthwise output pixels
/// (`dst` `[P, c]`, pixel `i` reading `i * step` input pixels to the right), each weight
/// vector loaded once for the `P` pixels.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn depthwise_group<const V: usize, const P: usize>(
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    win: &Window,
    step: usize,
    dst: &mut [f32],
    g: usize,
) {
    let c = bias.len();
    let mut acc = [[f32x4_splat(0.0); V]; P];
    // SAFETY: the caller checked that every tap of every pixel is inside `x` and `weight`,
    // `g + 4 V <= c` and `dst` holds `P c` values.
    unsafe {
        for a in 0..win.ny {
            for b in 0..win.nx {
                let (p, t) = win.at(a, b);
                let xp = x.as_ptr().add(p * c + g);
                let wp = weight.as_ptr().add(t * c + g);
                for v in 0..V {
                    let wv = v128_load(wp.add(4 * v) as *const v128);
                    for (i, acc_i) in acc.iter_mut().enumerate() {
                        let xv = v128_load(xp.add(i * step * c + 4 * v) as *const v128);
                        acc_i[v] = f32x4_add(acc_i[v], f32x4_mul(xv, wv));
                    }
                }
            }
        }
        for (i, acc_i) in acc.iter().enumerate() {
            for (v, &acc_v) in acc_i.iter().enumerate() {
                let at = g + 4 * v;
                finish(
                    acc_v,
                    bias.as_ptr().add(at),
                    dst.as_mut_ptr().add(i * c + at),
                );
            }
        }
    }
}

/// `n = dst.len() / c` neighbouring output pixels of a depthwise convolution of
/// `c = bias.len()` channels (see `spatial::depthwise_pixels`).
pub(super) fn depthwise_pixels(
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    win: &Window,
    step: usize,
    dst: &mut [f32],
) {
    let c = bias.len();
    let n = dst.len() / c.max(1);
    let last = Window {
        ix0: win.ix0 + n.saturating_sub(1) * step,
        ..*win
    };
    assert!(n * c == dst.len() && inside(&last, x, c, weight, c));
    let mut g = 0;
    if n == 2 {
        while g + 16 <= c {
            depthwise_group::<4, 2>(x, weight, bias, win, step, dst, g);
            g += 16;
        }
        while g + 4 <= c {
            depthwise_group::<1, 2>(x, weight, bias, win, step, dst, g);
            g += 4;
        }
    } else {
        while g + 16 <= c {
            depthwise_group::<4, 1>(x, weight, bias, win, step, dst, g);
            g += 16;
        }
        while g + 4 <= c {
            depthwise_group::<1, 1>(x, weight, bias, win, step, dst, g);
            g += 4;
        }
    }
    for i in 0..n {
        for ch in g..c {
            let mut acc = 0.0f32;
            for a in 0..win.ny {
                for b in 0..win.nx {
                    let (p, t) = win.at(a, b);
                    acc += x[(p + i * step) * c + ch] * weight[t * c + ch];
                }
            }
            dst[i * c + ch] = relu6(acc + bias[ch]);
        }
    }
}

/// `V` vectors (`4 V` output channels from `g`) of one stem output pixel.
#[inline(always)]
fn stem_group<const V: usize>(
    x: &[f32],
    cin: usize,
    weight: &[f32],
    bias: &[f32],
    win: &Window,
    dst: &mut [f32],
    g: usize,
) {
    let cout = dst.len();
    let mut acc = [f32x4_splat(0.0); V];
    // SAFETY: `inside` (checked by the caller) bounds every tap; `g + 4 V <= cout`.
    unsafe {
        for a in 0..win.ny {
            for b in 0..win.nx {
                let (p, t) = win.at(a, b);
                for ci in 0..cin {
                    let xv = f32x4_splat(*x.as_ptr().add(p * cin + ci));
                    let wp = weight.as_ptr().add((t * cin + ci) * cout + g);
                    for (v, acc_v) in acc.iter_mut().enumerate() {
                        let wv = v128_load(wp.add(4 * v) as *const v128);
                        *acc_v = f32x4_add(*acc_v, f32x4_mul(xv, wv));
                    }
                }
            }
        }
        for (v, &acc_v) in acc.iter().enumerate() {
            finish(
                acc_v,
                bias.as_ptr().add(g + 4 * v),
                dst.as_mut_ptr().add(g + 4 * v),
            );
        }
    }
}

/// One output pixel of the stem (see `spatial::stem_pixel`).
pub(super) fn stem_pixel(
    x: &[f32],
    cin: usize,
    weight: &[f32],
    bias: &[f32],
    win: &Window,
    dst: &mut [f32],
) {
    let cout = dst.len();
    assert!(bias.len() >= cout && inside(win, x, cin, weight, cin * cout));
    let mut g = 0;
    while g + 32 <= cout {
        stem_group::<8>(x, cin, weight, bias, win, dst, g);
        g += 32;
    }
    while g + 4 <= cout {
        stem_group::<1>(x, cin, weight, bias, win, dst, g);
        g += 4;
    }
    for (co, d) in dst.iter_mut().enumerate().skip(g) {
        let mut acc = 0.0f32;
        for a in 0..win.ny {
            for b in 0..win.nx {
                let (p, t) = win.at(a, b);
                for ci in 0..cin {
                    acc += x[p * cin + ci] * weight[(t * cin + ci) * cout + co];
                }
            }
        }
        *d = relu6(acc + bias[co]);
    }
}
