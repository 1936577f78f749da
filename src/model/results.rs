//! The results of classifying many photos as a CSV file: the page's "Export results" and
//! `purrceptron predict --csv` both write it with this code, so the same model and files give
//! the same bytes.
//!
//! One header line, `file,class,` then one column per class name (index = label) and `error`;
//! then one line per photo, sorted by file name (bytewise, so the order a folder was read in
//! does not matter): the file name, the class predicted, each class's probability with six
//! decimals, and an empty `error`; a photo that could not be classified has empty class and
//! probabilities and the error's message. Fields with a comma, a quote or a line break are
//! quoted (RFC 4180); lines end with CRLF, as RFC 4180 and spreadsheets expect.

use serde::Deserialize;

use super::Classification;
use crate::{Error, Result};

/// One photo's result as the page keeps it: the class and every class's probability, or the
/// error that kept it from being classified.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Row {
    pub file: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub probabilities: Option<Vec<f64>>,
    #[serde(default)]
    pub error: Option<String>,
}

/// The rows of a results file, collected in any order.
#[derive(Clone, Debug, Default)]
pub struct Results {
    classes: Vec<String>,
    rows: Vec<(String, String)>,
}

impl Results {
    /// An empty file for a model of `classes` (names, index = label).
    pub fn new(classes: &[String]) -> Results {
        Results {
            classes: classes.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds the classification of the photo named `file` (its probabilities must be one per
    /// class; other values are written as they are).
    pub fn add(&mut self, file: &str, c: &Classification) {
        self.add_probabilities(file, &c.label, &c.probabilities);
    }

    /// Adds a photo named `file`, classified as `label` with `probabilities` (one per class).
    pub fn add_probabilities(&mut self, file: &str, label: &str, probabilities: &[f64]) {
        let mut line = vec![field(file), field(label)];
        line.extend(probabilities.iter().map(|p| format!("{p:.6}")));
        line.push(String::new());
        self.rows.push((file.to_string(), line.join(",")));
    }

    /// Adds a photo named `file` that could not be classified, with the reason.
    pub fn add_error(&mut self, file: &str, error: &str) {
        let mut line = vec![field(file), String::new()];
        line.extend(self.classes.iter().map(|_| String::new()));
        line.push(field(error));
        self.rows.push((file.to_string(), line.join(",")));
    }

    /// The file of `rows` for a model of `classes`: each row has a label and one probability
    /// per class in [0, 1], or an error; anything else is [`Error::Shape`] naming the row.
    pub fn from_rows(classes: &[String], rows: &[Row]) -> Result<Results> {
        let mut results = Results::new(classes);
        for (i, row) in rows.iter().enumerate() {
            match (&row.label, &row.probabilities, &row.error) {
                (Some(label), Some(p), None)
                    if p.len() == classes.len() && p.iter().all(|v| (0.0..=1.0).contains(v)) =>
                {
                    results.add_probabilities(&row.file, label, p)
                }
                (None, None, Some(error)) => results.add_error(&row.file, error),
                _ => {
                    return Err(Error::Shape(format!(
                        "result {i} ({}): expected a class with {} probabilities in [0, 1], or \
                         an error",
                        row.file,
                        classes.len()
                    )))
                }
            }
        }
        Ok(results)
    }

    /// Photos added so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The whole file: header, then the rows sorted by file name (stable for equal names).
    pub fn to_csv(&self) -> String {
        let mut header = vec!["file".to_string(), "class".to_string()];
        header.extend(self.classes.iter().map(|c| field(c)));
        header.push("error".to_string());
        let mut rows: Vec<&(String, String)> = self.rows.iter().collect();
        rows.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut out = header.join(",");
        out.push_str("\r\n");
        for (_, line) in rows {
            out.push_str(line);
            out.push_str("\r\n");
        }
        out
    }
}

/// One CSV field: quoted, its quotes doubled, when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_by_hand() {
        let classes: Vec<String> = ["ripe", "un,ripe", "no \"fruit\""]
            .map(String::from)
            .to_vec();
        let mut r = Results::new(&classes);
        r.add_probabilities("b.jpg", "ripe", &[0.5, 0.25, 0.25]);
        r.add_error("a, the \"first\".png", "not an image");
        r.add_probabilities("c\nd.jpg", "un,ripe", &[0.1234567, 0.8765433, 0.0]);
        assert_eq!(r.len(), 3);
        assert_eq!(
            r.to_csv(),
            "file,class,ripe,\"un,ripe\",\"no \"\"fruit\"\"\",error\r\n\
             \"a, the \"\"first\"\".png\",,,,,not an image\r\n\
             b.jpg,ripe,0.500000,0.250000,0.250000,\r\n\
             \"c\nd.jpg\",\"un,ripe\",0.123457,0.876543,0.000000,\r\n"
        );
    }

    #[test]
    fn rows_as_the_page_keeps_them() {
        let classes = ["non-cat".to_string(), "cat".to_string()];
        let row = |label: Option<&str>, p: Option<Vec<f64>>, error: Option<&str>| Row {
            file: "a.png".into(),
            label: label.map(String::from),
            probabilities: p,
            error: error.map(String::from),
        };
        let r = Results::from_rows(
            &classes,
            &[
                row(Some("cat"), Some(vec![0.25, 0.75]), None),
                row(None, None, Some("broken")),
            ],
        )
        .unwrap();
        assert_eq!(
            r.to_csv(),
            "file,class,non-cat,cat,error\r\na.png,cat,0.250000,0.750000,\r\na.png,,,,broken\r\n"
        );
        for bad in [
            row(Some("cat"), Some(vec![0.25]), None),
            row(Some("cat"), Some(vec![0.25, 1.5]), None),
            row(Some("cat"), None, None),
            row(Some("cat"), Some(vec![0.5, 0.5]), Some("both")),
            row(None, None, None),
        ] {
            let e = Results::from_rows(&classes, std::slice::from_ref(&bad)).unwrap_err();
            assert!(e.to_string().contains("result 0 (a.png)"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn empty() {
        let r = Results::new(&["non-cat".to_string(), "cat".to_string()]);
        assert!(r.is_empty());
        assert_eq!(r.to_csv(), "file,class,non-cat,cat,error\r\n");
    }
}
