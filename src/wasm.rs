//! The browser adapter: each type wraps a core type, and each method only converts arguments,
//! delegates and converts the result (structured values through serde-wasm-bindgen). Every
//! export returns `Result<_, JsError>` so a failure reaches the worker as an exception with the
//! core error's message.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::classifier::{self, PixelModel};
use crate::dataset::{Dataset, Split};
use crate::features::{FeatureParamsBuilder, FeatureTrainer};
use crate::modelfile::AnyModel;
use crate::network::{HyperparamsBuilder, Trainer};
use crate::preprocess::{Framing, PIXELS, SIDE};

fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    // Maps (not JS objects) would surprise the page: serialise structs as plain objects.
    let s = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    value
        .serialize(&s)
        .map_err(|e| JsError::new(&e.to_string()))
}

fn err(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}

fn parse_fit(fit: &str) -> Result<Framing, JsError> {
    match fit {
        "" | "crop" => Ok(Framing::Crop),
        "squash" => Ok(Framing::Squash),
        other => Err(JsError::new(&format!(
            "unknown fit `{other}` (expected crop or squash)"
        ))),
    }
}

/// 64x64x3 RGB -> 64x64x4 RGBA (opaque), the layout of a canvas `ImageData`.
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
}

#[derive(Serialize)]
struct SplitSummary {
    n: usize,
    cats: usize,
    non_cats: usize,
}

impl From<&Split> for SplitSummary {
    fn from(s: &Split) -> Self {
        SplitSummary {
            n: s.len(),
            cats: s.count(1),
            non_cats: s.count(0),
        }
    }
}

#[derive(Serialize)]
struct DatasetSummary<'a> {
    train: SplitSummary,
    test: SplitSummary,
    classes: &'a [String; 2],
    source: &'a str,
    sha256: String,
    side: usize,
}

impl From<Dataset> for WasmDataset {
    fn from(inner: Dataset) -> Self {
        let sha256 = inner.content_sha256();
        WasmDataset { inner, sha256 }
    }
}

#[wasm_bindgen]
impl WasmDataset {
    /// Parses and validates a dataset blob (safetensors bytes).
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<WasmDataset, JsError> {
        Dataset::from_bytes(bytes)
            .map(WasmDataset::from)
            .map_err(err)
    }

    /// `{train: {n, cats, non_cats}, test: {...}, classes, source, sha256, side}`.
    pub fn summary(&self) -> Result<JsValue, JsError> {
        let d = &self.inner;
        to_js(&DatasetSummary {
            train: (&d.train).into(),
            test: (&d.test).into(),
            classes: &d.classes,
            source: &d.source,
            sha256: self.sha256.clone(),
            side: SIDE,
        })
    }

    /// Image `index` of `split` (`train` or `test`) as 64x64 RGBA bytes for an `ImageData`.
    pub fn image_rgba(&self, split: &str, index: usize) -> Result<Vec<u8>, JsError> {
        let s = self.split(split)?;
        if index >= s.len() {
            return Err(JsError::new(&format!(
                "image {index} does not exist: the {split} split has {} images",
                s.len()
            )));
        }
        Ok(rgba(s.image(index)))
    }

    /// Labels (0/1) of `split`.
    pub fn labels(&self, split: &str) -> Result<Vec<u8>, JsError> {
        Ok(self.split(split)?.labels.clone())
    }

    /// The blob's bytes (for exporting a dataset built in the page).
    pub fn to_bytes(&self) -> Result<Vec<u8>, JsError> {
        self.inner.to_bytes().map_err(err)
    }

    fn split(&self, split: &str) -> Result<&Split, JsError> {
        match split {
            "train" => Ok(&self.inner.train),
            "test" => Ok(&self.inner.test),
            other => Err(JsError::new(&format!(
                "unknown split `{other}` (expected train or test)"
            ))),
        }
    }
}

/// Training in steps, so the worker can report progress and honour a cancel between steps.
#[wasm_bindgen]
pub struct WasmTrainer {
    inner: Option<Trainer>,
    /// Set instead of `inner` when `params.model` is `features`.
    features: Option<FeatureTrainer>,
}

/// The `model` field of the training parameters; everything else is the model's own.
#[derive(serde::Deserialize)]
struct ModelChoice {
    #[serde(default)]
    model: Option<String>,
}

