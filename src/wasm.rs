//! The browser adapter: each type wraps a core type, and each method only converts arguments,
//! delegates and converts the result (structured values through serde-wasm-bindgen). Every
//! export returns `Result<_, JsValue>`: a failure reaches the worker as a JS `Error` whose
//! `name` is the core error's kind and whose `message` is its text.

use std::sync::Arc;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::backbone::Backbone;
use crate::data::{Dataset, PhotoSet, Split};
use crate::model::{self, Evaluation, Model, ModelSpec, PixelModel, Training, TrainingContext};
use crate::preprocess::{Framing, PIXELS, SIDE};
use crate::pretrained::{ExtractedFeatures, PretrainedParams, FEATURES};
use crate::project::Project;
use crate::Error;

/// A core error as a JS `Error` whose `name` is its kind (`photo`, `model`, `dataset`, ...:
/// see [`crate::ErrorKind`]), so the page can tell a bad photo from a bad model file from a bug.
fn err(e: Error) -> JsValue {
    let js = js_sys::Error::new(&e.to_string());
    js.set_name(e.kind().as_str());
    js.into()
}

fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    // Maps (not JS objects) would surprise the page: serialise structs as plain objects.
    let s = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    value.serialize(&s).map_err(|e| {
        err(Error::Shape(format!(
            "cannot hand the result to the page: {e}"
        )))
    })
}

fn parse_framing(framing: &str) -> Result<Framing, JsValue> {
    match framing {
        "" | "crop" => Ok(Framing::Crop),
        "squash" => Ok(Framing::Squash),
        other => Err(err(Error::InvalidParameter {
            name: "fit",
            value: other.to_string(),
            expected: "crop or squash",
        })),
    }
}

/// The page's model choices with every default (see [`crate::model::presets`]): the page
/// fills its form from them instead of keeping copies of the defaults.
#[wasm_bindgen]
pub fn presets() -> Result<JsValue, JsValue> {
    to_js(&model::presets().map_err(err)?)
}

/// `side x side x 3` RGB -> `side x side x 4` RGBA (opaque), the layout of a canvas
/// `ImageData`; any side (64 for the pixel models, the backbone's side for pretrained features).
fn rgba(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect()
}

/// A loaded, validated dataset blob.
#[wasm_bindgen]
pub struct WasmDataset {
    inner: Dataset,
    /// [`Dataset::content_sha256`], computed once when the blob is loaded: the page shows it
    /// and every model's receipt repeats it (hashing 3 MB takes ~15 ms in wasm).
    sha256: String,
    /// The training split's exact pixel Gram matrix, once [`prepare`](WasmDataset::prepare)d:
    /// every network trained on this dataset afterwards starts without computing it.
    gram: Option<Arc<Vec<u32>>>,
}

#[derive(Serialize)]
struct SplitSummary {
    n: usize,
    cats: usize,
    non_cats: usize,
    /// Images of each class, by label.
    per_class: Vec<usize>,
}

impl SplitSummary {
    fn of(s: &Split, classes: usize) -> Self {
        SplitSummary {
            n: s.len(),
            cats: s.count(1),
            non_cats: s.count(0),
            per_class: s.per_class(classes),
        }
    }
}

#[derive(Serialize)]
struct DatasetSummary<'a> {
    train: SplitSummary,
    test: SplitSummary,
    classes: &'a [String],
    source: &'a str,
    sha256: String,
    side: usize,
}

impl From<Dataset> for WasmDataset {
    fn from(inner: Dataset) -> Self {
        let sha256 = inner.content_sha256();
        WasmDataset {
            inner,
            sha256,
            gram: None,
        }
    }
}

#[wasm_bindgen]
impl WasmDataset {
    /// Parses and validates a dataset blob (safetensors bytes).
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<WasmDataset, JsValue> {
        Dataset::from_bytes(bytes)
            .map(WasmDataset::from)
            .map_err(err)
    }

