//! The classification with no training at all: a photo through the backbone and ImageNet's own
//! classifier, P(cat) the softmax mass of ImageNet's five domestic-cat classes, the most likely
//! of those five named, and a class-activation heat map of where it saw that class.

use super::forward::{cat_probability, Features};
use super::pointwise::Epilogue;
use super::{Backbone, CAT_CLASSES, CLASSES, FEATURES, INPUT_SIDE};
use crate::data::CLASSES as CLASSES_NAMES;
use crate::preprocess::{self, Framing};
use crate::{math, Error, Result};

/// ImageNet's domestic cats: class index and name (the synset's first lemma, as ImageNet's
/// class lists give it). Exactly [`CAT_CLASSES`], in order.
pub const CAT_CLASS_NAMES: [(usize, &str); 5] = [
    (281, "tabby cat"),
    (282, "tiger cat"),
    (283, "Persian cat"),
    (284, "Siamese cat"),
    (285, "Egyptian cat"),
];

/// What ImageNet's classifier says of one image's features.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// P(cat): the softmax over the 1000 classes summed over [`CAT_CLASSES`], in `[0, 1]`.
    pub probability: f64,
    /// `cat` when [`Verdict::probability`] > 0.5, else `non-cat` (the dataset's class names, as
    /// a trained model's verdict).
    pub label: &'static str,
    /// The cat class with the largest logit (one of [`CAT_CLASSES`]; the first on a tie).
    pub class: usize,
    /// Its name, from [`CAT_CLASS_NAMES`].
    pub class_name: &'static str,
    /// Its own softmax probability, in `[0, 1]`.
    pub class_probability: f64,
    /// The class-activation map of [`Verdict::class`]: at each of the `heat_side x heat_side`
    /// positions of [`Features::map`] (row-major, row 0 at the top), the class's logit computed
    /// from that position's features alone (classifier weights and bias). Their mean is the
    /// image's logit for the class, up to rounding: the map shows how each region moves it.
    pub heat: Vec<f32>,
    /// Side of [`Verdict::heat`] (the feature map's side: 4 at the 128-pixel input).
    pub heat_side: usize,
}

/// A photo classified by ImageNet's classifier, with the image the backbone saw.
#[derive(Clone, Debug, PartialEq)]
pub struct PhotoVerdict {
    pub verdict: Verdict,
    /// The image the backbone saw: `side x side` RGB, row-major, 3 bytes a pixel.
    pub pixels: Vec<u8>,
    /// Its side, [`INPUT_SIDE`] pixels.
    pub side: usize,
    /// The decoded original's size (after EXIF orientation) and format, as
    /// [`preprocess::Photo`] gives them.
    pub width: u32,
    pub height: u32,
    pub format: &'static str,
}

/// The name of ImageNet class `class` when it is one of the cats.
pub fn cat_class_name(class: usize) -> Option<&'static str> {
    CAT_CLASS_NAMES
        .iter()
        .find(|(c, _)| *c == class)
        .map(|(_, name)| *name)
}

/// The softmax probability of `class` among `logits` (in `f64`, exponentials summed in class
/// order, as [`cat_probability`] does). 0 for a class out of range.
fn class_probability(logits: &[f32], class: usize) -> f64 {
    let Some(&own) = logits.get(class) else {
        return 0.0;
    };
    let max = logits
        .iter()
        .fold(f64::NEG_INFINITY, |m, &l| m.max(f64::from(l)));
    let total: f64 = logits.iter().map(|&l| math::exp(f64::from(l) - max)).sum();
    math::exp(f64::from(own) - max) / total
}

