//! Writes the small seed corpus of the fuzz targets (fuzz/seeds/<target>/; safetensors files are
//! named `.bin` there, since `*.safetensors` is never committed):
//!
//!     cargo run --release --example fuzz_seeds -- fuzz/seeds
//!
//! Seeds are tiny valid inputs of each kind, so that the fuzzer starts from files that reach
//! deep into each parser instead of rediscovering the container formats.
//!
//! With a second folder, it also writes hand-made hostile inputs (the seeds cut, patched to
//! absurd sizes or broken labels) for `photo` and `dataset_blob` beside the fuzzer's finds:
//!
//!     cargo run --release --example fuzz_seeds -- fuzz/seeds fuzz/regressions
//!
//! Their outcomes are pinned in `fuzz/regressions/<target>/expected.json` (tests/fuzz_inputs.rs).

use std::io::Cursor;
use std::path::Path;

use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, Frame, ImageBuffer, ImageFormat, Rgba, RgbaImage};
use ndarray::{Array1, Array2};
use purrceptron::data::{Dataset, Split};
use purrceptron::features::FeatureParams;
use purrceptron::model::save_features;
use purrceptron::model::{Receipt, SavedNetwork};
use purrceptron::network::{Hyperparams, Network};
use purrceptron::preprocess::PIXELS;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Res<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(name), bytes)?;
    Ok(())
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Res<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format)?;
    Ok(out.into_inner())
}

/// A 13 x 9 picture with some structure (a gradient and a diagonal), odd sizes on purpose.
fn picture() -> RgbaImage {
    ImageBuffer::from_fn(13, 9, |x, y| {
        let d = if x == y { 255 } else { 0 };
        Rgba([(x * 19) as u8, (y * 28) as u8, d, 128 + (x * 9) as u8])
    })
}

/// JPEG with an APP1 Exif segment holding Orientation = 6 (a phone held upright).
fn exif_jpeg(jpeg: &[u8]) -> Vec<u8> {
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend_from_slice(&[1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]);
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn photos(dir: &Path) -> Res<()> {
    let rgba = DynamicImage::ImageRgba8(picture());
    let rgb = DynamicImage::ImageRgb8(rgba.to_rgb8());
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 80).encode_image(&rgb)?;
    write(dir, "rgb.jpg", &jpeg)?;
    write(dir, "exif6.jpg", &exif_jpeg(&jpeg))?;
    let mut grey = Vec::new();
    JpegEncoder::new_with_quality(&mut grey, 80).encode_image(&rgb.to_luma8())?;
    write(dir, "grey.jpg", &grey)?;
    write(dir, "rgba.png", &encode(&rgba, ImageFormat::Png)?)?;
    write(
        dir,
        "rgb16.png",
        &encode(&DynamicImage::ImageRgb16(rgba.to_rgb16()), ImageFormat::Png)?,
    )?;
    write(
        dir,
        "grey.png",
        &encode(&DynamicImage::ImageLuma8(rgba.to_luma8()), ImageFormat::Png)?,
    )?;
    write(dir, "rgb.bmp", &encode(&rgb, ImageFormat::Bmp)?)?;
    write(dir, "rgba.webp", &encode(&rgba, ImageFormat::WebP)?)?;
    let mut gif = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut gif);
        let second = ImageBuffer::from_fn(13, 9, |x, _| Rgba([0, (x * 19) as u8, 255, 255]));
        enc.encode_frames([Frame::new(picture()), Frame::new(second)])?;
    }
    write(dir, "animated.gif", &gif)?;
    Ok(())
}

fn dataset(dir: &Path) -> Res<()> {
    let image = |k: u8| {
        (0..PIXELS)
            .map(|i| (i as u8).wrapping_mul(k))
            .collect::<Vec<u8>>()
    };
    let d = Dataset {
        train: Split::new([image(1), image(3)].concat(), vec![1, 0], 2)?,
        test: Split::new(image(7), vec![1], 2)?,
        classes: vec!["non-cat".into(), "cat".into()],
        source: "fuzz seed".into(),
        source_sha256: String::new(),
    };
    write(dir, "tiny-dataset.bin", &d.to_bytes()?)?;
    Ok(())
}