    /// Computes the training split's pixel Gram matrix now (once), which every network
    /// training on pixels otherwise computes when it starts: ~10 ms for the classic set's 209
    /// images in optimised code, ~60 ms before the browser has optimised it. The page's worker
    /// calls it while idle, so that the training a person starts does not wait for it.
    pub fn prepare(&mut self) {
        if self.gram.is_none() {
            let pixels = &self.inner.train.pixels;
            self.gram = Some(Arc::new(crate::kernels::gram_u8(pixels, PIXELS)));
        }
    }

    /// `{train: {n, cats, non_cats}, test: {...}, classes, source, sha256, side}`.
    pub fn summary(&self) -> Result<JsValue, JsValue> {
        let d = &self.inner;
        to_js(&DatasetSummary {
            train: SplitSummary::of(&d.train, d.n_classes()),
            test: SplitSummary::of(&d.test, d.n_classes()),
            classes: &d.classes,
            source: &d.source,
            sha256: self.sha256.clone(),
            side: SIDE,
        })
    }

    /// Image `index` of `split` (`train` or `test`) as 64x64 RGBA bytes for an `ImageData`.
    pub fn image_rgba(&self, split: &str, index: usize) -> Result<Vec<u8>, JsValue> {
        let s = self.split(split)?;
        if index >= s.len() {
            return Err(err(Error::InvalidParameter {
                name: "index",
                value: index.to_string(),
                expected: "an image of the split (below its length)",
            }));
        }
        Ok(rgba(s.image(index)))
    }

    /// Labels (0/1) of `split`.
    pub fn labels(&self, split: &str) -> Result<Vec<u8>, JsValue> {
        Ok(self.split(split)?.labels.clone())
    }

    /// The blob's bytes (for exporting a dataset built in the page).
    pub fn to_bytes(&self) -> Result<Vec<u8>, JsValue> {
        self.inner.to_bytes().map_err(err)
    }

    fn split(&self, split: &str) -> Result<&Split, JsValue> {
        match split {
            "train" => Ok(&self.inner.train),
            "test" => Ok(&self.inner.test),
            other => Err(err(Error::InvalidParameter {
                name: "split",
                value: other.to_string(),
                expected: "train or test",
            })),
        }
    }
}

/// Training in steps, so the worker can report progress and honour a cancel between steps.
#[wasm_bindgen]
pub struct WasmTrainer {
    /// `None` once finished.
    inner: Option<Training>,
}

#[wasm_bindgen]
impl WasmTrainer {
    /// `params`: a training request (see [`ModelSpec::from_request`]): `{model, ...}` with
    /// `model` one of `network` (default), `lr`, `deep`, `features`, and that kind's own
    /// parameters; missing ones take the defaults, others are refused.
    #[wasm_bindgen(constructor)]
    pub fn new(dataset: &WasmDataset, params: JsValue) -> Result<WasmTrainer, JsValue> {
        let request = request_of(params)?;
        let spec = ModelSpec::from_request(&request).map_err(err)?;
        let context = TrainingContext {
            pixel_gram: dataset.gram.clone(),
            ..TrainingContext::default()
        };
        let training = spec.start_on(&dataset.inner, context).map_err(err)?;
        Ok(WasmTrainer {
            inner: Some(training),
        })
    }

    /// [`new`](Self::new) with the pretrained backbone (which `pretrained` needs and the other
    /// kinds ignore) and, to skip the extraction, the features of an earlier run on the same
    /// dataset, backbone and side (refused with an Error named `parameter` if they do not fit).
    /// The extraction covers the test split too, so `finish` evaluates without the backbone.
    /// `cached` is consumed.
    pub fn with_backbone(
        dataset: &WasmDataset,
        params: JsValue,
        backbone: &WasmBackbone,
        cached: Option<WasmFeatures>,
    ) -> Result<WasmTrainer, JsValue> {
        let spec = ModelSpec::from_request(&request_of(params)?).map_err(err)?;
        let context = TrainingContext {
            backbone: Some(Arc::clone(&backbone.inner)),
            features: cached.map(|f| f.inner),
            test: Some(dataset.inner.test.clone()),
            pixel_gram: dataset.gram.clone(),
        };
        let training = spec.start_on(&dataset.inner, context).map_err(err)?;
        Ok(WasmTrainer {
            inner: Some(training),
        })
    }

