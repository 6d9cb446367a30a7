//! Which report files are accepted: PDF, ODT or DOCX, told apart by their bytes, never by the
//! name a browser sends. Pure.

use serde::Serialize;

/// A report file type the service accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    /// PDF (`%PDF-`).
    Pdf,
    /// OpenDocument text (a ZIP whose first entry is `mimetype` = `application/vnd.oasis.opendocument.text`).
    Odt,
    /// Office Open XML word processing (a ZIP with `[Content_Types].xml` and `word/document.xml`).
    Docx,
}

impl FileType {
    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Odt => "odt",
            Self::Docx => "docx",
        }
    }

    /// The media type served on download.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Odt => "application/vnd.oasis.opendocument.text",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        }
    }

    /// The type of a stored media type.
    pub fn from_media_type(s: &str) -> Option<Self> {
        [Self::Pdf, Self::Odt, Self::Docx]
            .into_iter()
            .find(|t| t.media_type() == s)
    }
}

const ZIP_LOCAL_HEADER: &[u8] = b"PK\x03\x04";
const ODT_MIMETYPE: &[u8] = b"application/vnd.oasis.opendocument.text";
/// How far from the end the ZIP central directory (with the entry names) is looked for.
const ZIP_TAIL: usize = 1024 * 1024;

/// The type of a file from its first and last bytes, or `None` for anything else.
pub fn sniff(bytes: &[u8]) -> Option<FileType> {
    if bytes.starts_with(b"%PDF-") {
        return Some(FileType::Pdf);
    }
    if !bytes.starts_with(ZIP_LOCAL_HEADER) {
        return None;
    }
    // ODF: the first entry is an uncompressed file named "mimetype" holding the media type,
    // so the name starts at byte 30 of the archive and the content right after it.
    if bytes.get(30..38) == Some(b"mimetype".as_slice()) {
        let rest = bytes.get(38..).unwrap_or_default();
        let exact = rest.starts_with(ODT_MIMETYPE)
            && !rest
                .get(ODT_MIMETYPE.len())
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-');
        return exact.then_some(FileType::Odt);
    }
    let tail = &bytes[bytes.len().saturating_sub(ZIP_TAIL)..];
    (contains(tail, b"[Content_Types].xml") && contains(tail, b"word/document.xml"))
        .then_some(FileType::Docx)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A safe download name for a stored report: the agreement, report and period, and the type's extension.
pub fn download_name(reference: &str, report: &str, period_end: &str, t: FileType) -> String {
    let clean: String = report
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{reference}_{clean}_{period_end}.{}", t.extension())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_with_first_entry(name: &[u8], content: &[u8]) -> Vec<u8> {
        let mut v = ZIP_LOCAL_HEADER.to_vec();
        v.extend_from_slice(&[0u8; 22]);
        v.extend_from_slice(&(name.len() as u16).to_le_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(name);
        v.extend_from_slice(content);
        v
    }

    #[test]
    fn pdf_odt_and_docx_are_recognised_by_their_bytes() {
        assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3\n1 0 obj"), Some(FileType::Pdf));
        let odt = zip_with_first_entry(b"mimetype", ODT_MIMETYPE);
        assert_eq!(sniff(&odt), Some(FileType::Odt));
        let mut docx = zip_with_first_entry(b"[Content_Types].xml", b"<Types/>");
        docx.extend_from_slice(b"PK\x01\x02 word/document.xml [Content_Types].xml");
        assert_eq!(sniff(&docx), Some(FileType::Docx));
    }

    #[test]
    fn other_files_are_refused_whatever_their_name() {
        let spreadsheet = zip_with_first_entry(
            b"mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        );
        let template = zip_with_first_entry(
            b"mimetype",
            b"application/vnd.oasis.opendocument.text-template",
        );
        let plain_zip = zip_with_first_entry(b"evil.exe", b"MZ");
        for (name, bytes) in [
            ("exe", b"MZ\x90\x00".as_slice()),
            ("html", b"<html><script>".as_slice()),
            ("empty", b"".as_slice()),
            ("ods", &spreadsheet),
            ("ott", &template),
            ("zip", &plain_zip),
            ("pdf later", b"xx%PDF-1.4".as_slice()),
        ] {
            assert_eq!(sniff(bytes), None, "{name}");
        }
    }

    #[test]
    fn download_names_keep_only_safe_characters() {
        assert_eq!(
            download_name("AGR-1", "a#2 \"x\"/..", "2026-09-30", FileType::Pdf),
            "AGR-1_a_2__x_____2026-09-30.pdf"
        );
    }
}