/// Training parameters of the learned-feature model. Unknown fields are refused: a learning
/// rate or an iteration count given to this model would otherwise be silently ignored.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FeatureRequest {
    #[allow(dead_code)]
    model: String,
    seed: Option<u32>,
    filters: Option<usize>,
    patches: Option<usize>,
    kmeans_iterations: Option<usize>,
}

impl From<FeatureRequest> for FeatureParamsBuilder {
    fn from(r: FeatureRequest) -> Self {
        let d = FeatureParamsBuilder::default();
        FeatureParamsBuilder {
            seed: r.seed.unwrap_or(d.seed),
            filters: r.filters.unwrap_or(d.filters),
            patches: r.patches.unwrap_or(d.patches),
            kmeans_iterations: r.kmeans_iterations.unwrap_or(d.kmeans_iterations),
        }
    }
}

#[derive(Serialize)]
struct StepReport {
    /// Iterations done.
    done: usize,
    iterations: usize,
    /// Latest recorded cost and the iteration it belongs to.
    cost: Option<f64>,
    cost_iteration: Option<usize>,
    finished: bool,
    /// Learned-feature model only: the stage running (`patches`, `whitening`, `k-means`,
    /// `encoding`, `fitting`, `done`) and the fraction of it done; `done`/`iterations` then
    /// count work in millions of multiply-adds.
    #[serde(skip_serializing_if = "Option::is_none")]
    stage: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage_done: Option<f64>,
}

#[wasm_bindgen]
impl WasmTrainer {
    /// `params`: `{hidden: number[], iterations, learning_rate, l2, seed, report_every}`;
    /// or `{model: 'features', seed, filters, patches, kmeans_iterations}` for the
    /// learned-feature model. Missing fields take the documented defaults. Values are checked.
    #[wasm_bindgen(constructor)]
    pub fn new(dataset: &WasmDataset, params: JsValue) -> Result<WasmTrainer, JsError> {
        let choice: ModelChoice = serde_wasm_bindgen::from_value(params.clone())
            .map_err(|e| JsError::new(&format!("invalid training parameters: {e}")))?;
        match choice.model.as_deref() {
            None | Some("network") => {}
            Some("features") => {
                // Through a JSON value: serde-wasm-bindgen reads a struct's fields by name and
                // never sees the unknown ones, which must be refused here.
                let request: FeatureRequest =
                    serde_wasm_bindgen::from_value::<serde_json::Value>(params)
                        .map_err(|e| e.to_string())
                        .and_then(|v| serde_json::from_value(v).map_err(|e| e.to_string()))
                        .map_err(|e| JsError::new(&format!("invalid training parameters: {e}")))?;
                let builder = FeatureParamsBuilder::from(request);
                let train = &dataset.inner.train;
                let trainer = FeatureTrainer::new(
                    builder.build().map_err(err)?,
                    &train.pixels,
                    &train.labels,
                )
                .map_err(err)?;
                return Ok(WasmTrainer {
                    inner: None,
                    features: Some(trainer),
                });
            }
            Some(other) => {
                return Err(JsError::new(&format!(
                    "unknown model `{other}` (expected network or features)"
                )))
            }
        }
        let builder: HyperparamsBuilder = serde_wasm_bindgen::from_value(params)
            .map_err(|e| JsError::new(&format!("invalid training parameters: {e}")))?;
        let hyper = builder.build().map_err(err)?;
        let train = &dataset.inner.train;
        let trainer = Trainer::new(hyper, train.inputs(), &train.labels).map_err(err)?;
        Ok(WasmTrainer {
            inner: Some(trainer),
            features: None,
        })
    }

    /// Runs up to `n` iterations (learned-feature model: about `n` million multiply-adds);
    /// returns `{done, iterations, cost, cost_iteration, finished}` (plus `stage` and
    /// `stage_done` for the learned-feature model).
    pub fn step(&mut self, n: usize) -> Result<JsValue, JsError> {
        if let Some(t) = self.features.as_mut() {
            t.step(n as f64).map_err(err)?;
            let p = t.progress();
            return to_js(&StepReport {
                done: p.done.round() as usize,
                iterations: p.total.round() as usize,
                cost: None,
                cost_iteration: None,
                finished: t.is_done(),
                stage: Some(p.stage.name()),
                stage_done: Some(p.stage_done),
            });
        }
        let t = self.trainer()?;
        t.step(n).map_err(err)?;
        let p = t.progress();
        to_js(&StepReport {
            done: t.iteration(),
            iterations: t.hyperparams().iterations(),
            cost: p.map(|p| p.cost),
            cost_iteration: p.map(|p| p.iteration),
            finished: t.is_done(),
            stage: None,
            stage_done: None,
        })
    }