    /// Pretrained features only: the features of both splits once extracted (or given), to keep
    /// for a later training; `undefined` before (and for the other kinds).
    pub fn features(&self) -> Option<WasmFeatures> {
        let t = self.inner.as_ref()?;
        t.features().map(|f| WasmFeatures { inner: f.clone() })
    }

    /// Runs up to `n` iterations (learned-feature model: about `n` million multiply-adds);
    /// returns `{done, iterations, cost, cost_iteration, finished}` (plus `stage` and
    /// `stage_done` for the learned-feature model).
    pub fn step(&mut self, n: usize) -> Result<JsValue, JsValue> {
        let t = self.training()?;
        t.step(n).map_err(err)?;
        to_js(&t.progress())
    }

    /// True when stopping before the end still gives a model (networks; not the
    /// learned-feature model, whose stages must all run).
    pub fn can_stop_early(&self) -> bool {
        self.inner.as_ref().is_some_and(Training::can_stop_early)
    }

    /// Ends training where it stands, evaluates on both splits and returns the fitted model.
    /// `created` is an RFC 3339 date for the receipt. The trainer is spent afterwards.
    pub fn finish(&mut self, dataset: &WasmDataset, created: String) -> Result<WasmModel, JsValue> {
        let training = self.inner.take().ok_or_else(finished)?;
        let done = training
            .finish(&dataset.inner, dataset.sha256.clone(), created)
            .map_err(err)?;
        Ok(WasmModel {
            inner: done.model,
            evaluation: Some(done.evaluation),
            costs: done.costs,
            warning: done.warning.map(|w| w.to_string()),
        })
    }

    fn training(&mut self) -> Result<&mut Training, JsValue> {
        self.inner.as_mut().ok_or_else(finished)
    }
}

/// A training request through a JSON value, so that every key given is seen (and an unknown
/// one refused).
fn request_of(params: JsValue) -> Result<serde_json::Value, JsValue> {
    serde_wasm_bindgen::from_value(params).map_err(|e| {
        err(Error::InvalidParameter {
            name: "training parameters",
            value: e.to_string(),
            expected: "an object of the model's parameters",
        })
    })
}

/// The pooled backbone features of a dataset's splits (see [`ExtractedFeatures`]): what the
/// worker caches so that retraining the head skips the extraction.
#[wasm_bindgen]
pub struct WasmFeatures {
    inner: ExtractedFeatures,
}

#[wasm_bindgen]
impl WasmFeatures {
    /// `rows`: `(m + t) x 1280` values row-major, one row per image: the `m` = `train_images`
    /// training images, then the `t` = `test_images` test images, each split in its order, and
    /// maybe then `m` more, the training images' mirrors (any other count: an Error named
    /// `parameter`); `backbone_sha256`: the backbone that computed them; `side`: its input side,
    /// pixels.
    #[wasm_bindgen(constructor)]
    pub fn new(
        mut rows: Vec<f32>,
        train_images: usize,
        test_images: usize,
        backbone_sha256: String,
        side: usize,
    ) -> Result<WasmFeatures, JsValue> {
        let (m, t) = (train_images, test_images);
        let plain = (m + t).saturating_mul(FEATURES);
        let mirrored = (m + m + t).saturating_mul(FEATURES);
        if rows.len() != plain && rows.len() != mirrored {
            return Err(err(Error::InvalidParameter {
                name: "cached features",
                value: format!("{} values for {m} training and {t} test images", rows.len()),
                expected: "1280 features for each image (and maybe each training image's mirror)",
            }));
        }
        let mirrored_rows = rows.split_off(plain);
        let test_rows = rows.split_off(m * FEATURES);
        Ok(WasmFeatures {
            inner: ExtractedFeatures {
                backbone_sha256,
                side,
                rows,
                test_rows,
                mirrored_rows,
            },
        })
    }

