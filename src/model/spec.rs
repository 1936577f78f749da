//! What to train: a model kind with its checked hyper-parameters ([`ModelSpec`]), the presets
//! every front end offers, and the one reader of a training request (the page's parameters, the
//! CLI's flags), which fills in the defaults and refuses what a model does not take.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::features::{FeatureParams, FeatureParamsBuilder};
use crate::network::{Hyperparams, HyperparamsBuilder};
use crate::pretrained::{PretrainedParams, PretrainedParamsBuilder};
use crate::{Error, Result};

/// A model kind and its checked hyper-parameters. Serialised with the kind in `model`:
/// `{"model": "network", "hidden": [20, 7, 5], "iterations": 2500, ...}` or
/// `{"model": "features", "filters": 128, ...}` or `{"model": "pretrained", "side": 128, ...}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum ModelSpec {
    /// Logistic regression (no hidden layer) or an L-layer network, on the pixels.
    Network(Hyperparams),
    /// Learned convolutional features under an L2 logistic regression (its penalty is picked
    /// by cross-validation, so it takes no learning rate or iteration count).
    Features(FeatureParams),
    /// The pretrained backbone's features (EfficientNet-Lite0, frozen) under the same
    /// cross-validated L2 logistic regression; training needs the backbone
    /// ([`super::TrainingContext`]).
    Pretrained(PretrainedParams),
}

/// A named starting point offered by the page and the CLI.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Preset {
    /// Stable identifier (the page's option value): `lr`, `2layer`, `4layer`, `custom`,
    /// `features`, `pretrained`.
    pub id: &'static str,
    /// What the page shows.
    pub name: &'static str,
    /// The preset's specification, every default filled in.
    pub spec: ModelSpec,
    /// True when the person chooses the hidden layers (the spec's are a suggestion).
    pub custom_layers: bool,
    /// The accuracy to expect, as the page shows it (`~98% on the test set`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_accuracy: Option<&'static str>,
}

/// Hidden layers of the classic exercise's deep network (`--model deep`, the page's 4-layer).
pub const DEEP_HIDDEN: [usize; 3] = [20, 7, 5];
/// Iterations of the classic exercise's deep networks.
pub const DEEP_ITERATIONS: usize = 2500;
/// Learning rate of the classic exercise's deep networks.
pub const DEEP_LEARNING_RATE: f64 = 0.0075;

/// Keys a network request may carry (besides `model`).
const NETWORK_KEYS: [&str; 7] = [
    "hidden",
    "iterations",
    "learning_rate",
    "l2",
    "seed",
    "report_every",
    "solver",
];
/// Keys a learned-feature request may carry (besides `model`).
const FEATURE_KEYS: [&str; 4] = ["seed", "filters", "patches", "kmeans_iterations"];
/// Keys a pretrained-feature request may carry (besides `model`).
const PRETRAINED_KEYS: [&str; 3] = ["side", "seed", "flip"];
/// What the page shows beside the pretrained preset: the test-split accuracy measured at the
/// default side (98%, tests/pretrained.rs).
pub const PRETRAINED_EXPECTED: &str = "~98% on the test set";

fn deep(hidden: &[usize]) -> HyperparamsBuilder {
    HyperparamsBuilder::default()
        .hidden(hidden.to_vec())
        .iterations(DEEP_ITERATIONS)
        .learning_rate(DEEP_LEARNING_RATE)
}

/// The page's model choices, in the order it shows them, each with every default filled in.
pub fn presets() -> Result<Vec<Preset>> {
    let network = |b: HyperparamsBuilder| b.build().map(ModelSpec::Network);
    Ok(vec![
        Preset {
            id: "lr",
            name: "logistic regression",
            spec: network(HyperparamsBuilder::default())?,
            custom_layers: false,
            expected_accuracy: None,
        },
        Preset {
            id: "2layer",
            name: "2-layer [7]",
            spec: network(deep(&[7]))?,
            custom_layers: false,
            expected_accuracy: None,
        },
        Preset {
            id: "4layer",
            name: "4-layer [20,7,5]",
            spec: network(deep(&DEEP_HIDDEN))?,
            custom_layers: false,
            expected_accuracy: None,
        },
        Preset {
            id: "custom",
            name: "custom",
            spec: network(deep(&DEEP_HIDDEN))?,
            custom_layers: true,
            expected_accuracy: None,
        },
        Preset {
            id: "features",
            name: "learned features",
            spec: ModelSpec::Features(FeatureParams::builder().build()?),
            custom_layers: false,
            expected_accuracy: None,
        },
        Preset {
            id: "pretrained",
            name: "pretrained features (EfficientNet-Lite0)",
            spec: ModelSpec::Pretrained(PretrainedParams::builder().build()?),
            custom_layers: false,
            expected_accuracy: Some(PRETRAINED_EXPECTED),
        },
    ])
}

