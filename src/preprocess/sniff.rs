//! Recognising a photo's format from its first bytes: the formats this build decodes, names
//! for those it cannot (HEIC/HEIF, AVIF, TIFF, SVG, PDF, ...), and the dimensions declared by
//! a header, read by hand for messages and memory accounting.

use image::ImageFormat;

use super::jpeg::jpeg_header;

/// The formats this build decodes, for messages.
pub(super) const DECODED: &str = "JPEG, PNG, GIF, WebP or BMP";

pub(super) fn format_name(format: ImageFormat) -> Option<&'static str> {
    match format {
        ImageFormat::Jpeg => Some("jpeg"),
        ImageFormat::Png => Some("png"),
        ImageFormat::Gif => Some("gif"),
        ImageFormat::WebP => Some("webp"),
        ImageFormat::Bmp => Some("bmp"),
        _ => None,
    }
}

pub(super) fn other_format_name(format: ImageFormat) -> String {
    match format {
        ImageFormat::Avif => "AVIF".into(),
        ImageFormat::Tiff => "TIFF".into(),
        ImageFormat::Ico => "ICO (icon)".into(),
        ImageFormat::Pnm => "PNM (Netpbm)".into(),
        ImageFormat::Dds => "DDS".into(),
        ImageFormat::Hdr => "Radiance HDR".into(),
        ImageFormat::OpenExr => "OpenEXR".into(),
        ImageFormat::Qoi => "QOI".into(),
        ImageFormat::Farbfeld => "Farbfeld".into(),
        ImageFormat::Tga => "TGA".into(),
        other => format!("{other:?}"),
    }
}

/// Names formats this build cannot decode, from their first bytes.
pub(super) fn sniff_unsupported(bytes: &[u8]) -> Option<String> {
    // ISO base media file format: `size` `ftyp` `major brand` `minor version` `compatible...`
    if bytes.get(4..8) == Some(b"ftyp") {
        let box_len = be_u32(bytes, 0).map_or(0, |n| n as usize).min(4096);
        let mut brands: Vec<&[u8]> = bytes.get(8..12).into_iter().collect();
        if let Some(compatible) = bytes.get(16..box_len.min(bytes.len())) {
            brands.extend(compatible.chunks_exact(4));
        }
        let has = |list: &[&[u8]]| brands.iter().any(|b| list.contains(b));
        let major = brands.first().copied().unwrap_or(b"");
        let heif: &[&[u8]] = &[
            b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs",
        ];
        let avif: &[&[u8]] = &[b"avif", b"avis"];
        let video: &[&[u8]] = &[
            b"isom", b"iso2", b"mp41", b"mp42", b"qt  ", b"M4V ", b"avc1", b"3gp4", b"3gp5",
            b"3g2a", b"dash",
        ];
        return Some(if avif.contains(&major) || (!has(heif) && has(avif)) {
            "AVIF images cannot be decoded by this build: convert the photo to JPEG or PNG first"
                .into()
        } else if has(heif) || major == b"mif1" || major == b"msf1" || major == b"mif2" {
            "HEIC/HEIF images (the iPhone's default photo format) cannot be decoded by this \
             build: convert the photo to JPEG or PNG first (on an iPhone: Settings > Camera > \
             Formats > Most Compatible)"
                .into()
        } else if major == b"crx " {
            "Canon CR3 raw photos cannot be decoded: export a JPEG first".into()
        } else if major == b"jp2 " || major == b"jpx " {
            "JPEG 2000 images cannot be decoded by this build".into()
        } else if has(video) {
            "this is a video (MP4/QuickTime), not an image".into()
        } else {
            format!(
                "an ISO media file (brand '{}'), not an image this build can decode",
                String::from_utf8_lossy(major).trim()
            )
        });
    }
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"%PDF-") {
        return Some("PDF documents are not images: export the page as PNG or JPEG".into());
    }
    if starts(b"%!PS") || starts(&[0xC5, 0xD0, 0xD3, 0xC6]) {
        return Some("PostScript/EPS documents are not images this build can decode".into());
    }
    if starts(&[0xFF, 0x0A]) || starts(b"\0\0\0\x0cJXL \r\n\x87\n") {
        return Some("JPEG XL images cannot be decoded by this build".into());
    }
    if starts(b"\0\0\0\x0cjP  \r\n\x87\n") || starts(&[0xFF, 0x4F, 0xFF, 0x51]) {
        return Some("JPEG 2000 images cannot be decoded by this build".into());
    }
    if starts(b"8BPS") {
        return Some("Photoshop PSD files cannot be decoded: export a JPEG or PNG".into());
    }
    if starts(b"PK\x03\x04") {
        return Some("this is a ZIP archive, not an image: unpack it first".into());
    }
    sniff_markup(bytes)
}