    /// Ends training where it stands, evaluates on both splits and returns the fitted model.
    /// `created` is an RFC 3339 date for the receipt. The trainer is spent afterwards.
    pub fn finish(&mut self, dataset: &WasmDataset, created: String) -> Result<WasmModel, JsError> {
        if let Some(t) = self.features.take() {
            let trained = t.finish().map_err(err)?;
            let (saved, evaluation) =
                classifier::save_trained_features(trained, &dataset.inner, created).map_err(err)?;
            // No learning rate to overshoot: its solver steps by 1/L, L bounding the curvature.
            return Ok(WasmModel {
                inner: AnyModel::Features(saved),
                evaluation: Some(evaluation),
                costs: Vec::new(),
                warning: None,
            });
        }
        let trainer = self
            .inner
            .take()
            .ok_or_else(|| JsError::new("this training has already finished"))?;
        let complete = trainer.is_done();
        let trained = trainer.finish().map_err(err)?;
        let costs = trained.report.costs.clone();
        let (final_cost, lr) = (
            trained.report.final_cost,
            trained.hyperparams.learning_rate(),
        );
        let (inner, evaluation) =
            classifier::save_trained_for(trained, &dataset.inner, dataset.sha256.clone(), created)
                .map_err(err)?;
        let majority = dataset.inner.train.majority_rate();
        let warning = complete
            .then(|| {
                let accuracy = evaluation.train_accuracy;
                crate::convergence::check(&costs, final_cost, lr, accuracy, majority)
            })
            .flatten()
            .map(|w| w.to_string());
        Ok(WasmModel {
            inner: AnyModel::Network(inner),
            evaluation: Some(evaluation),
            costs,
            warning,
        })
    }

    fn trainer(&mut self) -> Result<&mut Trainer, JsError> {
        self.inner
            .as_mut()
            .ok_or_else(|| JsError::new("this training has already finished"))
    }
}

/// A fitted model (trained here or loaded from a file).
#[wasm_bindgen]
pub struct WasmModel {
    inner: AnyModel,
    evaluation: Option<classifier::Evaluation>,
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
    /// Learned-feature model only: its settings and cross-validation.
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a crate::features::FeatureParams>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cross_validation: Option<&'a crate::features::CrossValidation>,
    receipt: &'a crate::modelfile::Receipt,
    dims: &'a [usize],
    evaluation: Option<&'a classifier::Evaluation>,
    costs: &'a [(usize, f64)],
    /// Set when the training went wrong without overflowing (see `convergence::check`).
    warning: Option<String>,
}