    /// The values (a `Float32Array` copy), row-major: the training images', the test images',
    /// then the training images' mirrors' if extracted.
    pub fn rows(&self) -> Vec<f32> {
        let f = &self.inner;
        [&f.rows[..], &f.test_rows[..], &f.mirrored_rows[..]].concat()
    }

    /// `m`, the number of training images (the first rows).
    pub fn train_images(&self) -> usize {
        self.inner.len()
    }

    /// Hex sha256 of the backbone that computed them.
    pub fn backbone_sha256(&self) -> String {
        self.inner.backbone_sha256.clone()
    }

    /// The backbone's input side, pixels.
    pub fn side(&self) -> usize {
        self.inner.side
    }
}

fn finished() -> JsValue {
    err(Error::State("this training has already finished"))
}

/// A fitted model (trained here or loaded from a file).
#[wasm_bindgen]
pub struct WasmModel {
    inner: Model,
    evaluation: Option<Evaluation>,
    costs: Vec<(usize, f64)>,
    /// What went wrong with the training, if anything (see `convergence::check`).
    warning: Option<String>,
}

#[derive(Serialize)]
struct ModelInfo<'a> {
    /// `network` or `features`.
    kind: &'static str,
    /// Networks only (`null` otherwise).
    hyperparams: Option<&'a crate::network::Hyperparams>,
    /// Feature models only: their settings; learned features and pretrained features (whose
    /// `{side, seed}` also say the backbone's input side) both have cross-validation.
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<Params<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cross_validation: Option<&'a crate::features::CrossValidation>,
    receipt: &'a model::Receipt,
    dims: &'a [usize],
    evaluation: Option<&'a Evaluation>,
    costs: &'a [(usize, f64)],
    /// Set when the training went wrong without overflowing (see `convergence::check`).
    warning: Option<String>,
    /// Pretrained features only: hex sha256 of the backbone file the model needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    backbone_sha256: Option<&'a str>,
    /// The class names, index = label.
    classes: &'a [String],
}

#[derive(Serialize)]
#[serde(untagged)]
enum Params<'a> {
    Features(&'a crate::features::FeatureParams),
    Pretrained(&'a PretrainedParams),
}

#[derive(Serialize)]
struct ClassifyResult<'a> {
    probability: f64,
    /// Each class's probability, index = label.
    probabilities: &'a [f64],
    /// The class predicted (index = label) and its name.
    class: usize,
    label: &'a str,
    width: u32,
    height: u32,
    format: &'a str,
    /// The `side x side` image the model saw, RGBA (64 but for pretrained features).
    side: usize,
    #[serde(with = "serde_bytes_as_array")]
    seen_rgba: Vec<u8>,
    /// Pretrained features only: `heat_side x heat_side` logits, row-major, where the model saw
    /// a cat (see [`model::HeatMap`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    heat: Option<Vec<f32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    heat_side: Option<usize>,
}

#[derive(Serialize)]
struct HeatMaps {
    side: usize,
    values: Vec<f32>,
}

/// serde-wasm-bindgen turns `Vec<u8>` into a plain array; bytes are smaller as `Uint8Array`.
mod serde_bytes_as_array {
    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }
}

#[wasm_bindgen]
impl WasmModel {
    /// Parses and validates a model file.
    pub fn from_bytes(bytes: &[u8]) -> Result<WasmModel, JsValue> {
        Model::from_bytes(bytes)
            .map(|inner| WasmModel {
                inner,
                evaluation: None,
                costs: Vec::new(),
                warning: None,
            })
            .map_err(err)
    }

