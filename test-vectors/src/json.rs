//! A JSON value that keeps its field order, with a compact and a pretty
//! writer.
//!
//! `serde_json::Value` sorts object keys unless `preserve_order` is on, and
//! digests must keep the documented field order byte for byte, so the
//! generator builds its JSON with this type instead.

/// An ordered JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// A number, written verbatim (e.g. `1706745600.0`).
    Num(String),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object whose fields keep insertion order.
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    /// A string value, or `null` for `None`.
    pub fn opt_str(s: Option<impl Into<String>>) -> Json {
        s.map_or(Json::Null, |s| Json::Str(s.into()))
    }

    /// An object from `(name, value)` pairs, in that order.
    pub fn obj<K: Into<String>>(fields: impl IntoIterator<Item = (K, Json)>) -> Json {
        Json::Obj(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The field `name` of an object.
    pub fn get(&self, name: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The field `name` of an object, mutably.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Json> {
        match self {
            Json::Obj(fields) => fields.iter_mut().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Replaces field `name` in place, or appends it when absent.
    pub fn set(&mut self, name: &str, value: Json) {
        if let Json::Obj(fields) = self {
            match fields.iter_mut().find(|(k, _)| k == name) {
                Some((_, v)) => *v = value,
                None => fields.push((name.to_owned(), value)),
            }
        }
    }

    /// Removes field `name` of an object, if present.
    pub fn remove(&mut self, name: &str) {
        if let Json::Obj(fields) = self {
            fields.retain(|(k, _)| k != name);
        }
    }

    /// The value of a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The elements of an array, mutably.
    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Json>> {
        match self {
            Json::Arr(items) => Some(items),
            _ => None,
        }
    }

    /// Compact JSON (no whitespace), as CloudTrail writes digests and logs.
    /// With `escape_slashes`, every `/` is written `\/` (which some real
    /// digests do).
    pub fn to_compact(&self, escape_slashes: bool) -> String {
        let mut out = String::new();
        self.write_compact(&mut out, escape_slashes);
        out
    }

    fn write_compact(&self, out: &mut String, escape_slashes: bool) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Num(n) => out.push_str(n),
            Json::Str(s) => write_str(out, s, escape_slashes),
            Json::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_compact(out, escape_slashes);
                }
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(out, k, escape_slashes);
                    out.push(':');
                    v.write_compact(out, escape_slashes);
                }
                out.push('}');
            }
        }
    }

    /// Pretty JSON with 4-space indentation and a final newline, like
    /// Python's `json.dumps(indent=4)` that aws-cli uses for its output.
    pub fn to_pretty(&self) -> String {
        let mut out = String::new();
        self.write_pretty(&mut out, 0);
        out.push('\n');
        out
    }

    fn write_pretty(&self, out: &mut String, level: usize) {
        let pad = |out: &mut String, level: usize| {
            for _ in 0..level {
                out.push_str("    ");
            }
        };
        match self {
            Json::Arr(items) if !items.is_empty() => {
                out.push_str("[\n");
                for (i, v) in items.iter().enumerate() {
                    pad(out, level + 1);
                    v.write_pretty(out, level + 1);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                pad(out, level);
                out.push(']');
            }
            Json::Obj(fields) if !fields.is_empty() => {
                out.push_str("{\n");
                for (i, (k, v)) in fields.iter().enumerate() {
                    pad(out, level + 1);
                    write_str(out, k, false);
                    out.push_str(": ");
                    v.write_pretty(out, level + 1);
                    out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
                }
                pad(out, level);
                out.push('}');
            }
            other => other.write_compact(out, false),
        }
    }
}

/// Writes a JSON string literal.
fn write_str(out: &mut String, s: &str, escape_slashes: bool) {
    // serde_json escapes quotes, backslashes and control characters and never
    // emits a `/` inside an escape sequence, so replacing `/` afterwards is
    // safe.
    let lit = serde_json::Value::String(s.to_owned()).to_string();
    if escape_slashes {
        out.push_str(&lit.replace('/', "\\/"));
    } else {
        out.push_str(&lit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_pretty() {
        let v = Json::obj([("b", Json::str("x/y")), ("a", Json::Arr(vec![])), ("c", Json::Null)]);
        assert_eq!(v.to_compact(false), r#"{"b":"x/y","a":[],"c":null}"#);
        assert_eq!(v.to_compact(true), r#"{"b":"x\/y","a":[],"c":null}"#);
        assert_eq!(
            v.to_pretty(),
            "{\n    \"b\": \"x/y\",\n    \"a\": [],\n    \"c\": null\n}\n"
        );
    }
}
