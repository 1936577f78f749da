//! Writes the small seed corpus of the fuzz targets (fuzz/seeds/<target>/; safetensors files are
//! named `.bin` there, since `*.safetensors` is never committed):
//!
//!     cargo run --release --example fuzz_seeds -- fuzz/seeds
//!
//! Seeds are tiny valid inputs of each kind, so that the fuzzer starts from files that reach
//! deep into each parser instead of rediscovering the container formats.

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

fn main() -> Res<()> {
    let root = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/seeds".into());
    let root = Path::new(&root);
    photos(&root.join("photo"))?;
    dataset(&root.join("dataset_blob"))?;
    model(&root.join("model_file"))?;
    Ok(())
}
