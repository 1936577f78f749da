//! Any bytes given as a dataset blob are either a valid dataset or an `InvalidDataset` error;
//! a blob that loads survives a save/load round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use purrceptron::data::Dataset;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = Dataset::from_bytes(data) {
        let again = d.to_bytes().expect("a loaded dataset serialises");
        assert_eq!(Dataset::from_bytes(&again).expect("and loads again"), d);
    }
});
