//! What happens to uploaded bytes, off the async runtime: the type is read from the bytes
//! (never the client's word), images are decoded with limits (a decompression bomb fails
//! before it allocates), metadata is stripped from the original, and the WebP variants
//! are made. MP4 is checked by its signature and stored as it is.
//!
//! The original is stripped without re-encoding (`img-parts` drops the EXIF, XMP and
//! IPTC segments of JPEG, the `eXIf` and text chunks of PNG, the EXIF of WebP): its
//! pixels stay exactly as uploaded. The EXIF orientation goes with the EXIF, so
//! width, height and variants are those of the stored pixels.

use std::io::Cursor;

use bytes::Bytes;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};

/// The types media accepts, and the image format each decodes with (none: stored as is).
pub const ALLOWED: &[(&str, Option<ImageFormat>)] = &[
    ("image/jpeg", Some(ImageFormat::Jpeg)),
    ("image/png", Some(ImageFormat::Png)),
    ("image/webp", Some(ImageFormat::WebP)),
    ("image/gif", Some(ImageFormat::Gif)),
    ("video/mp4", None),
];

/// Images wider or taller than this are refused before decoding.
pub const MAX_SIDE: u32 = 12_000;
/// The most one decode may allocate: a 6000×4000 RGBA photo fits, a bomb does not.
pub const MAX_DECODE_BYTES: u64 = 128 * 1024 * 1024;

/// The variants made of every image: name and the longest side it fits in.
pub const VARIANTS: &[(&str, u32)] = &[("display", 1080), ("thumbnail", 256)];

/// Why uploaded bytes were refused; each reaches the client as a clear HTTP error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// No bytes at all.
    #[error("the upload is empty")]
    Empty,
    /// The bytes are of no accepted type.
    #[error("the bytes are not a JPEG, PNG, WebP, GIF or MP4 file")]
    Unsupported,
    /// The bytes are of another accepted type than the one declared.
    #[error("the bytes are {found}, not {declared} as declared")]
    Mismatch {
        /// What `createUpload` said.
        declared: String,
        /// What the bytes are.
        found: &'static str,
    },
    /// The image is larger than media decodes (a decompression bomb, or just too big).
    #[error("the image is too large to process ({0})")]
    TooLarge(String),
    /// The bytes claim to be an image but do not decode.
    #[error("the image does not decode: {0}")]
    Undecodable(String),
}

/// A processed file to store.
#[derive(Debug)]
pub struct File {
    /// Its name in the media's folder (`original`, `display`, `thumbnail`).
    pub name: &'static str,
    /// Its bytes.
    pub bytes: Bytes,
    /// Its type.
    pub content_type: &'static str,
    /// Pixel size, for images.
    pub size: Option<(u32, u32)>,
}

/// What an upload became: the original (stripped), then its variants.
#[derive(Debug)]
pub struct Processed {
    /// The original as stored.
    pub original: File,
    /// The variants, largest first (none for MP4).
    pub variants: Vec<File>,
}

/// The accepted type `content_type` names, if any.
pub fn allowed(content_type: &str) -> Option<&'static str> {
    ALLOWED
        .iter()
        .map(|(name, _)| *name)
        .find(|name| name.eq_ignore_ascii_case(content_type.trim()))
}

/// The accepted type of `bytes`, read from their signature.
pub fn detect(bytes: &[u8]) -> Option<&'static str> {
    infer::get(bytes).and_then(|kind| allowed(kind.mime_type()))
}

/// Checks, strips and resizes an upload declared as `declared`. Blocking: call it on a
/// blocking thread. Holds one decoded image at a time.
pub fn process(bytes: Bytes, declared: &str) -> Result<Processed, Rejection> {
    if bytes.is_empty() {
        return Err(Rejection::Empty);
    }
    let found = detect(&bytes).ok_or(Rejection::Unsupported)?;
    if !found.eq_ignore_ascii_case(declared) {
        return Err(Rejection::Mismatch {
            declared: declared.to_owned(),
            found,
        });
    }
    let format = ALLOWED
        .iter()
        .find(|(name, _)| *name == found)
        .and_then(|(_, format)| *format);
    let Some(format) = format else {
        let original = File {
            name: "original",
            bytes,
            content_type: found,
            size: None,
        };
        return Ok(Processed {
            original,
            variants: Vec::new(),
        });
    };
    let image = decode(&bytes, format)?;
    let size = (image.width(), image.height());
    let variants = variants(image)?;
    let original = File {
        name: "original",
        bytes: strip(bytes, format),
        content_type: found,
        size: Some(size),
    };
    Ok(Processed { original, variants })
}

/// Decodes with limits: dimensions and allocation are checked from the header before any
/// pixel buffer exists.
fn decode(bytes: &[u8], format: ImageFormat) -> Result<DynamicImage, Rejection> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    reader.decode().map_err(|error| match error {
        image::ImageError::Limits(limit) => Rejection::TooLarge(limit.to_string()),
        other => Rejection::Undecodable(other.to_string()),
    })
}

