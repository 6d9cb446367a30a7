//! Reads a urlencoded form body into a typed form. Input names are field paths
//! (`decision.date`, `options[1].months`, `contacts.signatories[0]`): the body becomes a tree of
//! groups, row lists and texts, which serde then reads into the form's struct.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::web::error::AppError;

/// The most rows a repeating group takes; an input of a row at or past it is ignored.
pub const MAX_ROWS: usize = 40;

/// One step of an input name: a named field or a row number.
#[derive(Debug, PartialEq, Eq)]
enum Step<'a> {
    Key(&'a str),
    Row(usize),
}

/// The steps of an input name; `None` for a name that is not a field path or names a row past
/// [`MAX_ROWS`].
fn steps(name: &str) -> Option<Vec<Step<'_>>> {
    let mut out = Vec::new();
    for part in name.split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if key.is_empty() {
            return None;
        }
        out.push(Step::Key(key));
        while !rest.is_empty() {
            let (n, after) = rest.split_once(']')?;
            let row: usize = n.parse().ok().filter(|r| *r < MAX_ROWS)?;
            out.push(Step::Row(row));
            rest = match after {
                "" => "",
                a => a.strip_prefix('[')?,
            };
        }
    }
    Some(out)
}

/// A part of the form: a text, a group of named parts, or rows by number.
enum Node {
    Text(String),
    Group(BTreeMap<String, Node>),
    Rows(BTreeMap<usize, Node>),
}

impl Node {
    fn for_next(next: Option<&Step<'_>>) -> Self {
        match next {
            None => Node::Text(String::new()),
            Some(Step::Key(_)) => Node::Group(BTreeMap::new()),
            Some(Step::Row(_)) => Node::Rows(BTreeMap::new()),
        }
    }

    /// Puts `value` at `path`; an input whose path clashes with another's shape is ignored,
    /// and a name sent more than once (check boxes) keeps every value, comma-joined.
    fn insert(&mut self, path: &[Step<'_>], value: &str) {
        let Some((step, rest)) = path.split_first() else {
            if let Node::Text(old) = self {
                if !old.is_empty() {
                    old.push(',');
                }
                old.push_str(value);
            }
            return;
        };
        let child = match (self, step) {
            (Node::Group(m), Step::Key(k)) => m
                .entry((*k).to_owned())
                .or_insert_with(|| Node::for_next(rest.first())),
            (Node::Rows(m), Step::Row(i)) => {
                m.entry(*i).or_insert_with(|| Node::for_next(rest.first()))
            }
            _ => return,
        };
        child.insert(rest, value);
    }

    /// The tree as JSON: rows become a list in their order, with the missing numbers left out.
    fn into_value(self) -> Value {
        match self {
            Node::Text(s) => Value::String(s),
            Node::Group(m) => Value::Object(
                m.into_iter()
                    .map(|(k, v)| (k, v.into_value()))
                    .collect::<Map<_, _>>(),
            ),
            Node::Rows(m) => Value::Array(m.into_values().map(Node::into_value).collect()),
        }
    }
}

/// The body as a tree of texts, each trimmed.
pub fn tree(body: &[u8]) -> Value {
    let mut root = Node::Group(BTreeMap::new());
    for (name, value) in form_urlencoded::parse(body) {
        if let Some(path) = steps(&name) {
            root.insert(&path, value.trim());
        }
    }
    root.into_value()
}

/// Reads the body into form `T`. Every field of a form has a default, so only an input whose
/// shape contradicts the form (a list where a text belongs) is refused, naming that input.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    crate::web::extract::refuse_nul(body)?;
    serde_path_to_error::deserialize(tree(body)).map_err(|e| AppError::BadRequest {
        field: Some(e.path().to_string()),
        message: e.inner().to_string(),
    })
}

