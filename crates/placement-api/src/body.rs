//! Helpers shared by the typed request and response bodies.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// A `{"rel": ..., "href": ...}` link.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Link {
    pub rel: String,
    pub href: String,
}

impl Link {
    pub fn new(rel: &str, href: String) -> Self {
        Link { rel: rel.to_string(), href }
    }
}

/// An integer that JSON may spell as `5` or `5.0` (Python's jsonschema
/// accepts integral floats as integers).
pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    n.as_i64()
        .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18).map(|f| f as i64))
        .ok_or_else(|| serde::de::Error::custom(format!("{n} is not an integer")))
}

/// An optional [`int`].
pub fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<serde_json::Number>::deserialize(d)?
        .map(|n| int(serde_json::Value::Number(n)).map_err(serde::de::Error::custom))
        .transpose()
}

/// Tell a field given as `null` (`Some(None)`) from one left out (`None`).
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(deserialize_with = "int")]
        n: i64,
        #[serde(default, deserialize_with = "nullable")]
        parent: Option<Option<String>>,
    }

    #[test]
    fn integral_floats_and_nulls() {
        let p: Probe = serde_json::from_str(r#"{"n": 5.0, "parent": null}"#).unwrap();
        assert_eq!((p.n, p.parent), (5, Some(None)));
        let p: Probe = serde_json::from_str(r#"{"n": 7}"#).unwrap();
        assert_eq!((p.n, p.parent), (7, None));
        assert!(serde_json::from_str::<Probe>(r#"{"n": 5.5}"#).is_err());
    }
}