    /// The model file's bytes (the format the CLI reads and writes).
    pub fn to_bytes(&self) -> Result<Vec<u8>, JsValue> {
        self.inner.to_bytes().map_err(err)
    }

    /// `{kind, hyperparams, params, cross_validation, receipt, dims, evaluation, costs, warning}`.
    pub fn info(&self) -> Result<JsValue, JsValue> {
        let (hyperparams, params, cross_validation, dims) = match &self.inner {
            Model::Network(m) => (Some(&m.hyperparams), None, None, m.network.dims()),
            Model::Features(m) => (
                None,
                Some(Params::Features(m.model.params())),
                Some(&m.cross_validation),
                &[][..],
            ),
            Model::Pretrained(m) => (
                None,
                Some(Params::Pretrained(m.model.params())),
                Some(&m.cross_validation),
                &[][..],
            ),
        };
        to_js(&ModelInfo {
            kind: self.inner.kind(),
            hyperparams,
            params,
            cross_validation,
            receipt: self.inner.receipt(),
            dims,
            evaluation: self.evaluation.as_ref(),
            costs: &self.costs,
            warning: self.warning.clone(),
            backbone_sha256: self.inner.backbone_sha256(),
            classes: self.inner.class_names(),
        })
    }

    /// Hex sha256 of the backbone file a pretrained-feature model needs; `undefined` for the
    /// other kinds.
    pub fn backbone_sha256(&self) -> Option<String> {
        self.inner.backbone_sha256().map(str::to_string)
    }

    /// Attaches the backbone a pretrained-feature model needs (ignored by the other kinds); a
    /// backbone other than the one it was trained with throws an Error named `model` that
    /// gives both hashes.
    pub fn attach_backbone(&mut self, backbone: &WasmBackbone) -> Result<(), JsValue> {
        self.inner
            .attach_backbone(Arc::clone(&backbone.inner))
            .map_err(err)
    }

    /// Accuracy on a dataset of the model's classes: `{train_accuracy, test_accuracy,
    /// test_majority_baseline, n_train, n_test, classes, train_confusion, test_confusion}`; a
    /// dataset of other classes throws an Error named `dataset`.
    pub fn evaluate(&self, dataset: &WasmDataset) -> Result<JsValue, JsValue> {
        to_js(&self.inner.evaluate_on(&dataset.inner).map_err(err)?)
    }

    /// The probability of each class for every image of a dataset split (for confusion
    /// matrices): `images x classes` row-major.
    pub fn probabilities(&self, dataset: &WasmDataset, split: &str) -> Result<Vec<f64>, JsValue> {
        let s = dataset.split(split)?;
        let scores = self.inner.scores_pixels(&s.pixels).map_err(err)?;
        Ok(scores
            .chunks_exact(self.inner.outputs())
            .flat_map(crate::features::logreg::probabilities)
            .collect())
    }

    /// The class names, index = label.
    pub fn classes(&self) -> Vec<String> {
        self.inner.class_names().to_vec()
    }

    /// Pretrained features only: the probability of each class for each row of `rows` (`n x
    /// 1280`, features from this model's backbone and side, e.g. the test rows a training
    /// extracted), `n x classes` row-major, without the backbone; the same numbers as
    /// [`probabilities`](Self::probabilities). Other kinds throw an Error named `state`.
    pub fn probabilities_of_features(&self, rows: &[f32]) -> Result<Vec<f64>, JsValue> {
        match &self.inner {
            Model::Pretrained(m) => m.model.probabilities_of_features(rows).map_err(err),
            Model::Network(_) | Model::Features(_) => Err(err(Error::State(
                "only a pretrained-feature model classifies backbone features",
            ))),
        }
    }

