//! `www/protocol.js` against the Rust types: the same messages, each with the same fields, the
//! optional ones marked as such, and values of the JS types.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{Reply, Request};

/// The fields of one message: `(name, optional, JS type)`.
type Fields = Vec<(String, bool, String)>;

/// `(side, type)` -> fields of every `@typedef` in protocol.js whose first property is a
/// string-literal `type`; `side` is `request` for a typedef named `...Request`, else `reply`.
fn js_messages() -> BTreeMap<(String, String), Fields> {
    let source = include_str!("../../www/protocol.js");
    let mut messages = BTreeMap::new();
    let mut side = String::new();
    let mut current: Option<(String, Fields)> = None;
    for line in source.lines().map(str::trim) {
        if line.starts_with("* @typedef {Object}") || line == "*/" {
            if let Some((name, fields)) = current.take() {
                messages.insert((side.clone(), name), fields);
            }
            if let Some(name) = line.strip_prefix("* @typedef {Object} ") {
                side = if name.ends_with("Request") {
                    "request"
                } else {
                    "reply"
                }
                .to_string();
            }
            continue;
        }
        let Some(rest) = line.strip_prefix("* @property {") else {
            continue;
        };
        let Some((ty, name)) = rest.split_once("} ") else {
            continue;
        };
        let name = name.split_whitespace().next().unwrap_or("");
        if name == "type" {
            if let Some(literal) = ty.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
                current = Some((literal.to_string(), Vec::new()));
            }
            continue;
        }
        if let Some((_, fields)) = current.as_mut() {
            let optional = name.starts_with('[');
            let name = name.trim_matches(|c| c == '[' || c == ']');
            fields.push((name.to_string(), optional, ty.to_string()));
        }
    }
    messages
}

/// One value of every request, every optional field given.
fn requests() -> Vec<Request> {
    let bytes = vec![1, 2, 3];
    vec![
        Request::Train {
            id: 1,
            params: json!({"model": "lr"}),
        },
        Request::Cancel { id: 2 },
        Request::Classify {
            id: 3,
            bytes: bytes.clone(),
            name: "cat.jpg".into(),
        },
        Request::LoadModel {
            id: 4,
            bytes: bytes.clone(),
        },
        Request::ExportModel { id: 5 },
        Request::ResultsCsv {
            id: 5,
            classes: vec!["non-cat".into(), "cat".into()],
            rows: vec![json!({"file": "a.jpg", "error": "not an image"})],
        },
        Request::Inspect { id: 6 },
        Request::DatasetAdd {
            id: 7,
            label: 1,
            name: "cat.jpg".into(),
            bytes: bytes.clone(),
        },
        Request::DatasetThumbnails {
            id: 20,
            label: 1,
            from: 24,
            count: 24,
        },
        Request::DatasetClear { id: 8 },
        Request::DatasetClasses {
            id: 8,
            names: vec!["cat".into(), "non-cat".into(), "dog".into()],
            from: vec![1, 0, -1],
        },
        Request::DatasetBuild {
            id: 9,
            test_fraction: 0.2,
            seed: 1,
        },
        Request::DatasetUse {
            id: 10,
            which: "own".into(),
        },
        Request::DatasetExport { id: 11 },
        Request::DatasetLoad {
            id: 12,
            bytes: bytes.clone(),
        },
        Request::ProjectExport { id: 18 },
        Request::ProjectOpen { id: 19, bytes },
        Request::Ping { id: 13 },
        Request::Memory { id: 14 },
        Request::Crash { id: 15 },
        Request::Hold {
            id: 17,
            stage: Some("fitting".into()),
        },
        Request::LoadBackbone {
            id: 16,
            bytes: vec![1, 2, 3],
        },
    ]
}