/// Reads the body like [`parse`], but a NUL character in an input's value is not a refusal of
/// the whole request: it is taken out, and the input's name is returned, so the page can show
/// the form again with the error at that input and what else was typed. A NUL in a name is
/// still refused.
pub fn parse_naming_nul<T: DeserializeOwned>(body: &[u8]) -> Result<(T, Vec<String>), AppError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let mut held = Vec::new();
    let mut cleaned = form_urlencoded::Serializer::new(String::new());
    for (name, value) in &pairs {
        if value.contains('\0') && !name.contains('\0') {
            if !held.contains(name) {
                held.push(name.clone());
            }
            cleaned.append_pair(name, &value.replace('\0', ""));
        } else {
            cleaned.append_pair(name, value);
        }
    }
    parse::<T>(cleaned.finish().as_bytes()).map(|form| (form, held))
}

/// The inputs of a form as the page shows them: each text under its input name.
pub fn flatten(v: &Value, prefix: &str, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(x, &name, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(x, &format!("{prefix}[{i}]"), out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        Value::Null => {
            out.insert(prefix.to_owned(), String::new());
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

/// Serde helpers for a list of codes sent as check boxes (comma-joined by [`tree`]).
pub mod comma_list {
    use serde::{Deserialize, Deserializer, Serializer};

    /// The codes, comma-joined.
    pub fn serialize<S: Serializer>(codes: &[String], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&codes.join(","))
    }

    /// The codes of a comma-joined text, without blanks.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        let raw = String::deserialize(d)?;
        Ok(raw
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_become_paths_and_rows_keep_their_order_without_gaps() {
        let body = b"title=+A+&decision.date=2026-01-01&options%5B3%5D.months=12\
&options%5B0%5D.months=6&contacts.signatories%5B1%5D=a%40b.se&eforms.bt_06=x&eforms.bt_06=y";
        assert_eq!(
            tree(body),
            json!({
                "title": "A",
                "decision": {"date": "2026-01-01"},
                "options": [{"months": "6"}, {"months": "12"}],
                "contacts": {"signatories": ["a@b.se"]},
                "eforms": {"bt_06": "x,y"},
            })
        );
    }

    #[test]
    fn malformed_names_rows_past_the_limit_and_clashing_shapes_are_ignored() {
        for name in [
            "options[40].months",
            "options[x].months",
            "options[1.months",
            ".title",
            "a[1]b",
        ] {
            assert_eq!(steps(name), None, "{name}");
        }
        let body = b"title=A&title.x=B&options%5B0%5D=C&options%5B0%5D.months=1";
        assert_eq!(tree(body), json!({"title": "A", "options": ["C"]}));
    }

    #[test]
    fn a_shape_the_form_does_not_take_is_refused_naming_the_input() {
        #[derive(Debug, serde::Deserialize)]
        struct F {
            #[expect(dead_code, reason = "only the refusal is tested")]
            title: String,
        }
        match parse::<F>(b"title%5B0%5D=x") {
            Err(AppError::BadRequest { field, .. }) => assert_eq!(field.as_deref(), Some("title")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_nul_in_a_value_is_taken_out_and_its_input_named_and_in_a_name_refused() {
        #[derive(Debug, serde::Deserialize)]
        struct F {
            title: String,
            notes: String,
        }
        let (f, held) = parse_naming_nul::<F>(b"title=A%00B&notes=ok").unwrap();
        assert_eq!((f.title.as_str(), f.notes.as_str()), ("AB", "ok"));
        assert_eq!(held, ["title"]);
        let (_, held) = parse_naming_nul::<F>(b"title=A&notes=x").unwrap();
        assert!(held.is_empty());
        assert!(matches!(
            parse_naming_nul::<F>(b"ti%00tle=A&notes=x"),
            Err(AppError::BadRequest { .. })
        ));
    }

    #[test]
    fn flatten_names_each_text_by_its_input() {
        let mut out = BTreeMap::new();
        flatten(
            &json!({"a": {"b": "1"}, "rows": [{"c": "2"}], "list": ["x"]}),
            "",
            &mut out,
        );
        let names: Vec<_> = out.keys().map(String::as_str).collect();
        assert_eq!(names, ["a.b", "list[0]", "rows[0].c"]);
    }
}
