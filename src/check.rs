//! Checks shared by every checked builder and every reader of labels, so that a range or a
//! label rule is written once.

use crate::{Error, Result};

/// `Ok` when every label is below `classes`; else [`Error::InvalidLabel`] for the first one
/// that is not.
pub fn labels(labels: &[u8], classes: usize) -> Result<()> {
    match labels
        .iter()
        .enumerate()
        .find(|(_, &l)| usize::from(l) >= classes)
    {
        Some((index, &label)) => Err(Error::InvalidLabel {
            index,
            label,
            classes,
        }),
        None => Ok(()),
    }
}

/// An integer hyper-parameter in `lo..=hi`; `expected` says so in words for the message.
pub fn int_in(
    name: &'static str,
    value: usize,
    lo: usize,
    hi: usize,
    expected: &'static str,
) -> Result<usize> {
    accept(name, value, (lo..=hi).contains(&value), expected)
}

/// A real hyper-parameter that is finite and passes `ok`; `expected` says the range in words.
pub fn real(
    name: &'static str,
    value: f64,
    ok: impl Fn(f64) -> bool,
    expected: &'static str,
) -> Result<f64> {
    accept(name, value, value.is_finite() && ok(value), expected)
}

fn accept<T: ToString>(
    name: &'static str,
    value: T,
    ok: bool,
    expected: &'static str,
) -> Result<T> {
    if ok {
        Ok(value)
    } else {
        Err(Error::InvalidParameter {
            name,
            value: value.to_string(),
            expected,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bad_label_is_named() {
        assert!(labels(&[0, 1, 1, 0], 2).is_ok());
        assert!(labels(&[0, 2, 1], 3).is_ok());
        match labels(&[0, 1, 2, 5], 2) {
            Err(Error::InvalidLabel {
                index: 2,
                label: 2,
                classes: 2,
            }) => {}
            other => panic!("expected the label at index 2, got {other:?}"),
        }
    }

    #[test]
    fn ranges_are_inclusive_and_reals_finite() {
        assert_eq!(int_in("n", 1, 1, 3, "1 to 3").ok(), Some(1));
        assert_eq!(int_in("n", 3, 1, 3, "1 to 3").ok(), Some(3));
        assert!(int_in("n", 0, 1, 3, "1 to 3").is_err());
        assert!(int_in("n", 4, 1, 3, "1 to 3").is_err());
        assert_eq!(real("x", 0.5, |x| x > 0.0, "> 0").ok(), Some(0.5));
        assert!(real("x", 0.0, |x| x > 0.0, "> 0").is_err());
        assert!(real("x", f64::NAN, |_| true, "finite").is_err());
        assert!(real("x", f64::INFINITY, |_| true, "finite").is_err());
        let message = real("lr", -1.0, |x| x > 0.0, "a number > 0")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            message.as_deref(),
            Some("invalid hyper-parameter lr = -1: a number > 0")
        );
    }
}