/// One value of every reply, every optional and nullable field given.
fn replies() -> Vec<Reply> {
    let bytes = vec![1, 2, 3];
    let object = json!({"n": 1});
    let presets = crate::model::presets().unwrap_or_default();
    vec![
        Reply::Ready {
            summary: Some(object.clone()),
            samples: vec![object.clone()],
            presets,
        },
        Reply::StartupError {
            kind: "io".into(),
            message: "no dataset".into(),
        },
        Reply::Progress {
            id: 1,
            done: 10,
            iterations: 20,
            cost: Some(0.5),
            cost_iteration: Some(10),
            stage: Some("k-means".into()),
            stage_done: Some(0.5),
            elapsed: 0.1,
        },
        Reply::Trained {
            id: 1,
            stopped: false,
            discarded: Some(false),
            features: Some("cached".into()),
            done: 20,
            iterations: 20,
            info: Some(object.clone()),
            seconds: 0.2,
        },
        Reply::Cancelling {
            id: 2,
            running: true,
        },
        Reply::Classified {
            id: 3,
            name: "cat.jpg".into(),
            by: "imagenet".into(),
            probability: 0.9,
            label: "cat".into(),
            probabilities: [("non-cat".to_string(), 0.1), ("cat".to_string(), 0.9)].into(),
            classes: vec!["non-cat".into(), "cat".into()],
            width: 640,
            height: 480,
            format: "jpeg".into(),
            side: 128,
            seen_rgba: bytes.clone(),
            class_name: Some("tabby cat".into()),
            class_probability: Some(0.5),
            heat: Some(vec![0.5; 16]),
            heat_side: Some(4),
        },
        Reply::ModelLoaded {
            id: 4,
            info: object.clone(),
            needs_backbone: Some("ab".repeat(32)),
        },
        Reply::ResultsCsv {
            id: 5,
            csv: "file,class\r\n".into(),
        },
        Reply::ModelBytes {
            id: 5,
            bytes: bytes.clone(),
        },
        Reply::Inspection {
            id: 6,
            evaluation: object.clone(),
            classes: vec!["non-cat".into(), "cat".into()],
            probabilities: vec![0.5, 0.5],
            labels: bytes.clone(),
            images: bytes.clone(),
            side: 64,
            weights: Some(bytes.clone()),
            heat: Some(vec![0.5; 16]),
            heat_side: Some(4),
            heat_indices: Some(vec![3]),
        },
        Reply::DatasetAdded {
            id: 7,
            name: "cat.jpg".into(),
            label: 1,
            ok: true,
            width: Some(640),
            height: Some(480),
            format: Some("jpeg".into()),
            error: Some("none".into()),
            counts: json!([{"given": 1, "ok": 1}]),
        },
        Reply::DatasetCleared {
            id: 8,
            counts: Some(json!([{"given": 0, "ok": 0}])),
        },
        Reply::DatasetClassesSet {
            id: 8,
            classes: vec!["non-cat".into(), "cat".into()],
            counts: json!([{"given": 0, "ok": 0}, {"given": 2, "ok": 1}]),
        },
        Reply::DatasetBuilt {
            id: 9,
            summary: object.clone(),
            samples: vec![object.clone()],
        },
        Reply::DatasetUsing {
            id: 10,
            which: "own".into(),
            summary: object.clone(),
        },
        Reply::DatasetExported {
            id: 11,
            bytes: bytes.clone(),
        },
        Reply::DatasetThumbnails {
            id: 20,
            label: 1,
            from: 24,
            names: vec!["a.jpg".into()],
            rgba: bytes.clone(),
        },
        Reply::ProjectExported {
            id: 18,
            bytes: bytes.clone(),
        },
        Reply::ProjectOpened {
            id: 19,
            dataset: bytes.clone(),
            model: Some(bytes.clone()),
            classes: vec!["a".into(), "b".into()],
        },
        Reply::DatasetLoaded {
            id: 12,
            summary: object.clone(),
            samples: vec![object],
        },
        Reply::Pong { id: 13 },
        Reply::BackboneLoaded {
            id: 16,
            sha256: "ab".repeat(32),
            bytes: 4_700_000,
        },
        Reply::Memory {
            id: 14,
            wasm_bytes: 1 << 20,
        },
        Reply::Held {
            id: 17,
            stage: None,
        },
        Reply::Error {
            id: Some(3),
            kind: "photo".into(),
            message: "the file is empty".into(),
        },
        Reply::Fatal {
            kind: "internal".into(),
            message: "unreachable".into(),
        },
    ]
}