/// SVG, HTML and XML: text starting with `<` (after a BOM and whitespace).
fn sniff_markup(bytes: &[u8]) -> Option<String> {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let head: Vec<u8> = text
        .get(start..)?
        .iter()
        .take(4096)
        .map(u8::to_ascii_lowercase)
        .collect();
    if !head.starts_with(b"<") {
        return None;
    }
    let contains = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if contains(b"<svg") {
        Some("SVG (vector graphics) cannot be decoded: export it as PNG or JPEG first".into())
    } else if head.starts_with(b"<!doctype html") || contains(b"<html") {
        Some("this is an HTML web page, not an image (save the image itself)".into())
    } else if head.starts_with(b"<?xml") {
        Some("this is an XML document, not an image".into())
    } else {
        None
    }
}

pub(super) fn unrecognised(bytes: &[u8]) -> String {
    let head = bytes.get(..512).unwrap_or(bytes);
    let texty = match std::str::from_utf8(head) {
        Ok(s) => s.chars().all(|c| !c.is_control() || c.is_whitespace()),
        // A multi-byte character cut at the end of the prefix is still text.
        Err(e) => e.error_len().is_none(),
    };
    if texty {
        format!("not an image: the file looks like text (unrecognised format; use {DECODED})")
    } else {
        format!("not an image (unrecognised format; use {DECODED})")
    }
}

// ---- header parsing (only for messages and memory accounting) ---------------------------------

pub(super) fn be_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(s))
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([*s.first()?, *s.get(1)?]))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(s))
}

fn le_u24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(3)?)?;
    Some(u32::from_le_bytes([*s.first()?, *s.get(1)?, *s.get(2)?, 0]))
}

/// Width and height as declared by the header, read by hand: used to name the size of images
/// that the decoders refuse to open because of the limits.
pub(super) fn header_dimensions(b: &[u8], format: ImageFormat) -> Option<(u64, u64)> {
    let dims = match format {
        ImageFormat::Png if b.get(12..16) == Some(b"IHDR") => {
            (be_u32(b, 16)?.into(), be_u32(b, 20)?.into())
        }
        ImageFormat::Gif => (le_u16(b, 6)?.into(), le_u16(b, 8)?.into()),
        ImageFormat::Bmp => {
            if le_u32(b, 14)? == 12 {
                (le_u16(b, 18)?.into(), le_u16(b, 20)?.into())
            } else {
                let w = le_u32(b, 18)? as i32;
                let h = le_u32(b, 22)? as i32;
                (w.unsigned_abs().into(), h.unsigned_abs().into())
            }
        }
        ImageFormat::Jpeg => {
            let h = jpeg_header(b)?;
            (h.width.into(), h.height.into())
        }
        ImageFormat::WebP => match b.get(12..16)? {
            b"VP8X" => (u64::from(le_u24(b, 24)?) + 1, u64::from(le_u24(b, 27)?) + 1),
            b"VP8L" => {
                let bits = le_u32(b, 21)?;
                (
                    u64::from(bits & 0x3fff) + 1,
                    u64::from((bits >> 14) & 0x3fff) + 1,
                )
            }
            b"VP8 " => (
                (le_u16(b, 26)? & 0x3fff).into(),
                (le_u16(b, 28)? & 0x3fff).into(),
            ),
            _ => return None,
        },
        _ => return None,
    };
    Some(dims)
}
