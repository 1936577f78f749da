//! Our reader of the classic set's HDF5 files (`purrceptron::data::hdf5`) on the real files:
//! what it reads, and that a truncated or damaged file is an error, never a panic. That its
//! pixels and labels are the right ones is also checked by `tests/reference.rs`, whose numbers
//! come from numpy runs on the same files read by h5py (the HDF5 C library): the dataset
//! converted with it reproduces them exactly.

mod common;

use purrceptron::data::hdf5::{H5File, H5Type};

fn file(name: &str) -> Vec<u8> {
    std::fs::read(common::data_dir().join(name)).expect("the catvnoncat files are readable")
}

#[test]
fn reads_both_files() {
    // The course's files: 209 + 50 images of 64x64x3 bytes, labels as 8-byte integers, classes
    // as 7-byte strings (h5py's view of them, as printed by the course notebooks).
    for (name, prefix, n, cats) in [
        ("train_catvnoncat.h5", "train", 209, 72),
        ("test_catvnoncat.h5", "test", 50, 33),
    ] {
        let bytes = file(name);
        let h5 = H5File::parse(&bytes).unwrap();
        let (shape, pixels) = h5.read_u8(&format!("{prefix}_set_x")).unwrap();
        assert_eq!(shape, [n, 64, 64, 3]);
        assert_eq!(pixels.len(), n * 64 * 64 * 3);
        let (shape, labels) = h5.read_ints(&format!("{prefix}_set_y")).unwrap();
        assert_eq!(shape, [n]);
        assert!(labels.iter().all(|&l| l == 0 || l == 1));
        assert_eq!(labels.iter().filter(|&&l| l == 1).count(), cats);
        assert_eq!(h5.read_strings("list_classes").unwrap(), ["non-cat", "cat"]);
        assert_eq!(
            h5.dataset("list_classes").unwrap().dtype,
            H5Type::Str { size: 7 }
        );
        assert!(h5.dataset("nothing").is_none());
        assert!(h5.read_ints(&format!("{prefix}_set_x")).is_ok());
        assert!(h5.read_strings(&format!("{prefix}_set_y")).is_err());
    }
}

#[test]
fn every_truncated_prefix_is_an_error_or_the_same_data() {
    // A prefix that keeps every byte the datasets use may still read (HDF5 files can end with
    // unused space): then it must read the same data.
    let bytes = file("test_catvnoncat.h5");
    let whole = H5File::parse(&bytes).unwrap();
    let want = whole.read_u8("test_set_x").unwrap();
    let mut errors = 0;
    for len in 0..bytes.len() {
        match H5File::parse(&bytes[..len]) {
            Err(e) => {
                assert_eq!(e.kind().as_str(), "dataset", "{len}: {e}");
                errors += 1;
            }
            Ok(h5) => assert_eq!(h5.read_u8("test_set_x").unwrap(), want, "prefix of {len}"),
        }
    }
    assert!(errors > bytes.len() - 100, "{errors} errors");
}

#[test]
fn damaged_headers_never_panic() {
    // Every byte of the first 4 KiB (superblock, B-tree, symbol table, heap, object headers)
    // set to 0x00, 0xff and flipped: an error or a file, never a panic or a huge allocation.
    let bytes = file("test_catvnoncat.h5");
    let mut refused = 0;
    for i in 0..4096.min(bytes.len()) {
        for v in [0x00, 0xff, !bytes[i]] {
            let mut b = bytes.clone();
            b[i] = v;
            if H5File::parse(&b).is_err() {
                refused += 1;
            }
        }
    }
    assert!(refused > 0);
    let e = H5File::parse(b"\x89HDF\r\n\x1a\n").unwrap_err();
    assert!(e.to_string().contains("past the end"), "{e}");
    let e = H5File::parse(b"not an hdf5 file at all").unwrap_err();
    assert!(e.to_string().contains("not an HDF5 file"), "{e}");
}
