//! `imagenet`: photos classified with no training, by the pretrained backbone and ImageNet's own
//! classifier (the page's no-training mode prints the same numbers).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;

use purrceptron::preprocess::Framing;
use purrceptron::Result;

use super::output::photos_exit_code;
use super::{load_backbone, read};

/// One line per photo: path, P(cat), label, the most likely cat class and its probability (or
/// the photo's error). Exit code 2 when some photos could not be read.
pub fn imagenet(
    backbone: &Path,
    photos: &[PathBuf],
    framing: Framing,
    json: bool,
) -> Result<ExitCode> {
    let net = load_backbone(backbone)?;
    let mut failed = 0;
    for path in photos {
        let shown = path.display().to_string();
        match read(path).and_then(|bytes| net.imagenet_photo(&bytes, framing)) {
            Ok(r) => {
                let v = &r.verdict;
                if json {
                    println!(
                        "{}",
                        json!({"path": shown, "probability": v.probability, "label": v.label,
                               "class": v.class, "class_name": v.class_name,
                               "class_probability": v.class_probability,
                               "width": r.width, "height": r.height, "format": r.format})
                    );
                } else {
                    println!(
                        "{shown}\t{:.6}\t{}\t{} {:.6}",
                        v.probability, v.label, v.class_name, v.class_probability
                    );
                }
            }
            Err(e) => {
                failed += 1;
                if json {
                    println!("{}", json!({"path": shown, "error": e.to_string()}));
                } else {
                    println!("{shown}\terror: {e}");
                }
            }
        }
    }
    Ok(photos_exit_code(failed, photos.len()))
}
