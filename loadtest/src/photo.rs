//! Photos as a phone sends them with a task: a multipart form with a `data` JSON part
//! and `photos` parts. The photo is made here: a valid PNG of one pixel (its own CRCs
//! and zlib stream) with a text chunk naming the submission, so every upload is a new
//! file on the server, as real photos are, and optional padding to give it a size.

/// Separates the parts of our forms; never occurs in the JSON or in the PNG we make
/// (its text chunk holds only the tag and spaces).
pub const BOUNDARY: &str = "stimul-loadtest-7c3e9a1f";

/// A one-pixel PNG whose colour and `Comment` text come from `tag`, padded with
/// `pad_bytes` spaces in the text.
pub fn png(tag: &str, pad_bytes: usize) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    // Width 1, height 1, 8 bits per channel, truecolour, no interlace.
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend(1u32.to_be_bytes());
    ihdr.extend(1u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);

    let mut text = b"Comment\0".to_vec();
    text.extend(tag.bytes());
    text.resize(text.len() + pad_bytes, b' ');
    chunk(&mut out, b"tEXt", &text);

    let colour = crc32(tag.as_bytes()).to_be_bytes();
    // One scanline: filter type 0, then red, green, blue.
    let raw = [0, colour[0], colour[1], colour[2]];
    // A zlib stream with one stored (uncompressed) block.
    let mut idat = vec![0x78, 0x01, 0x01];
    let len = raw.len() as u16;
    idat.extend(len.to_le_bytes());
    idat.extend((!len).to_le_bytes());
    idat.extend(raw);
    idat.extend(adler32(&raw).to_be_bytes());
    chunk(&mut out, b"IDAT", &idat);

    chunk(&mut out, b"IEND", &[]);
    out
}

/// A `multipart/form-data` body (with [`BOUNDARY`]) of `data` and `photos`.
pub fn multipart(data: &str, photos: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::with_capacity(256 + photos.iter().map(Vec::len).sum::<usize>());
    body.extend(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"data\"\r\n\
             Content-Type: application/json\r\n\r\n{data}\r\n"
        )
        .bytes(),
    );
    for (i, photo) in photos.iter().enumerate() {
        body.extend(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photos\"; \
                 filename=\"shelf{i}.png\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .bytes(),
        );
        body.extend(photo);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").bytes());
    body
}

pub fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    // unwrap: our chunks are a few bytes plus the padding asked for, far below 4 GiB.
    let len = u32::try_from(data.len()).expect("a PNG chunk below 4 GiB");
    out.extend(len.to_be_bytes());
    let start = out.len();
    out.extend(kind);
    out.extend(data);
    let crc = crc32(&out[start..]);
    out.extend(crc.to_be_bytes());
}

/// CRC-32 as PNG defines it (ISO 3309, reflected, polynomial 0xEDB88320).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in bytes {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_their_definitions() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn photos_are_pngs_distinct_per_tag_and_padded_on_request() {
        let a = png("run-1", 0);
        let b = png("run-2", 0);
        assert!(a.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(a.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]));
        assert_ne!(a, b);
        assert_eq!(png("run-1", 1000).len(), a.len() + 1000);
    }

    #[test]
    fn a_form_carries_the_data_and_every_photo() {
        let body = multipart(r#"{"checklist":[]}"#, &[png("x", 0)]);
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("name=\"data\""), "{text}");
        assert!(text.contains(r#"{"checklist":[]}"#), "{text}");
        assert_eq!(text.matches("name=\"photos\"").count(), 1);
        assert!(text.ends_with(&format!("--{BOUNDARY}--\r\n")));
    }
}
