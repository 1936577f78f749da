//! Data, independent of any model: splits of 64x64 RGB images with their labels, the dataset
//! file (a safetensors container, shared with model files), photos gathered one at a time
//! into a dataset, and the reader of the classic set's HDF5 files.

pub mod container;
pub mod dataset;
pub mod hdf5;
pub mod photoset;
mod split;

pub use container::{hex, sha256_hex};
pub use dataset::{
    check_classes, Dataset, CLASSES, FORMAT, MAX_CLASSES, MAX_CLASS_NAME, MIN_CLASSES, VERSION,
};
pub use photoset::{
    check_test_fraction, class_order, from_class_photos, from_photos, ClassCount, PhotoCounts,
    PhotoSet,
};
pub use split::{pixels_to_matrix, Split};