    /// Decodes and classifies a photo (`fit`: `crop` or `squash`):
    /// `{probability, probabilities, class, label, width, height, format, side, seen_rgba}`,
    /// plus `heat` and `heat_side` for pretrained features (`probability`: two classes, the
    /// second's; more, the predicted class's).
    pub fn classify(&self, bytes: &[u8], fit: &str) -> Result<JsValue, JsValue> {
        let (c, heat) =
            model::classify_with_heat_map(&self.inner, bytes, parse_framing(fit)?).map_err(err)?;
        let heat_side = heat.as_ref().map(|h| h.side);
        to_js(&ClassifyResult {
            probability: c.probability,
            probabilities: &c.probabilities,
            class: c.class,
            label: &c.label,
            width: c.width,
            height: c.height,
            format: c.format,
            side: c.side,
            seen_rgba: rgba(&c.pixels),
            heat: heat.map(|h| h.values),
            heat_side,
        })
    }

    /// Pretrained features only: the heat maps of images `indices` of `split` (`train` or
    /// `test`), `{side, values}` with `values` the `side x side` maps one after the other, in
    /// the order given (see [`model::heat_maps`]).
    pub fn heat_maps(
        &self,
        dataset: &WasmDataset,
        split: &str,
        indices: Vec<u32>,
    ) -> Result<JsValue, JsValue> {
        let indices: Vec<usize> = indices.into_iter().map(|i| i as usize).collect();
        let maps = model::heat_maps(&self.inner, dataset.split(split)?, &indices).map_err(err)?;
        to_js(&HeatMaps {
            side: maps.first().map_or(0, |m| m.side),
            values: maps.into_iter().flat_map(|m| m.values).collect(),
        })
    }

    /// The first layer's weights as 64x64 RGBA images, one per unit, concatenated
    /// (`(units, 64, 64, 4)` bytes; see [`crate::inspect::first_layer_rgba`] for the scaling).
    /// Networks only: a learned-feature model's first stage works on 6x6 patches, not on the
    /// 64x64 image.
    pub fn first_layer_images(&self) -> Result<Vec<u8>, JsValue> {
        match &self.inner {
            Model::Network(saved) => crate::inspect::first_layer_rgba(&saved.network).map_err(err),
            Model::Features(_) | Model::Pretrained(_) => Err(err(Error::State(
                "weight images are drawn for logistic regression and networks only",
            ))),
        }
    }
}

/// Photos of the page's own dataset, gathered one at a time (see [`crate::data::photoset`]: the
/// same code as `purrceptron convert --images`, so the same photos give the same blob).
#[wasm_bindgen]
pub struct WasmPhotoSet {
    inner: PhotoSet,
}

#[derive(Serialize)]
struct AddedPhoto<'a> {
    width: u32,
    height: u32,
    format: &'a str,
}

#[derive(Serialize)]
struct Thumbnails<'a> {
    names: Vec<&'a str>,
    #[serde(with = "serde_bytes_as_array")]
    rgba: Vec<u8>,
}

#[wasm_bindgen]
impl WasmPhotoSet {
    /// An empty set; `fit` is `crop` or `squash`.
    #[wasm_bindgen(constructor)]
    pub fn new(fit: &str) -> Result<WasmPhotoSet, JsValue> {
        Ok(WasmPhotoSet {
            inner: PhotoSet::new(parse_framing(fit)?),
        })
    }

    /// Adds a photo of class `label` (an index into the classes): `{width, height, format}` (its
    /// image comes from [`thumbnails`](Self::thumbnails) when the page draws it), or the decoding
    /// error (the photo is still counted, as the CLI counts it).
    pub fn add(&mut self, label: u8, name: String, bytes: &[u8]) -> Result<JsValue, JsValue> {
        let p = self.inner.add(label, name, bytes).map_err(err)?;
        to_js(&AddedPhoto {
            width: p.width,
            height: p.height,
            format: p.format,
        })
    }

