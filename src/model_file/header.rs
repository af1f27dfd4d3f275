//! What every versioned JSON file of this crate starts with (`format`, `version`), checked before
//! its body is read, and the helpers the model and graph file readers share.

use std::borrow::Cow;

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};

/// Tells a field given as `null` (`Some(None)`) from an absent one (`None`, by `default`).
pub(crate) fn present<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

/// The fields every versioned file has; everything else is skipped unread (not allocated).
struct Header {
    format: Option<serde_json::Value>,
    version: Option<serde_json::Value>,
}

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Header, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = Header;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(
                self,
                mut map: M,
            ) -> std::result::Result<Header, M::Error> {
                let mut header = Header {
                    format: None,
                    version: None,
                };
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match &*key {
                        "format" => header.format = Some(map.next_value()?),
                        "version" => header.version = Some(map.next_value()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(header)
            }
        }
        d.deserialize_map(Fields)
    }
}

pub(crate) fn invalid(format: &str, reason: String) -> Error {
    Error::InvalidFile {
        format: format.into(),
        reason,
    }
}

/// Checks a file's `format` and `version` before its body is read, so that a file of another
/// format or a newer version gets that message rather than a structural one.
pub(crate) fn check_header(text: &str, short: &str, format: &str, supported: u64) -> Result<()> {
    let header: Header = serde_json::from_str(text).map_err(|e| invalid(short, e.to_string()))?;
    match header.format {
        Some(serde_json::Value::String(f)) if f == format => {}
        Some(other) => {
            return Err(invalid(
                short,
                format!("\"format\" is {other}, expected \"{format}\""),
            ));
        }
        None => {
            return Err(invalid(
                short,
                format!("no \"format\" field (expected \"{format}\")"),
            ));
        }
    }
    let version = header
        .version
        .ok_or_else(|| invalid(short, "no \"version\" field".into()))?;
    match version.as_u64() {
        Some(0) | None => Err(invalid(
            short,
            format!("\"version\" must be an integer from 1, got {version}"),
        )),
        Some(v) if v > supported => Err(Error::UnsupportedVersion {
            format: short.into(),
            version: v,
            supported,
        }),
        Some(_) => Ok(()),
    }
}