/// The WebP variants of an image, each fitting its longest side (never enlarged); each is
/// made from the previous one, so the full-size image is scaled once.
fn variants(image: DynamicImage) -> Result<Vec<File>, Rejection> {
    let mut current = image;
    let mut files = Vec::with_capacity(VARIANTS.len());
    for (name, side) in VARIANTS {
        if current.width().max(current.height()) > *side {
            current = current.thumbnail(*side, *side);
        }
        files.push(File {
            name,
            bytes: webp(&current)?,
            content_type: "image/webp",
            size: Some((current.width(), current.height())),
        });
    }
    Ok(files)
}

/// Lossless WebP of an image (the pure-Rust encoder has no lossy mode).
fn webp(image: &DynamicImage) -> Result<Bytes, Rejection> {
    let pixels = if image.color().has_alpha() {
        DynamicImage::ImageRgba8(image.to_rgba8())
    } else {
        DynamicImage::ImageRgb8(image.to_rgb8())
    };
    let mut out = Vec::new();
    pixels
        .write_with_encoder(WebPEncoder::new_lossless(&mut out))
        .map_err(|e| Rejection::Undecodable(e.to_string()))?;
    Ok(Bytes::from(out))
}

/// The original without its metadata, not re-encoded. A container `img-parts` cannot
/// parse has already decoded as an image, so it is kept as it is.
fn strip(bytes: Bytes, format: ImageFormat) -> Bytes {
    use img_parts::ImageEXIF;
    match format {
        ImageFormat::Jpeg => match img_parts::jpeg::Jpeg::from_bytes(bytes.clone()) {
            Ok(mut jpeg) => {
                // APP1 holds EXIF and XMP, APP13 IPTC: where cameras put GPS and names.
                jpeg.segments_mut().retain(|segment| {
                    !matches!(
                        segment.marker(),
                        img_parts::jpeg::markers::APP1 | img_parts::jpeg::markers::APP13
                    )
                });
                jpeg.encoder().bytes()
            }
            Err(_) => bytes,
        },
        ImageFormat::Png => match img_parts::png::Png::from_bytes(bytes.clone()) {
            Ok(mut png) => {
                png.chunks_mut().retain(|chunk| {
                    !matches!(&chunk.kind(), b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt")
                });
                png.encoder().bytes()
            }
            Err(_) => bytes,
        },
        ImageFormat::WebP => match img_parts::webp::WebP::from_bytes(bytes.clone()) {
            Ok(mut webp) => {
                webp.set_exif(None);
                webp.encoder().bytes()
            }
            Err(_) => bytes,
        },
        _ => bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb};

    fn png(width: u32, height: u32) -> Bytes {
        let image = ImageBuffer::from_fn(width, height, |x, y| Rgb([x as u8, y as u8, 128]));
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        Bytes::from(out.into_inner())
    }

    #[test]
    fn an_image_gets_variants_fitting_their_sizes_and_keeps_its_own() {
        let processed = process(png(2000, 1000), "image/png").unwrap();
        assert_eq!(processed.original.size, Some((2000, 1000)));
        let sizes: Vec<_> = processed
            .variants
            .iter()
            .map(|v| (v.name, v.size))
            .collect();
        assert_eq!(
            sizes,
            [
                ("display", Some((1080, 540))),
                ("thumbnail", Some((256, 128)))
            ]
        );
        let thumbnail = image::load_from_memory(&processed.variants[1].bytes).unwrap();
        assert_eq!((thumbnail.width(), thumbnail.height()), (256, 128));
    }

    #[test]
    fn small_images_are_not_enlarged() {
        let processed = process(png(100, 50), "image/png").unwrap();
        for variant in &processed.variants {
            assert_eq!(variant.size, Some((100, 50)));
        }
    }

    #[test]
    fn the_bytes_decide_the_type_not_the_client() {
        assert_eq!(
            process(Bytes::new(), "image/png").unwrap_err(),
            Rejection::Empty
        );
        let text = Bytes::from_static(b"#!/bin/sh\necho not a picture\n");
        assert_eq!(
            process(text, "image/png").unwrap_err(),
            Rejection::Unsupported
        );
        assert!(matches!(
            process(png(10, 10), "image/jpeg").unwrap_err(),
            Rejection::Mismatch {
                found: "image/png",
                ..
            }
        ));
    }

    #[test]
    fn png_text_and_exif_chunks_are_stripped_and_the_pixels_kept() {
        let mut png_with_text = img_parts::png::Png::from_bytes(png(8, 8)).unwrap();
        let chunk = img_parts::png::PngChunk::new(*b"tEXt", Bytes::from_static(b"GPS\0here"));
        let at = png_with_text.chunks().len() - 1;
        png_with_text.chunks_mut().insert(at, chunk);
        let uploaded = png_with_text.encoder().bytes();
        let stored = process(uploaded.clone(), "image/png")
            .unwrap()
            .original
            .bytes;
        assert!(stored.len() < uploaded.len());
        assert!(!stored.windows(3).any(|w| w == b"GPS"));
        let (a, b) = (
            image::load_from_memory(&uploaded).unwrap(),
            image::load_from_memory(&stored).unwrap(),
        );
        assert_eq!(a.as_bytes(), b.as_bytes());
    }
}