#[derive(Serialize)]
struct ClassifyResult<'a> {
    probability: f64,
    label: &'a str,
    width: u32,
    height: u32,
    format: &'a str,
    /// The 64x64 image the model saw, RGBA.
    #[serde(with = "serde_bytes_as_array")]
    seen_rgba: Vec<u8>,
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
    pub fn from_bytes(bytes: &[u8]) -> Result<WasmModel, JsError> {
        AnyModel::from_bytes(bytes)
            .map(|inner| WasmModel {
                inner,
                evaluation: None,
                costs: Vec::new(),
                warning: None,
            })
            .map_err(err)
    }

    /// The model file's bytes (the format the CLI reads and writes).
    pub fn to_bytes(&self) -> Result<Vec<u8>, JsError> {
        self.inner.to_bytes().map_err(err)
    }

    /// `{kind, hyperparams, params, cross_validation, receipt, dims, evaluation, costs, warning}`.
    pub fn info(&self) -> Result<JsValue, JsError> {
        let (hyperparams, params, cross_validation, dims) = match &self.inner {
            AnyModel::Network(m) => (Some(&m.hyperparams), None, None, m.network.dims()),
            AnyModel::Features(m) => (
                None,
                Some(m.model.params()),
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
        })
    }

    /// Accuracy on a dataset: `{train_accuracy, test_accuracy, test_majority_baseline, ...}`.
    pub fn evaluate(&self, dataset: &WasmDataset) -> Result<JsValue, JsError> {
        to_js(&classifier::evaluate(&self.inner, &dataset.inner).map_err(err)?)
    }

    /// Probabilities of "cat" for every image of a dataset split (for confusion matrices).
    pub fn probabilities(&self, dataset: &WasmDataset, split: &str) -> Result<Vec<f64>, JsError> {
        let s = dataset.split(split)?;
        let z = self.inner.logits_pixels(&s.pixels).map_err(err)?;
        Ok(z.iter().map(|&z| crate::logistic::sigmoid(z)).collect())
    }

    /// Decodes and classifies a photo (`fit`: `crop` or `squash`):
    /// `{probability, label, width, height, format, seen_rgba}`.
    pub fn classify(&self, bytes: &[u8], fit: &str) -> Result<JsValue, JsError> {
        let c = classifier::classify(&self.inner, bytes, parse_fit(fit)?).map_err(err)?;
        debug_assert_eq!(c.pixels.len(), PIXELS);
        to_js(&ClassifyResult {
            probability: c.probability,
            label: c.label,
            width: c.width,
            height: c.height,
            format: c.format,
            seen_rgba: rgba(&c.pixels),
        })
    }

    /// The first layer's weights as 64x64 RGBA images, one per unit, concatenated
    /// (`(units, 64, 64, 4)` bytes; see [`crate::inspect::first_layer_rgba`] for the scaling).
    /// Networks only: a learned-feature model's first stage works on 6x6 patches, not on the
    /// 64x64 image.
    pub fn first_layer_images(&self) -> Result<Vec<u8>, JsError> {
        match &self.inner {
            AnyModel::Network(saved) => {
                crate::inspect::first_layer_rgba(&saved.network).map_err(err)
            }
            AnyModel::Features(_) => Err(JsError::new(
                "weight images are drawn for logistic regression and networks only",
            )),
        }
    }
}

/// Photos of the page's own dataset, gathered one at a time (see [`crate::photoset`]: the
/// same code as `purrceptron convert --images`, so the same photos give the same blob).
#[wasm_bindgen]
pub struct WasmPhotoSet {
    inner: crate::photoset::PhotoSet,
}

#[derive(Serialize)]
struct AddedPhoto<'a> {
    width: u32,
    height: u32,
    format: &'a str,
    /// The 64x64 image the model will see, RGBA.
    #[serde(with = "serde_bytes_as_array")]
    rgba: Vec<u8>,
}

#[wasm_bindgen]
impl WasmPhotoSet {
    /// An empty set; `fit` is `crop` or `squash`.
    #[wasm_bindgen(constructor)]
    pub fn new(fit: &str) -> Result<WasmPhotoSet, JsError> {
        Ok(WasmPhotoSet {
            inner: crate::photoset::PhotoSet::new(parse_fit(fit)?),
        })
    }

    /// Adds a photo of class `label` (0 = non-cat, 1 = cat): `{width, height, format, rgba}`,
    /// or the decoding error (the photo is still counted, as the CLI counts it).
    pub fn add(&mut self, label: u8, name: String, bytes: &[u8]) -> Result<JsValue, JsError> {
        let p = self.inner.add(label, name, bytes).map_err(err)?;
        to_js(&AddedPhoto {
            width: p.width,
            height: p.height,
            format: p.format,
            rgba: rgba(&p.pixels),
        })
    }

    /// `{cats, non_cats, cats_ok, non_cats_ok}`: photos given and photos decoded.
    pub fn counts(&self) -> Result<JsValue, JsError> {
        to_js(&self.inner.counts())
    }

    /// Forgets every photo.
    pub fn clear(&mut self) {
        self.inner.clear();
    }

    /// The seeded split (`test_fraction` in [0, 1)) as a dataset.
    pub fn build(&self, test_fraction: f64, seed: u32) -> Result<WasmDataset, JsError> {
        self.inner
            .build(test_fraction, seed)
            .map(WasmDataset::from)
            .map_err(err)
    }
}