impl ModelSpec {
    /// Reads a training request: a JSON object whose `model` names the kind and whose other
    /// keys override that kind's defaults. `model` is `network` (the default: the builder's
    /// defaults, logistic regression), `lr` (logistic regression; refuses hidden layers),
    /// `deep` (defaults [20, 7, 5], 2500 iterations, learning rate 0.0075), `features` or
    /// `pretrained`.
    /// A key the kind does not take is [`Error::UnusedParameter`], a value out of range
    /// [`Error::InvalidParameter`].
    pub fn from_request(request: &Value) -> Result<ModelSpec> {
        let Some(map) = request.as_object() else {
            return Err(bad_request(format!("{request} is not an object")));
        };
        let model = match map.get("model") {
            None | Some(Value::Null) => "network",
            Some(Value::String(s)) => s.as_str(),
            Some(other) => return Err(unknown_model(other.to_string())),
        };
        let mut given = map.clone();
        given.remove("model");
        match model {
            "network" | "lr" | "deep" => {
                refuse_unknown(&given, &NETWORK_KEYS, "a network", NETWORK_WHY)?;
                let defaults = match model {
                    "deep" => deep(&DEEP_HIDDEN),
                    _ => HyperparamsBuilder::default(),
                };
                let builder: HyperparamsBuilder = overlay(&defaults, given)?;
                if model == "lr" && !builder.hidden.is_empty() {
                    return Err(Error::InvalidParameter {
                        name: "hidden",
                        value: format!("{:?}", builder.hidden),
                        expected:
                            "no hidden layers for logistic regression (choose a deep network)",
                    });
                }
                builder.build().map(ModelSpec::Network)
            }
            "features" => {
                refuse_unknown(
                    &given,
                    &FEATURE_KEYS,
                    "the learned-feature model",
                    FEATURE_WHY,
                )?;
                let builder: FeatureParamsBuilder =
                    overlay(&FeatureParamsBuilder::default(), given)?;
                builder.build().map(ModelSpec::Features)
            }
            "pretrained" => {
                refuse_unknown(
                    &given,
                    &PRETRAINED_KEYS,
                    "the pretrained-feature model",
                    PRETRAINED_WHY,
                )?;
                let builder: PretrainedParamsBuilder =
                    overlay(&PretrainedParamsBuilder::default(), given)?;
                builder.build().map(ModelSpec::Pretrained)
            }
            other => Err(unknown_model(format!("\"{other}\""))),
        }
    }

    /// Whether this kind can be trained on a dataset of `classes` (index = label). The
    /// pretrained-feature model tells apart 2 to [`crate::data::MAX_CLASSES`] (a softmax over
    /// more than two); the networks and the learned-feature model are two-class models (one
    /// logistic output, the exercise's), and a dataset of more classes is refused with what it
    /// has and what to do, before any work.
    pub fn check_classes(&self, classes: &[String]) -> Result<()> {
        if classes.len() == 2 || matches!(self, ModelSpec::Pretrained(_)) {
            return crate::data::check_classes(classes);
        }
        Err(Error::InvalidParameter {
            name: "model",
            value: format!(
                "{} on {} classes ({})",
                self.kind(),
                classes.len(),
                classes.join(", ")
            ),
            expected: "a dataset of two classes: this kind is a two-class model (one output, \
                       the probability of the second class); the pretrained-feature model \
                       takes any number of classes, or train this one on two of them",
        })
    }

    /// The kind's name as model files and the page know it: `network`, `features` or
    /// `pretrained`.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelSpec::Network(_) => super::file::NETWORK_KIND,
            ModelSpec::Features(_) => super::file::FEATURES_KIND,
            ModelSpec::Pretrained(_) => super::file::PRETRAINED_KIND,
        }
    }
}

const NETWORK_WHY: &str = "a network takes hidden, iterations, learning_rate, l2, seed, \
                           report_every and solver";
const FEATURE_WHY: &str = "it takes seed, filters, patches and kmeans_iterations; its penalty is \
                           picked by cross-validation and its stages run to the end";

const PRETRAINED_WHY: &str =
    "it takes side, seed and flip; the backbone is frozen and the penalty \
                              is picked by cross-validation";

fn unknown_model(value: String) -> Error {
    Error::InvalidParameter {
        name: "model",
        value,
        expected: "network, lr, deep, features or pretrained",
    }
}

fn bad_request(value: String) -> Error {
    Error::InvalidParameter {
        name: "training parameters",
        value,
        expected: "an object of the model's parameters (numbers, and a list of layer sizes)",
    }
}

fn refuse_unknown(
    given: &Map<String, Value>,
    allowed: &[&str],
    model: &'static str,
    why: &'static str,
) -> Result<()> {
    match given.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(name) => Err(Error::UnusedParameter {
            model,
            name: name.clone(),
            why,
        }),
        None => Ok(()),
    }
}