    /// The decoded photos of class `label` numbered `from..from + count` in the order they were
    /// added (see [`PhotoSet::decoded`]): `{names, rgba}`, `rgba` their 64x64 images one after
    /// the other (16,384 bytes each). A label past the last class throws an Error named
    /// `dataset`.
    pub fn thumbnails(&self, label: u8, from: usize, count: usize) -> Result<JsValue, JsValue> {
        let photos = self.inner.decoded(label, from, count).map_err(err)?;
        to_js(&Thumbnails {
            names: photos.iter().map(|(name, _)| *name).collect(),
            rgba: photos.iter().flat_map(|(_, p)| rgba(p)).collect(),
        })
    }

    /// Photos given and decoded of each class, by label: `[{given, ok}]`.
    pub fn class_counts(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.class_counts())
    }

    /// The class names, by label.
    pub fn classes(&self) -> Vec<String> {
        self.inner.classes().to_vec()
    }

    /// Changes the classes (see [`PhotoSet::set_classes`]): class `i` is named `names[i]` and
    /// keeps the photos of the old class `from[i]`, or starts empty (`from[i]` < 0). Bad names
    /// throw an Error named `parameter`; nothing changes then.
    pub fn set_classes(&mut self, names: Vec<String>, from: Vec<i32>) -> Result<(), JsValue> {
        let from: Vec<Option<usize>> = from.iter().map(|&f| usize::try_from(f).ok()).collect();
        self.inner.set_classes(names, &from).map_err(err)
    }

    /// Forgets every photo.
    pub fn clear(&mut self) {
        self.inner.clear();
    }

    /// The seeded split (`test_fraction` in [0, 1)) as a dataset.
    pub fn build(&self, test_fraction: f64, seed: u32) -> Result<WasmDataset, JsValue> {
        self.inner
            .build(test_fraction, seed)
            .map(WasmDataset::from)
            .map_err(err)
    }
}

/// The CSV of a folder's results (see [`model::Results`]): `classes` the model's class names,
/// `rows` `[{file, label, probabilities} | {file, error}]` in any order. The same bytes as
/// `purrceptron predict --csv` for the same model and files. A row of another shape throws an
/// Error named `internal`.
#[wasm_bindgen]
pub fn results_csv(classes: Vec<String>, rows: JsValue) -> Result<String, JsValue> {
    let rows: Vec<model::results::Row> = serde_wasm_bindgen::from_value(rows)
        .map_err(|e| err(Error::Shape(format!("results: {e}"))))?;
    Ok(model::Results::from_rows(&classes, &rows)
        .map_err(err)?
        .to_csv())
}

/// A project file's bytes (see [`Project`]) from a dataset file's bytes and maybe a model
/// file's: `purrceptron pack` writes the same bytes. A part that cannot be read, or a model of
/// other classes than the dataset's, throws the part's own Error.
#[wasm_bindgen]
pub fn project_bytes(dataset: Vec<u8>, model: Option<Vec<u8>>) -> Result<Vec<u8>, JsValue> {
    Project::new(dataset, model)
        .and_then(|p| p.to_bytes())
        .map_err(err)
}

/// A project file read and checked (see [`Project::from_bytes`]): its parts' file bytes, for
/// the page to load each as it loads a dataset file and a model file.
#[wasm_bindgen]
pub struct WasmProject {
    inner: Project,
}

#[wasm_bindgen]
impl WasmProject {
    /// Throws an Error named `model` (a defect of the container or the model part) or
    /// `dataset` (of the dataset part).
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<WasmProject, JsValue> {
        Project::from_bytes(bytes)
            .map(|inner| WasmProject { inner })
            .map_err(err)
    }

    /// The dataset file's bytes (a `Uint8Array` copy).
    pub fn dataset_bytes(&self) -> Vec<u8> {
        self.inner.dataset_bytes().to_vec()
    }