fn model(dir: &Path) -> Res<()> {
    let w = Array2::from_shape_fn((1, PIXELS), |(_, j)| (j % 7) as f64 * 1e-4 - 3e-4);
    let network = Network::from_parts(vec![w], vec![Array1::from_elem(1, 0.25)])?;
    let m = SavedNetwork {
        network,
        hyperparams: Hyperparams::builder().build()?,
        receipt: Receipt {
            dataset_sha256: "0".repeat(64),
            final_cost: 0.5,
            train_accuracy: 0.75,
            test_accuracy: Some(0.5),
            iterations_run: 10,
            created: "2026-01-01T00:00:00Z".into(),
        },
        classes: vec!["non-cat".into(), "cat".into()],
    };
    write(dir, "lr-model.bin", &m.to_bytes()?)?;

    // A learned-feature model, kept small (4 filters) so that the fuzzer's inputs stay short.
    let image = |k: usize| -> Vec<u8> {
        (0..PIXELS)
            .map(|i| ((i * (k + 1) + (i / 192) * k * 9) % 256) as u8)
            .collect()
    };
    let pixels: Vec<u8> = (0..12).flat_map(image).collect();
    let labels: Vec<u8> = (0..12).map(|k| (k % 2) as u8).collect();
    let d = Dataset {
        train: Split::new(pixels.clone(), labels.clone(), 2)?,
        test: Split::new(image(3), vec![1], 2)?,
        classes: vec!["non-cat".into(), "cat".into()],
        source: "fuzz seed".into(),
        source_sha256: String::new(),
    };
    let params = FeatureParams::builder()
        .filters(4)
        .patches(200)
        .kmeans_iterations(2)
        .build()?;
    let trained = params.fit(&pixels, &labels, |_| {})?;
    let (saved, _) = save_features(
        trained,
        &d,
        d.content_sha256(),
        "2026-01-01T00:00:00Z".into(),
    )?;
    write(dir, "features-model.bin", &saved.to_bytes()?)?;
    Ok(())
}

/// The first offset of `marker` in `bytes`.
fn find(bytes: &[u8], marker: &[u8]) -> Res<usize> {
    bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .ok_or_else(|| format!("no {marker:?} in the seed").into())
}

/// `bytes` with `patch` written at `at`.
fn patched(bytes: &[u8], at: usize, patch: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at..at + patch.len()].copy_from_slice(patch);
    out
}

/// A PNG made of an IHDR chunk alone, claiming `width` x `height` 8-bit RGB pixels.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut chunk = b"IHDR".to_vec();
    chunk.extend_from_slice(&width.to_be_bytes());
    chunk.extend_from_slice(&height.to_be_bytes());
    chunk.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut crc = !0u32;
    for &b in &chunk {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&chunk);
    png.extend_from_slice(&(!crc).to_be_bytes());
    png
}

/// Photos that must be refused (or decoded) quickly, without a panic or a huge allocation.
fn hostile_photos(seeds: &Path, dir: &Path) -> Res<()> {
    let seed = |name: &str| std::fs::read(seeds.join(name));
    let jpeg = seed("rgb.jpg")?;
    write(dir, "empty.bin", b"")?;
    write(dir, "text.jpg", b"this is not a photo")?;
    write(
        dir,
        "heic-brand.heic",
        b"\0\0\0\x18ftypheic\0\0\0\0mif1heic",
    )?;
    // One past PNG's largest side, and one row past the pixel limit at the largest side.
    write(dir, "png-2pow31-square.png", &png_header(1 << 31, 1 << 31))?;
    write(dir, "png-16384x4097.png", &png_header(16_384, 4_097))?;
    // The JPEG's SOF0 frame header: marker, length (2), precision (1), height, width.
    let sof = find(&jpeg, &[0xFF, 0xC0])?;
    write(
        dir,
        "jpeg-sof-65535-square.jpg",
        &patched(&jpeg, sof + 5, &[0xFF, 0xFF, 0xFF, 0xFF]),
    )?;
    write(
        dir,
        "jpeg-sof-zero-width.jpg",
        &patched(&jpeg, sof + 7, &[0, 0]),
    )?;
    write(dir, "jpeg-half.jpg", &jpeg[..jpeg.len() / 2])?;
    write(dir, "exif6-cut-in-app1.jpg", &seed("exif6.jpg")?[..20])?;
    let png = seed("rgba.png")?;
    write(
        dir,
        "png-cut-in-idat.png",
        &png[..find(&png, b"IDAT")? + 12],
    )?;
    // GIF's logical screen size (bytes 6..10, little-endian).
    write(
        dir,
        "gif-screen-65535-square.gif",
        &patched(&seed("animated.gif")?, 6, &[0xFF; 4]),
    )?;
    // BMP's height (bytes 22..26, signed little-endian): i32::MIN.
    write(
        dir,
        "bmp-height-i32-min.bmp",
        &patched(&seed("rgb.bmp")?, 22, &i32::MIN.to_le_bytes()),
    )?;
    let webp = seed("rgba.webp")?;
    write(dir, "webp-half.webp", &webp[..webp.len() / 2])?;
    Ok(())
}

