//! The files a publiccode.yml points to: the logo, screenshots and the
//! authors file.
//!
//! Each is a path relative to the repository root or an http(s) URL; when
//! the publiccode.yml's directory is known, a relative path must exist there,
//! and a PNG logo must be at least 120 pixels wide (the reference
//! validator's threshold). URLs are on the network and are not fetched.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::values::is_url;
use super::{Ctx, Result, invalid};
use crate::import::text::shorten;

/// A file of the repository: a relative path or an http(s) URL.
pub(super) fn relative_path_or_url(value: &str, key: &str) -> Result<()> {
    if value.starts_with('/') {
        return Err(invalid(
            key,
            "is an absolute path: only relative paths (from the repository root) or http(s) URLs are allowed",
        ));
    }
    if value.starts_with("file:") {
        return Err(invalid(
            key,
            "is a file:// URL: only relative paths (from the repository root) or http(s) URLs are allowed",
        ));
    }
    Ok(())
}

/// Where a relative path of the file is on disk, when the file's directory
/// is known (URLs are on the network: not checked).
pub(super) fn local_path(value: &str, ctx: &Ctx<'_>) -> Option<PathBuf> {
    if is_url(value) && value.contains("://") {
        return None;
    }
    ctx.base.map(|base| base.join(value))
}

/// The lower-case extension of a path or URL (query and fragment ignored).
fn extension(value: &str) -> String {
    let path = value.split(['?', '#']).next().unwrap_or(value);
    let file = path.rsplit('/').next().unwrap_or(path);
    file.rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default()
}

/// Logos are SVG, SVGZ or PNG at least 120 pixels wide (the reference
/// validator's threshold).
pub(super) fn check_logo(logo: &str, key: &str, ctx: &Ctx<'_>) -> Result<()> {
    if logo.is_empty() {
        return Ok(());
    }
    relative_path_or_url(logo, key)?;
    let ext = extension(logo);
    if !["svg", "svgz", "png"].contains(&ext.as_str()) {
        return Err(invalid(
            key,
            format!("`{}` is not an SVG, SVGZ or PNG file", shorten(logo, 80).0),
        ));
    }
    let Some(path) = local_path(logo, ctx) else {
        return Ok(());
    };
    if !path.is_file() {
        return Err(invalid(
            key,
            format!(
                "`{}` does not exist next to the publiccode.yml",
                shorten(logo, 80).0
            ),
        ));
    }
    if ext == "png" {
        match png_width(&path) {
            Some(width) if width >= 120 => {}
            Some(width) => {
                return Err(invalid(
                    key,
                    format!("the image is {width} pixels wide: a logo needs at least 120"),
                ));
            }
            None => {
                return Err(invalid(
                    key,
                    format!("`{}` is not a PNG image", shorten(logo, 80).0),
                ));
            }
        }
    }
    Ok(())
}

/// The width of a PNG image, from its header; `None` if it is not a PNG.
fn png_width(path: &Path) -> Option<u32> {
    let mut header = [0u8; 24];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    let signature = b"\x89PNG\r\n\x1a\n";
    if &header[..8] != signature || &header[12..16] != b"IHDR" {
        return None;
    }
    Some(u32::from_be_bytes([
        header[16], header[17], header[18], header[19],
    ]))
}

pub(super) fn check_screenshot(shot: &str, key: &str, ctx: &Ctx<'_>) -> Result<()> {
    relative_path_or_url(shot, key)?;
    if !["jpg", "png"].contains(&extension(shot).as_str()) {
        return Err(invalid(
            key,
            format!("`{}` is not a JPG or PNG image", shorten(shot, 80).0),
        ));
    }
    if let Some(path) = local_path(shot, ctx)
        && !path.is_file()
    {
        return Err(invalid(
            key,
            format!(
                "`{}` does not exist next to the publiccode.yml",
                shorten(shot, 80).0
            ),
        ));
    }
    Ok(())
}
