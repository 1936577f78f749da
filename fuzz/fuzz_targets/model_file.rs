//! Any bytes given as a model file are either a valid model or an `InvalidModel` error; a model
//! that loads round-trips, and predicts a finite probability for an image.
#![no_main]

use libfuzzer_sys::fuzz_target;
use purrceptron::model::PixelModel;
use purrceptron::model::Model;
use purrceptron::preprocess::PIXELS;

fuzz_target!(|data: &[u8]| {
    // Either kind (`network` or `features`), as the page and the CLI read them.
    if let Ok(m) = Model::from_bytes(data) {
        let again = m.to_bytes().expect("a loaded model serialises");
        assert_eq!(Model::from_bytes(&again).expect("and loads again"), m);
        let z = m.scores_pixels(&[128; PIXELS]).expect("one image");
        assert_eq!(z.len(), m.outputs());
        assert!(z.iter().all(|v| !v.is_nan()), "a logit of a valid model is NaN");
    }
});
