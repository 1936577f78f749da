//! Converting the classic catvnoncat HDF5 files into a dataset blob (native only: the browser
//! reads the blob). Reading goes through the HDF5 C library (`hdf5-metno` bindings).

use std::path::Path;

use hdf5::types::FixedAscii;

use purrceptron::data::{sha256_hex, Dataset, Split, CLASSES};
use purrceptron::preprocess::SIDE;
use purrceptron::{Error, Result};

/// File names expected inside the source folder.
pub const TRAIN_FILE: &str = "train_catvnoncat.h5";
/// See [`TRAIN_FILE`].
pub const TEST_FILE: &str = "test_catvnoncat.h5";

/// Reads `DIR/train_catvnoncat.h5` and `DIR/test_catvnoncat.h5` (datasets `{train,test}_set_x`
/// `(n, 64, 64, 3)` uint8, `{train,test}_set_y` `(n,)` integer 0/1, `list_classes`), checks
/// shapes and labels, and returns the dataset. `source_sha256` is the sha256 of the two files'
/// sha256 lines (`<hex>  <name>\n`, train first), as `sha256sum` prints them.
pub fn convert_dir(dir: &Path) -> Result<Dataset> {
    let mut sums = String::new();
    let mut splits = Vec::new();
    for (file, prefix) in [(TRAIN_FILE, "train"), (TEST_FILE, "test")] {
        let path = dir.join(file);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        sums.push_str(&format!("{}  {file}\n", sha256_hex(&bytes)));
        splits.push(read_split(&path, prefix)?);
    }
    let test = splits.pop().unwrap_or_default();
    let train = splits.pop().unwrap_or_default();
    Ok(Dataset {
        train,
        test,
        classes: CLASSES.map(String::from).to_vec(),
        source: format!("catvnoncat HDF5 ({TRAIN_FILE}, {TEST_FILE})"),
        source_sha256: sha256_hex(sums.as_bytes()),
    })
}

fn read_split(path: &Path, prefix: &str) -> Result<Split> {
    let fail = |reason: String| Error::Convert {
        path: path.display().to_string(),
        reason,
    };
    let file =
        hdf5::File::open(path).map_err(|e| fail(format!("not a readable HDF5 file ({e})")))?;
    let x_name = format!("{prefix}_set_x");
    let y_name = format!("{prefix}_set_y");
    let x = file
        .dataset(&x_name)
        .map_err(|e| fail(format!("no dataset `{x_name}` ({e})")))?;
    let y = file
        .dataset(&y_name)
        .map_err(|e| fail(format!("no dataset `{y_name}` ({e})")))?;
    let n = match y.shape()[..] {
        [n] => n,
        ref s => return Err(fail(format!("`{y_name}` has shape {s:?}, expected (n,)"))),
    };
    if x.shape() != [n, SIDE, SIDE, 3] {
        return Err(fail(format!(
            "`{x_name}` has shape {:?}, expected ({n}, {SIDE}, {SIDE}, 3)",
            x.shape()
        )));
    }
    let pixels = x
        .read_raw::<u8>()
        .map_err(|e| fail(format!("cannot read `{x_name}` as uint8 ({e})")))?;
    let labels = y
        .read_raw::<i64>()
        .map_err(|e| fail(format!("cannot read `{y_name}` as integers ({e})")))?;
    // Class indices as bytes; whether each names a class is checked by `Split::new`.
    let labels = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            u8::try_from(l).map_err(|_| fail(format!("`{y_name}`[{i}] is {l}, not a class index")))
        })
        .collect::<Result<Vec<u8>>>()?;
    if let Ok(classes) = file.dataset("list_classes") {
        let names = classes
            .read_raw::<FixedAscii<16>>()
            .map_err(|e| fail(format!("cannot read `list_classes` ({e})")))?;
        let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        if names != CLASSES {
            return Err(fail(format!(
                "`list_classes` is {names:?}, expected {CLASSES:?}"
            )));
        }
    }
    Split::new(pixels, labels, CLASSES.len()).map_err(|e| fail(format!("`{y_name}`: {e}")))
}