    /// The model file's bytes (a `Uint8Array` copy), or `undefined` without a model.
    pub fn model_bytes(&self) -> Option<Vec<u8>> {
        self.inner.model_bytes().map(<[u8]>::to_vec)
    }

    /// The class names, index = label.
    pub fn classes(&self) -> Vec<String> {
        self.inner.dataset().classes.clone()
    }
}

/// The pretrained backbone (EfficientNet-Lite0) and ImageNet's classifier: the classification
/// with no training (see [`crate::backbone::imagenet`]). Shared (`Arc`) with the trainings and
/// models built on it, so the 4.7 MB file is parsed once.
#[wasm_bindgen]
pub struct WasmBackbone {
    inner: Arc<Backbone>,
}

#[derive(Serialize)]
struct ImagenetResult<'a> {
    probability: f64,
    label: &'a str,
    class: usize,
    class_name: &'a str,
    class_probability: f64,
    width: u32,
    height: u32,
    format: &'a str,
    /// The `side x side` image the backbone saw, RGBA.
    side: usize,
    #[serde(with = "serde_bytes_as_array")]
    seen_rgba: Vec<u8>,
    /// `heat_side x heat_side` values, row-major (see [`crate::backbone::imagenet::Verdict`]).
    heat: &'a [f32],
    heat_side: usize,
}

#[wasm_bindgen]
impl WasmBackbone {
    /// Parses and checks a backbone file (backbone.safetensors version 1); a bad file throws
    /// an Error named `model`.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<WasmBackbone, JsValue> {
        Backbone::from_bytes(bytes)
            .map(|b| WasmBackbone { inner: Arc::new(b) })
            .map_err(err)
    }

    /// Hex sha256 of the whole file: the backbone's identity.
    pub fn sha256(&self) -> String {
        self.inner.sha256().to_string()
    }

    /// A photo classified by ImageNet's cat classes (`fit`: `crop` or `squash`): `{probability,
    /// label, class, class_name, class_probability, width, height, format, side, seen_rgba,
    /// heat, heat_side}`.
    pub fn imagenet(&self, bytes: &[u8], fit: &str) -> Result<JsValue, JsValue> {
        let r = self
            .inner
            .imagenet_photo(bytes, parse_framing(fit)?)
            .map_err(err)?;
        let v = &r.verdict;
        to_js(&ImagenetResult {
            probability: v.probability,
            label: v.label,
            class: v.class,
            class_name: v.class_name,
            class_probability: v.class_probability,
            width: r.width,
            height: r.height,
            format: r.format,
            side: r.side,
            seen_rgba: rgba(&r.pixels),
            heat: &v.heat,
            heat_side: v.heat_side,
        })
    }
}

/// For the benchmark page (www/bench-backbone.html) only: loads `backbone` (the bytes of
/// backbone.safetensors), runs `passes` whole passes over the dataset's images (train then
/// test, 64 px resized to 128), times every layer alone for at least `min_ms`, then a
/// pretrained-feature training, `retrains` head-only retrainings and as many classifications of
/// `photo` (a file's bytes, if given), with the page's clock `now` (`performance.now`). Returns
/// [`crate::pretrained::bench::Report`].
#[wasm_bindgen]
pub fn bench_backbone(
    backbone: &[u8],
    dataset: &WasmDataset,
    passes: usize,
    min_ms: f64,
    retrains: usize,
    photo: Option<Vec<u8>>,
    now: &js_sys::Function,
) -> Result<JsValue, JsValue> {
    let net = crate::backbone::Backbone::from_bytes(backbone).map_err(err)?;
    let mut clock = || {
        now.call0(&JsValue::NULL)
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(f64::NAN)
    };
    let report = crate::pretrained::bench::run(
        Arc::new(net),
        &dataset.inner,
        passes,
        min_ms,
        retrains,
        photo.as_deref(),
        &mut clock,
    )
    .map_err(err)?;
    to_js(&report)
}
