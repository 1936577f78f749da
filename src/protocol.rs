//! The protocol between the page and its worker, defined once: every request the page sends
//! and every reply the worker posts, as serde types (`type` names the message, kebab-case).
//! The page's side is `www/protocol.js`, whose `@typedef`s a test here compares with these
//! types field by field, so neither side can change alone.
//!
//! Byte buffers (`bytes`, `seen_rgba`, ...) travel as transferred `ArrayBuffer`s or typed
//! arrays; here they are [`Bytes`]. Structured values the core computes (`summary`, `info`,
//! `evaluation`, `params`) are JSON objects whose Rust types are named on each field.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::Preset;

/// A byte buffer (an `ArrayBuffer` or a typed array on the page).
pub type Bytes = Vec<u8>;

/// What the page asks of the worker. Every request carries an `id` (a positive integer the page
/// never reuses) that its reply repeats.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Request {
    /// Train a model on the current dataset; `params` is a training request
    /// ([`crate::model::ModelSpec::from_request`]).
    Train { id: u32, params: Value },
    /// Stop the running training at its next step.
    Cancel { id: u32 },
    /// Classify a photo file's bytes with the current model.
    Classify { id: u32, bytes: Bytes, name: String },
    /// Make a model file the current model.
    LoadModel { id: u32, bytes: Bytes },
    /// The current model's file bytes.
    ExportModel { id: u32 },
    /// The CSV of a folder's results ([`crate::model::Results::from_rows`]'s rows).
    ResultsCsv {
        id: u32,
        classes: Vec<String>,
        rows: Vec<Value>,
    },
    /// Everything the inspection panel shows of the current model.
    Inspect { id: u32 },
    /// Add a photo of class `label` to the own dataset.
    DatasetAdd {
        id: u32,
        label: u8,
        name: String,
        bytes: Bytes,
    },
    /// The 64x64 images of class `label`'s decoded photos numbered `from..from + count`.
    DatasetThumbnails {
        id: u32,
        label: u8,
        from: usize,
        count: usize,
    },
    /// Forget the own dataset's photos.
    DatasetClear { id: u32 },
    /// The own dataset's classes changed: class `i` is `names[i]` with the photos of the old
    /// class `from[i]` (-1: a new class).
    DatasetClasses {
        id: u32,
        names: Vec<String>,
        from: Vec<i32>,
    },
    /// Split the own dataset's photos into a dataset.
    DatasetBuild {
        id: u32,
        test_fraction: f64,
        seed: u32,
    },
    /// Train on the built-in (`builtin`) or the own (`own`) dataset.
    DatasetUse { id: u32, which: String },
    /// The own dataset's file bytes.
    DatasetExport { id: u32 },
    /// Load a dataset file as the own dataset.
    DatasetLoad { id: u32, bytes: Bytes },
    /// A project file of the dataset in use and the model in use, if any.
    ProjectExport { id: u32 },
    /// Read a project file into its parts (the page then loads each).
    ProjectOpen { id: u32, bytes: Bytes },
    /// The watchdog's question: answered at once, even during start-up.
    Ping { id: u32 },
    /// Load the pretrained backbone from its file's bytes (backbone.safetensors).
    LoadBackbone { id: u32, bytes: Bytes },
    /// Test mode only: the size of the module's memory.
    Memory { id: u32 },
    /// Test mode only: an uncaught exception, as a bug would throw.
    Crash { id: u32 },
    /// Test mode only: trainings pause when they reach this stage (`extracting`, `fitting`)
    /// until cancelled or released (null), so a test can act inside a stage however fast it
    /// runs.
    Hold { id: u32, stage: Option<String> },
}

