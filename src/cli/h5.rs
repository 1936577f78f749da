//! Converting the classic catvnoncat HDF5 files into a dataset blob (native only: the browser
//! reads the blob). The files are read by our own reader of the part of HDF5 they use
//! (`purrceptron::data::hdf5`): no C library to install.

use std::path::Path;

use purrceptron::data::hdf5::H5File;
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
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let file =
        H5File::parse(&bytes).map_err(|e| fail(format!("not a readable HDF5 file ({e})")))?;
    let x_name = format!("{prefix}_set_x");
    let y_name = format!("{prefix}_set_y");
    let (x_shape, pixels) = file.read_u8(&x_name).map_err(|e| fail(e.to_string()))?;
    let (y_shape, labels) = file.read_ints(&y_name).map_err(|e| fail(e.to_string()))?;
    let n = match y_shape[..] {
        [n] => n,
        ref s => return Err(fail(format!("`{y_name}` has shape {s:?}, expected (n,)"))),
    };
    if x_shape != [n, SIDE, SIDE, 3] {
        return Err(fail(format!(
            "`{x_name}` has shape {x_shape:?}, expected ({n}, {SIDE}, {SIDE}, 3)"
        )));
    }
    // Class indices as bytes; whether each names a class is checked by `Split::new`.
    let labels = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            u8::try_from(l).map_err(|_| fail(format!("`{y_name}`[{i}] is {l}, not a class index")))
        })
        .collect::<Result<Vec<u8>>>()?;
    if file.dataset("list_classes").is_some() {
        let names = file
            .read_strings("list_classes")
            .map_err(|e| fail(e.to_string()))?;
        if names != CLASSES {
            return Err(fail(format!(
                "`list_classes` is {names:?}, expected {CLASSES:?}"
            )));
        }
    }
    Split::new(pixels, labels, CLASSES.len()).map_err(|e| fail(format!("`{y_name}`: {e}")))
}
