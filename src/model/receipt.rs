//! The receipt every model file carries: how the model was obtained and how well it did.

use serde::{Deserialize, Serialize};

/// How a model was obtained and how well it did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// [`crate::data::Dataset::content_sha256`] of the training data.
    pub dataset_sha256: String,
    /// Cost of the final weights on the training set.
    pub final_cost: f64,
    /// Accuracy on the train split, in [0, 1].
    pub train_accuracy: f64,
    /// Accuracy on the test split, in [0, 1]; `None` when the dataset had no test split.
    pub test_accuracy: Option<f64>,
    /// Iterations run (gradient descent, or the final fit's solver iterations).
    pub iterations_run: usize,
    /// When training ended, RFC 3339 UTC (e.g. `2026-11-29T06:30:00Z`); may be empty.
    pub created: String,
}

/// Formats Unix seconds as RFC 3339 UTC (`YYYY-MM-DDTHH:MM:SSZ`), for [`Receipt::created`].
pub fn rfc3339_utc(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    // Days to civil date: H. Hinnant, "chrono-Compatible Low-Level Date Algorithms".
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        // `date -u -d @1795933750 +%FT%TZ`
        assert_eq!(rfc3339_utc(1_795_933_750), "2026-11-29T06:29:10Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
    }
}