/// True when `value` is of the JS type `ty` (`number|null`, `ArrayBuffer`, `Object`...).
fn is_of(value: &Value, ty: &str) -> bool {
    ty.split('|').any(|t| match t.trim() {
        "null" => value.is_null(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "Object" => value.is_object(),
        t if t.starts_with("Object<") => value.is_object(),
        "ArrayBuffer" | "Uint8Array" | "Float64Array" => value.is_array(),
        t if t.starts_with("Array") => value.is_array(),
        _ => false,
    })
}

/// Each serialised sample's fields, checked against its typedef in protocol.js.
fn check(samples: Vec<Value>, js: &BTreeMap<(String, String), Fields>, side: &str) {
    for sample in samples {
        let object = sample.as_object().cloned().unwrap_or_default();
        let ty = object.get("type").and_then(Value::as_str).unwrap_or("");
        let fields = js
            .get(&(side.to_string(), ty.to_string()))
            .unwrap_or_else(|| panic!("{side} `{ty}` has no @typedef in www/protocol.js"));
        let mut rust: Vec<&str> = object.keys().map(String::as_str).collect();
        rust.retain(|k| *k != "type");
        rust.sort_unstable();
        let mut documented: Vec<&str> = fields.iter().map(|(n, _, _)| n.as_str()).collect();
        documented.sort_unstable();
        assert_eq!(
            rust, documented,
            "fields of {side} `{ty}`: Rust vs protocol.js"
        );
        for (name, _, js_type) in fields {
            let value = &object[name.as_str()];
            assert!(
                is_of(value, js_type),
                "{side} `{ty}`.{name} is {value} in Rust but {{{js_type}}} in protocol.js"
            );
        }
    }
}

#[test]
fn every_message_has_the_same_fields_on_both_sides() {
    let js = js_messages();
    let requests: Vec<Value> = requests()
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or_default())
        .collect();
    let replies: Vec<Value> = replies()
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or_default())
        .collect();
    let names = |v: &[Value]| -> Vec<String> {
        v.iter()
            .filter_map(|m| m["type"].as_str().map(String::from))
            .collect()
    };
    let (request_names, reply_names) = (names(&requests), names(&replies));
    // Every documented message is one of the Rust ones, on the same side.
    for (side, ty) in js.keys() {
        let rust = if side == "request" {
            &request_names
        } else {
            &reply_names
        };
        assert!(
            rust.contains(ty),
            "protocol.js documents the {side} `{ty}`, which the Rust protocol does not have"
        );
    }
    check(requests, &js, "request");
    check(replies, &js, "reply");
}

#[test]
fn optional_fields_are_left_out_when_absent_and_marked_so_in_js() {
    let js = js_messages();
    // A photo that could not be decoded: only the fields every `dataset-added` has.
    let failed = Reply::DatasetAdded {
        id: 1,
        name: "notes.txt".into(),
        label: 0,
        ok: false,
        width: None,
        height: None,
        format: None,
        error: None,
        counts: json!([]),
    };
    let value = serde_json::to_value(&failed).unwrap_or_default();
    let present: Vec<&String> = value
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    let fields = &js[&("reply".to_string(), "dataset-added".to_string())];
    for (name, optional, _) in fields {
        assert_eq!(
            !present.contains(&name),
            *optional,
            "dataset-added.{name}: left out in Rust iff optional in protocol.js"
        );
    }
    // A photo classified by a model: none of the no-training mode's fields.
    let by_model = Reply::Classified {
        id: 2,
        name: "cat.jpg".into(),
        by: "model".into(),
        probability: 0.25,
        label: "non-cat".into(),
        probabilities: [("non-cat".to_string(), 0.75), ("cat".to_string(), 0.25)].into(),
        classes: vec!["non-cat".into(), "cat".into()],
        width: 64,
        height: 64,
        format: "png".into(),
        side: 64,
        seen_rgba: vec![0; 4],
        class_name: None,
        class_probability: None,
        heat: None,
        heat_side: None,
    };
    let value = serde_json::to_value(&by_model).unwrap_or_default();
    let fields = &js[&("reply".to_string(), "classified".to_string())];
    for (name, optional, _) in fields {
        assert_eq!(
            value.get(name).is_none(),
            *optional,
            "classified.{name}: left out in Rust iff optional in protocol.js"
        );
    }
    let request: Request =
        serde_json::from_value(json!({"type": "classify", "id": 3, "bytes": [1], "name": "a"}))
            .unwrap_or(Request::Ping { id: 0 });
    assert_eq!(
        request,
        Request::Classify {
            id: 3,
            bytes: vec![1],
            name: "a".into()
        }
    );
}