/// What the worker posts. Replies to a request carry its `id`; `ready`, `startup-error` and
/// `fatal` answer no request.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Reply {
    /// Start-up is over: the dataset's summary, a few of its images, the model choices.
    Ready {
        /// [`DatasetSummary`] of the built-in dataset; `None` when the server has none (a clone
        /// built without the classic set's files).
        summary: Option<Value>,
        samples: Vec<Value>,
        presets: Vec<Preset>,
    },
    /// Start-up failed: no request will succeed.
    StartupError { kind: String, message: String },
    /// A training's progress ([`crate::model::TrainingProgress`] plus the seconds elapsed).
    Progress {
        id: u32,
        done: usize,
        iterations: usize,
        cost: Option<f64>,
        cost_iteration: Option<usize>,
        stage: Option<String>,
        stage_done: Option<f64>,
        elapsed: f64,
    },
    /// A training ended (finished or stopped); `info` is the new model's, `null` when it was
    /// discarded.
    Trained {
        id: u32,
        stopped: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        discarded: Option<bool>,
        /// Pretrained features only: `extracted`, `cached`, or `mirrors` (kept but for the
        /// training images' mirrors, extracted this time).
        #[serde(skip_serializing_if = "Option::is_none")]
        features: Option<String>,
        done: usize,
        iterations: usize,
        info: Option<Value>,
        seconds: f64,
    },
    /// A cancel was received; `running` says whether a training was there to stop.
    Cancelling { id: u32, running: bool },
    /// A photo's verdict and the `side x side` image the model saw (RGBA). `by` says what
    /// classified it: `model` (the current model) or `imagenet` (no model yet: the backbone and
    /// ImageNet's cat classes, which add the likeliest cat class and the heat map of
    /// [`crate::backbone::imagenet::Verdict`]).
    Classified {
        id: u32,
        name: String,
        by: String,
        probability: f64,
        label: String,
        /// Every class's probability by class name (two for ImageNet's verdict: non-cat, cat).
        probabilities: std::collections::BTreeMap<String, f64>,
        /// The class names in label order (an object's keys may not keep it).
        classes: Vec<String>,
        width: u32,
        height: u32,
        format: String,
        side: usize,
        seen_rgba: Bytes,
        #[serde(skip_serializing_if = "Option::is_none")]
        class_name: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        class_probability: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        heat: Option<Vec<f32>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        heat_side: Option<usize>,
    },
    /// A model file is the current model now; `info` describes it.
    ModelLoaded {
        id: u32,
        info: Value,
        /// Set when the model needs a backbone the worker has not loaded (not current then).
        #[serde(skip_serializing_if = "Option::is_none")]
        needs_backbone: Option<String>,
    },
    /// The current model's file.
    ModelBytes { id: u32, bytes: Bytes },
    /// The folder's results as a CSV file's text.
    ResultsCsv { id: u32, csv: String },
    /// The inspection panel's data: the test split's probabilities, labels and images, and
    /// the first layer's weights as images (networks only).
    Inspection {
        id: u32,
        evaluation: Value,
        /// The model's class names, index = label.
        classes: Vec<String>,
        /// Each test image's probability of each class, `images x classes` row-major.
        probabilities: Vec<f64>,
        labels: Bytes,
        images: Bytes,
        side: usize,
        weights: Option<Bytes>,
        /// Pretrained features only: the maps of the test images it gets wrong.
        #[serde(skip_serializing_if = "Option::is_none")]
        heat: Option<Vec<f32>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        heat_side: Option<usize>,
        #[serde(skip_serializing_if = "Option::is_none")]
        heat_indices: Option<Vec<usize>>,
    },
    /// A photo was added to the own dataset (decoded, or with its error).
    DatasetAdded {
        id: u32,
        name: String,
        label: u8,
        ok: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        width: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        height: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        format: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        counts: Value,
    },
    /// The own dataset's photos are forgotten.
    DatasetCleared { id: u32, counts: Option<Value> },
    /// The own dataset's classes now, by label, with each one's counts.
    DatasetClassesSet {
        id: u32,
        classes: Vec<String>,
        counts: Value,
    },
    /// The own dataset is built.
    DatasetBuilt {
        id: u32,
        summary: Value,
        samples: Vec<Value>,
    },
    /// Training now uses `which` dataset.
    DatasetUsing {
        id: u32,
        which: String,
        summary: Value,
    },
    /// The own dataset's file.
    DatasetExported { id: u32, bytes: Bytes },
    /// Class `label`'s decoded photos from `from`: their names and their 64x64 RGBA images one
    /// after the other (fewer than asked past the last photo).
    DatasetThumbnails {
        id: u32,
        label: u8,
        from: usize,
        names: Vec<String>,
        rgba: Bytes,
    },
    /// A project file's bytes.
    ProjectExported { id: u32, bytes: Bytes },
    /// A project file's parts: a dataset file's bytes, a model file's (if it has a model) and
    /// the class names.
    ProjectOpened {
        id: u32,
        dataset: Bytes,
        #[serde(skip_serializing_if = "Option::is_none")]
        model: Option<Bytes>,
        classes: Vec<String>,
    },
    /// A dataset file is loaded as the own dataset.
    DatasetLoaded {
        id: u32,
        summary: Value,
        samples: Vec<Value>,
    },
    /// The backbone is loaded: its identity (the file's sha256) and the file's size in bytes.
    BackboneLoaded {
        id: u32,
        sha256: String,
        bytes: usize,
    },
    /// The watchdog's answer.
    Pong { id: u32 },
    /// Test mode only: the module's memory in bytes.
    Memory { id: u32, wasm_bytes: usize },
    /// Test mode only: the stage trainings now pause at (null: none).
    Held { id: u32, stage: Option<String> },
    /// A request failed (`id` null: a failure no request owns). `kind` is an
    /// [`crate::ErrorKind`] name.
    Error {
        id: Option<u32>,
        kind: String,
        message: String,
    },
    /// The module trapped: the worker is closing and the page starts a new one.
    Fatal { kind: String, message: String },
}

#[cfg(test)]
mod tests;