/// A safetensors file with its JSON header edited by `edit` (the data is kept as it is).
fn with_header(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Res<Vec<u8>> {
    let n = u64::from_le_bytes(bytes[..8].try_into()?) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n])?;
    edit(&mut header);
    let text = serde_json::to_vec(&header)?;
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

/// Dataset blobs that must be refused with a dataset error.
fn hostile_datasets(seeds: &Path, dir: &Path) -> Res<()> {
    let blob = std::fs::read(seeds.join("dataset_blob/tiny-dataset.bin"))?;
    write(dir, "empty.bin", b"")?;
    write(dir, "half.bin", &blob[..blob.len() / 2])?;
    let mut huge = u64::MAX.to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    write(dir, "header-length-u64-max.bin", &huge)?;
    write(
        dir,
        "model-file.bin",
        &std::fs::read(seeds.join("model_file/lr-model.bin"))?,
    )?;
    // The header (sorted keys) ends with train_y's two label bytes: the last byte is a label.
    let mut label = blob.clone();
    *label.last_mut().ok_or("empty seed")? = 2;
    write(dir, "label-2.bin", &label)?;
    write(
        dir,
        "train-x-shape.bin",
        &with_header(&blob, |h| {
            h["train_x"]["shape"] = serde_json::json!([2, 64, 32, 6])
        })?,
    )?;
    write(
        dir,
        "train-y-dtype-i8.bin",
        &with_header(&blob, |h| h["train_y"]["dtype"] = "I8".into())?,
    )?;
    write(
        dir,
        "version-2.bin",
        &with_header(&blob, |h| h["__metadata__"]["version"] = "2".into())?,
    )?;
    write(
        dir,
        "three-classes.bin",
        &with_header(&blob, |h| {
            h["__metadata__"]["classes"] = r#"["a","b","c"]"#.into()
        })?,
    )?;
    // No training images: the train tensors (the data's tail, after the test image and its
    // label) cut to zero images.
    let test_end = PIXELS + 1;
    let mut empty_train = with_header(&blob, |h| {
        h["train_x"]["shape"] = serde_json::json!([0, 64, 64, 3]);
        h["train_x"]["data_offsets"] = serde_json::json!([test_end, test_end]);
        h["train_y"]["shape"] = serde_json::json!([0]);
        h["train_y"]["data_offsets"] = serde_json::json!([test_end, test_end]);
    })?;
    empty_train.truncate(empty_train.len() - 2 * PIXELS - 2);
    write(dir, "no-train-images.bin", &empty_train)?;
    Ok(())
}

fn main() -> Res<()> {
    let mut args = std::env::args().skip(1);
    let root = args.next().unwrap_or_else(|| "fuzz/seeds".into());
    let root = Path::new(&root);
    photos(&root.join("photo"))?;
    dataset(&root.join("dataset_blob"))?;
    model(&root.join("model_file"))?;
    if let Some(regressions) = args.next() {
        let regressions = Path::new(&regressions);
        hostile_photos(&root.join("photo"), &regressions.join("photo"))?;
        hostile_datasets(root, &regressions.join("dataset_blob"))?;
    }
    Ok(())
}