impl Backbone {
    /// ImageNet's verdict on one image's features (see [`Verdict`]).
    ///
    /// # Errors
    /// [`Error::Shape`] when `features` is not a `side x side x` [`FEATURES`] map with its
    /// [`FEATURES`] pooled values.
    pub fn imagenet(&self, features: &Features) -> Result<Verdict> {
        let positions = features.side * features.side;
        if features.pooled.len() != FEATURES
            || positions == 0
            || features.map.len() != positions * FEATURES
        {
            return Err(Error::Shape(format!(
                "features of {} pooled values and a {} x {} map of {} values",
                features.pooled.len(),
                features.side,
                features.side,
                features.map.len()
            )));
        }
        let logits = self.logits(&features.pooled);
        if logits.len() != CLASSES {
            return Err(Error::Shape("the classifier gave no logits".into()));
        }
        let mut class = *CAT_CLASSES.start();
        for c in CAT_CLASSES {
            if logits[c] > logits[class] {
                class = c;
            }
        }
        // Every position through the whole classifier (the same kernel, so the same sums as
        // the pooled logits would be), then the chosen class's column: at 128 px that is 16
        // rows x 1.28 M multiply-adds, a few milliseconds.
        let mut per_position = vec![0.0f32; positions * CLASSES];
        self.classifier.apply(
            &features.map,
            positions,
            Epilogue::Linear,
            &mut per_position,
        );
        let heat = per_position
            .chunks_exact(CLASSES)
            .map(|row| row[class])
            .collect();
        let probability = cat_probability(&logits);
        Ok(Verdict {
            probability,
            label: CLASSES_NAMES[usize::from(probability > 0.5)],
            class,
            class_name: cat_class_name(class).unwrap_or("cat"),
            class_probability: class_probability(&logits, class),
            heat,
            heat_side: features.side,
        })
    }

    /// A photo file's bytes classified by ImageNet's classifier: decoded and framed once at
    /// [`INPUT_SIDE`] pixels (see [`preprocess`]), then the backbone and [`Backbone::imagenet`].
    ///
    /// # Errors
    /// The photo's ([`preprocess::preprocess`]'s), or [`Error::Shape`] on a bug.
    pub fn imagenet_photo(&self, bytes: &[u8], framing: Framing) -> Result<PhotoVerdict> {
        let (pixels, side, width, height, format) = photo_at_input_side(bytes, framing)?;
        let features = self.features(&pixels, side)?;
        Ok(PhotoVerdict {
            verdict: self.imagenet(&features)?,
            pixels,
            side,
            width,
            height,
            format,
        })
    }
}

/// The photo decoded and framed at the backbone's input side: `(rgb, side, width, height,
/// format)`.
fn photo_at_input_side(
    bytes: &[u8],
    framing: Framing,
) -> Result<(Vec<u8>, usize, u32, u32, &'static str)> {
    // Framed straight at the input side: never shrunk to 64 pixels and blown up again.
    let photo =
        preprocess::preprocess_to(bytes, framing, INPUT_SIDE, &preprocess::Limits::default())?;
    Ok((
        photo.pixels,
        photo.side,
        photo.width,
        photo.height,
        photo.format,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_are_the_cat_classes_in_order() {
        let classes: Vec<usize> = CAT_CLASS_NAMES.iter().map(|(c, _)| *c).collect();
        assert_eq!(classes, CAT_CLASSES.collect::<Vec<_>>());
        assert_eq!(cat_class_name(281), Some("tabby cat"));
        assert_eq!(cat_class_name(285), Some("Egyptian cat"));
        assert_eq!(cat_class_name(280), None);
    }

    #[test]
    fn class_probability_is_one_softmax_entry() {
        // Worked by hand: logits (0, ln 3) -> softmax (1/4, 3/4).
        let l = [0.0, 3.0f32.ln()];
        assert!((class_probability(&l, 1) - 0.75).abs() < 1e-7);
        assert!((class_probability(&l, 0) - 0.25).abs() < 1e-7);
        assert_eq!(class_probability(&l, 2), 0.0);
        // Large logits do not overflow: the maximum is taken out first.
        assert!((class_probability(&[1000.0, 1000.0], 0) - 0.5).abs() < 1e-15);
    }
}
