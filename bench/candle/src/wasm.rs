//! The wasm32 entry points (wasm-bindgen): load a backbone, then run the forward pass over
//! synthetic images; the page times the calls with `performance.now()`.

use std::cell::RefCell;

use candle_core::Device;
use wasm_bindgen::prelude::*;

use crate::run::{features_in_batches, first_features};
use crate::{synthetic, Depthwise, Net};

thread_local! {
    static NET: RefCell<Option<Net>> = const { RefCell::new(None) };
}

fn mode(groups: bool) -> Depthwise {
    if groups {
        Depthwise::Groups
    } else {
        Depthwise::Shifts
    }
}

/// Loads `backbone.safetensors` bytes.
#[wasm_bindgen]
pub fn load(bytes: &[u8]) -> Result<(), JsError> {
    let net = Net::load(bytes, &Device::Cpu).map_err(|e| JsError::new(&e.to_string()))?;
    NET.with(|n| *n.borrow_mut() = Some(net));
    Ok(())
}

/// The features line of synthetic image 0 (see `run::first_features`).
#[wasm_bindgen]
pub fn features_line(side: usize, groups: bool) -> Result<String, JsError> {
    NET.with(|n| {
        let net = n.borrow();
        let net = net.as_ref().ok_or_else(|| JsError::new("load first"))?;
        first_features(net, &synthetic(0, side), side, mode(groups))
            .map_err(|e| JsError::new(&e.to_string()))
    })
}

/// The features of `n` synthetic images, `batch` at a time; returns `n`.
#[wasm_bindgen]
pub fn run(n: usize, side: usize, batch: usize, groups: bool) -> Result<usize, JsError> {
    let images: Vec<Vec<u8>> = (0..n).map(|k| synthetic(k, side)).collect();
    NET.with(|net| {
        let net = net.borrow();
        let net = net.as_ref().ok_or_else(|| JsError::new("load first"))?;
        features_in_batches(net, &images, side, batch, mode(groups))
            .map_err(|e| JsError::new(&e.to_string()))
    })
}
