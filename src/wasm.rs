//! The browser adapter: each type wraps a core type, and each method only converts arguments,
//! delegates and converts the result (structured values through serde-wasm-bindgen). Every
//! export returns `Result<_, JsError>` so a failure reaches the worker as an exception with the
//! core error's message.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::classifier;
use crate::dataset::{Dataset, Split};
use crate::modelfile::SavedModel;
use crate::network::{HyperparamsBuilder, Trainer};
use crate::preprocess::{Fit, PIXELS, SIDE};

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

fn parse_fit(fit: &str) -> Result<Fit, JsError> {
    match fit {
        "" | "crop" => Ok(Fit::Crop),
        "squash" => Ok(Fit::Squash),
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

#[wasm_bindgen]
impl WasmDataset {
    /// Parses and validates a dataset blob (safetensors bytes).
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<WasmDataset, JsError> {
        Dataset::from_bytes(bytes)
            .map(|inner| WasmDataset { inner })
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
            sha256: d.content_sha256(),
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
}

#[wasm_bindgen]
impl WasmTrainer {
    /// `params`: `{hidden: number[], iterations, learning_rate, l2, seed, report_every}`;
    /// missing fields take the documented defaults. Values are checked.
    #[wasm_bindgen(constructor)]
    pub fn new(dataset: &WasmDataset, params: JsValue) -> Result<WasmTrainer, JsError> {
        let builder: HyperparamsBuilder = serde_wasm_bindgen::from_value(params)
            .map_err(|e| JsError::new(&format!("invalid training parameters: {e}")))?;
        let hyper = builder.build().map_err(err)?;
        let train = &dataset.inner.train;
        let trainer = Trainer::new(hyper, train.inputs(), &train.labels).map_err(err)?;
        Ok(WasmTrainer {
            inner: Some(trainer),
        })
    }

    /// Runs up to `n` iterations; returns `{done, iterations, cost, cost_iteration, finished}`.
    pub fn step(&mut self, n: usize) -> Result<JsValue, JsError> {
        let t = self.trainer()?;
        t.step(n).map_err(err)?;
        let p = t.progress();
        to_js(&StepReport {
            done: t.iteration(),
            iterations: t.hyperparams().iterations(),
            cost: p.map(|p| p.cost),
            cost_iteration: p.map(|p| p.iteration),
            finished: t.is_done(),
        })
    }

    /// Ends training where it stands, evaluates on both splits and returns the fitted model.
    /// `created` is an RFC 3339 date for the receipt. The trainer is spent afterwards.
    pub fn finish(&mut self, dataset: &WasmDataset, created: String) -> Result<WasmModel, JsError> {
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
            classifier::save_trained(trained, &dataset.inner, created).map_err(err)?;
        let majority = dataset.inner.train.majority_rate();
        let warning = complete
            .then(|| {
                let accuracy = evaluation.train_accuracy;
                crate::convergence::check(&costs, final_cost, lr, accuracy, majority)
            })
            .flatten()
            .map(|w| w.to_string());
        Ok(WasmModel {
            inner,
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
    inner: SavedModel,
    evaluation: Option<classifier::Evaluation>,
    costs: Vec<(usize, f64)>,
    /// What went wrong with the training, if anything (see `convergence::check`).
    warning: Option<String>,
}

#[derive(Serialize)]
struct ModelInfo<'a> {
    hyperparams: &'a crate::network::Hyperparams,
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
        SavedModel::from_bytes(bytes)
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

    /// `{hyperparams, receipt, dims, evaluation, costs, warning}`.
    pub fn info(&self) -> Result<JsValue, JsError> {
        to_js(&ModelInfo {
            hyperparams: &self.inner.hyperparams,
            receipt: &self.inner.receipt,
            dims: self.inner.network.dims(),
            evaluation: self.evaluation.as_ref(),
            costs: &self.costs,
            warning: self.warning.clone(),
        })
    }

    /// Accuracy on a dataset: `{train_accuracy, test_accuracy, test_majority_baseline, ...}`.
    pub fn evaluate(&self, dataset: &WasmDataset) -> Result<JsValue, JsError> {
        to_js(&classifier::evaluate(&self.inner.network, &dataset.inner).map_err(err)?)
    }

    /// Probabilities of "cat" for every image of a dataset split (for confusion matrices).
    pub fn probabilities(&self, dataset: &WasmDataset, split: &str) -> Result<Vec<f64>, JsError> {
        let s = dataset.split(split)?;
        let z = self.inner.network.logits_pixels(&s.pixels).map_err(err)?;
        Ok(z.iter().map(|&z| crate::logistic::sigmoid(z)).collect())
    }

    /// Decodes and classifies a photo (`fit`: `crop` or `squash`):
    /// `{probability, label, width, height, format, seen_rgba}`.
    pub fn classify(&self, bytes: &[u8], fit: &str) -> Result<JsValue, JsError> {
        let c = classifier::classify(&self.inner.network, bytes, parse_fit(fit)?).map_err(err)?;
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
}