/// `defaults` with the `given` keys replaced (null keeps the default).
fn overlay<B>(defaults: &B, given: Map<String, Value>) -> Result<B>
where
    B: Serialize + serde::de::DeserializeOwned,
{
    let mut merged = serde_json::to_value(defaults).map_err(|e| bad_request(e.to_string()))?;
    if let Some(object) = merged.as_object_mut() {
        for (key, value) in given {
            if !value.is_null() {
                object.insert(key, value);
            }
        }
    }
    serde_json::from_value(merged).map_err(|e| bad_request(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn network(spec: ModelSpec) -> Hyperparams {
        match spec {
            ModelSpec::Network(h) => h,
            other => panic!("expected a network, got {other:?}"),
        }
    }

    #[test]
    fn defaults_come_from_the_kind() {
        // The classic exercise's values: 2000 iterations at 0.005 for logistic regression,
        // 2500 at 0.0075 for the [20, 7, 5] network.
        let lr = network(ModelSpec::from_request(&json!({})).unwrap());
        assert_eq!(
            (lr.hidden(), lr.iterations(), lr.learning_rate()),
            (&[][..], 2000, 0.005)
        );
        let d = network(ModelSpec::from_request(&json!({"model": "deep"})).unwrap());
        assert_eq!(
            (d.hidden(), d.iterations(), d.learning_rate()),
            (&[20, 7, 5][..], 2500, 0.0075)
        );
        let d = network(ModelSpec::from_request(&json!({"model": "deep", "hidden": [7]})).unwrap());
        assert_eq!((d.hidden(), d.iterations()), (&[7][..], 2500));
        let f = ModelSpec::from_request(&json!({"model": "features", "seed": 3})).unwrap();
        match f {
            ModelSpec::Features(p) => assert_eq!((p.seed(), p.filters()), (3, 128)),
            other => panic!("{other:?}"),
        }
        let p = ModelSpec::from_request(&json!({"model": "pretrained", "side": 96})).unwrap();
        match p {
            ModelSpec::Pretrained(p) => assert_eq!((p.side(), p.seed(), p.flip()), (96, 1, false)),
            other => panic!("{other:?}"),
        }
        let p = ModelSpec::from_request(&json!({"model": "pretrained", "flip": true})).unwrap();
        match p {
            ModelSpec::Pretrained(p) => assert_eq!((p.side(), p.flip()), (128, true)),
            other => panic!("{other:?}"),
        }
        assert!(ModelSpec::from_request(&json!({"model": "lr", "flip": true})).is_err());
    }

    #[test]
    fn what_a_kind_does_not_take_is_refused_by_name() {
        let e = ModelSpec::from_request(&json!({"model": "features", "learning_rate": 0.1}));
        match e {
            Err(Error::UnusedParameter { name, .. }) => assert_eq!(name, "learning_rate"),
            other => panic!("{other:?}"),
        }
        let e = ModelSpec::from_request(&json!({"filters": 8}));
        assert!(matches!(e, Err(Error::UnusedParameter { .. })), "{e:?}");
        let e = ModelSpec::from_request(&json!({"model": "lr", "hidden": [3]}));
        assert!(
            matches!(e, Err(Error::InvalidParameter { name: "hidden", .. })),
            "{e:?}"
        );
        let e = ModelSpec::from_request(&json!({"model": "pretrained", "filters": 8}));
        match e {
            Err(Error::UnusedParameter { name, .. }) => assert_eq!(name, "filters"),
            other => panic!("{other:?}"),
        }
        let e = ModelSpec::from_request(&json!({"model": "pretrained", "side": 100}));
        assert!(
            matches!(e, Err(Error::InvalidParameter { name: "side", .. })),
            "{e:?}"
        );
        let e = ModelSpec::from_request(&json!({"model": "svm"}));
        assert!(
            matches!(e, Err(Error::InvalidParameter { name: "model", .. })),
            "{e:?}"
        );
        let e = ModelSpec::from_request(&json!({"iterations": "many"}));
        assert!(matches!(e, Err(Error::InvalidParameter { .. })), "{e:?}");
        let e = ModelSpec::from_request(&json!({"learning_rate": -1.0}));
        assert!(
            matches!(
                e,
                Err(Error::InvalidParameter {
                    name: "learning_rate",
                    ..
                })
            ),
            "{e:?}"
        );
        assert!(ModelSpec::from_request(&json!([1, 2])).is_err());
    }

    #[test]
    fn a_spec_reads_back_as_itself() {
        for preset in presets().unwrap() {
            let json = serde_json::to_value(&preset.spec).unwrap();
            assert_eq!(json["model"], preset.spec.kind());
            assert_eq!(ModelSpec::from_request(&json).unwrap(), preset.spec);
        }
    }
}
