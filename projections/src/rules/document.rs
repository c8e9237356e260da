//! A rule-set file read field by field, so that every problem names the path of the field it is
//! about (`levels.good`, `criteria[2].indicators[0].max`) and unknown fields are refused rather
//! than silently ignored: a misspelt `"wieghts"` must not leave a rule at its default.

use chibo_domain::text;
use chibo_domain::Id;
use serde_json::{Map, Value};

/// A field that breaks a rule of the file format: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    /// Dotted path from the top of the file; `$` for the document as a whole.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Problem {
    pub(super) fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}

/// What reading a part of a file gives.
pub(super) type Parsed<T> = Result<T, Problem>;

/// Parses `text` as JSON; a syntax error names its line and column in place of a field.
pub(super) fn parse_json(text: &str) -> Parsed<Value> {
    serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        let position = format!(" at line {} column {}", e.line(), e.column());
        let message = message.strip_suffix(&position).unwrap_or(&message);
        Problem::new(format!("line {}, column {}", e.line(), e.column()), format!("is not valid JSON: {message}"))
    })
}

/// One JSON value of the file, with its path.
#[derive(Debug, Clone)]
pub(super) struct Node<'a> {
    path: String,
    value: &'a Value,
}

/// A JSON object of the file, with its path, remembering which fields were asked for so that
/// [`Object::finish`] can refuse the others.
#[derive(Debug)]
pub(super) struct Object<'a> {
    path: String,
    map: &'a Map<String, Value>,
    known: Vec<&'static str>,
    keys_are_data: bool,
}

/// The path of `key` inside the value at `path`.
fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl<'a> Node<'a> {
    pub(super) fn path(&self) -> &str {
        &self.path
    }

    pub(super) fn problem(&self, reason: impl Into<String>) -> Problem {
        Problem::new(self.path.clone(), reason)
    }

    /// A whole number that fits in 32 bits.
    pub(super) fn u32(&self) -> Parsed<u32> {
        self.value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| self.problem(format!("is {}; expected a whole number from 0 to {}", self.show(), u32::MAX)))
    }

    pub(super) fn bool(&self) -> Parsed<bool> {
        self.value.as_bool().ok_or_else(|| self.problem(format!("is {}; expected true or false", self.show())))
    }

    pub(super) fn str(&self) -> Parsed<&'a str> {
        self.value.as_str().ok_or_else(|| self.problem(format!("is {}; expected a string", self.show())))
    }

    /// Non-empty text of at most `max` bytes, without control characters.
    pub(super) fn text(&self, max: usize) -> Parsed<String> {
        text::required(&self.path, self.str()?, max).map_err(|e| self.problem(e.reason))
    }

    /// An id: lowercase `[a-z0-9-]{1,64}`.
    pub(super) fn id(&self) -> Parsed<Id> {
        Id::parse(&self.path, self.str()?).map_err(|e| self.problem(e.reason))
    }

    pub(super) fn object(&self) -> Parsed<Object<'a>> {
        match self.value {
            Value::Object(map) => Ok(Object { path: self.path.clone(), map, known: Vec::new(), keys_are_data: false }),
            other => Err(self.problem(format!("is {}; expected an object", kind_of(other)))),
        }
    }

    /// The entries of a list, each with its path `path[i]`.
    pub(super) fn list(&self) -> Parsed<Vec<Node<'a>>> {
        match self.value {
            Value::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, value)| Node { path: format!("{}[{i}]", self.path), value })
                .collect()),
            other => Err(self.problem(format!("is {}; expected a list", kind_of(other)))),
        }
    }

    /// The value as it appears in the file, shortened, for error messages.
    fn show(&self) -> String {
        let shown = match self.value {
            Value::Number(n) => n.to_string(),
            Value::String(s) => format!("{s:?}"),
            other => return kind_of(other).to_owned(),
        };
        if shown.chars().count() > 40 {
            format!("{}…", shown.chars().take(40).collect::<String>())
        } else {
            shown
        }
    }
}

impl<'a> Object<'a> {
    /// The top of a file: it must be an object.
    pub(super) fn root(value: &'a Value) -> Parsed<Self> {
        match value {
            Value::Object(map) => Ok(Self { path: String::new(), map, known: Vec::new(), keys_are_data: false }),
            other => Err(Problem::new("$", format!("is {}; a rule set is a JSON object", kind_of(other)))),
        }
    }

    /// The path of `key` in this object.
    pub(super) fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The path of this object; `$` for the top of the file.
    pub(super) fn path(&self) -> &str {
        if self.path.is_empty() {
            "$"
        } else {
            &self.path
        }
    }

    /// The value of `key`; `null` counts as absent.
    pub(super) fn optional(&mut self, key: &'static str) -> Option<Node<'a>> {
        self.known.push(key);
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => Some(Node { path: self.field(key), value }),
        }
    }

    /// The value of `key`, which must be present and not `null`.
    pub(super) fn required(&mut self, key: &'static str) -> Parsed<Node<'a>> {
        self.optional(key).ok_or_else(|| Problem::new(self.field(key), "is missing"))
    }

    pub(super) fn u32(&mut self, key: &'static str) -> Parsed<u32> {
        self.required(key)?.u32()
    }

    pub(super) fn optional_u32(&mut self, key: &'static str) -> Parsed<Option<u32>> {
        self.optional(key).map(|n| n.u32()).transpose()
    }

    /// A boolean; `default` when absent.
    pub(super) fn bool_or(&mut self, key: &'static str, default: bool) -> Parsed<bool> {
        self.optional(key).map_or(Ok(default), |n| n.bool())
    }

    pub(super) fn text(&mut self, key: &'static str, max: usize) -> Parsed<String> {
        self.required(key)?.text(max)
    }

    pub(super) fn id(&mut self, key: &'static str) -> Parsed<Id> {
        self.required(key)?.id()
    }

    /// One of `choices`, as written in the file.
    pub(super) fn choice(&mut self, key: &'static str, choices: &[&'static str]) -> Parsed<&'static str> {
        let node = self.required(key)?;
        let text = node.str()?;
        choices
            .iter()
            .copied()
            .find(|c| *c == text)
            .ok_or_else(|| node.problem(format!("is {text:?}; expected {}", expected_one_of(choices.iter().copied()))))
    }

    pub(super) fn object(&mut self, key: &'static str) -> Parsed<Object<'a>> {
        self.required(key)?.object()
    }

    pub(super) fn optional_object(&mut self, key: &'static str) -> Parsed<Option<Object<'a>>> {
        self.optional(key).map(|n| n.object()).transpose()
    }

    /// The entries of the list `key`, which must be present.
    pub(super) fn list(&mut self, key: &'static str) -> Parsed<Vec<Node<'a>>> {
        self.required(key)?.list()
    }

    /// The entries of the list `key`; an absent list is empty.
    pub(super) fn list_or_empty(&mut self, key: &'static str) -> Parsed<Vec<Node<'a>>> {
        self.optional(key).map_or(Ok(Vec::new()), |n| n.list())
    }

    /// Every (key, value) of an object whose keys are data (a map from component to weight),
    /// in key order. The caller checks the keys; [`Object::finish`] then refuses none.
    pub(super) fn entries(&mut self) -> Vec<(&'a str, Node<'a>)> {
        self.keys_are_data = true;
        self.map.iter().map(|(k, value)| (k.as_str(), Node { path: join(&self.path, k), value })).collect()
    }

    /// Refuses any field that was not asked for.
    pub(super) fn finish(self) -> Parsed<()> {
        if self.keys_are_data {
            return Ok(());
        }
        let mut known = self.known.clone();
        known.sort_unstable();
        known.dedup();
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some(unknown) => Err(Problem::new(
                self.field(unknown),
                format!("is not a field of {}; expected {}", self.path(), expected_one_of(known.iter().copied())),
            )),
        }
    }
}

/// "a, b or c".
pub(super) fn expected_one_of<'s>(choices: impl IntoIterator<Item = &'s str>) -> String {
    let choices: Vec<_> = choices.into_iter().collect();
    match choices.split_last() {
        None => "nothing".to_owned(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// `permille` (tenths of a percent or of a point) as `87.4`.
pub(super) fn tenths(permille: u64) -> String {
    format!("{}.{}", permille / 10, permille % 10)
}

/// `n / d` in tenths of a percent, rounded down; `d = 0` counts as 100 %.
pub(super) fn percent_tenths(n: u64, d: u64) -> u64 {
    if d == 0 {
        1000
    } else {
        (u128::from(n) * 1000 / u128::from(d)) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_the_path() {
        let value = parse_json(r#"{"a": {"b": [1, "x"]}, "c": -1}"#).unwrap();
        let mut top = Object::root(&value).unwrap();
        let mut a = top.object("a").unwrap();
        let list = a.list("b").unwrap();
        assert_eq!(list[0].u32(), Ok(1));
        assert_eq!(
            list[1].u32(),
            Err(Problem::new("a.b[1]", "is \"x\"; expected a whole number from 0 to 4294967295"))
        );
        assert_eq!(top.u32("c"), Err(Problem::new("c", "is -1; expected a whole number from 0 to 4294967295")));
        assert_eq!(top.u32("d"), Err(Problem::new("d", "is missing")));
        a.finish().unwrap();
        top.finish().unwrap();
    }

    #[test]
    fn unknown_fields_are_refused() {
        let value = parse_json(r#"{"name": "x", "nmae": "y"}"#).unwrap();
        let mut top = Object::root(&value).unwrap();
        top.optional("name");
        top.optional("kind");
        assert_eq!(top.finish(), Err(Problem::new("nmae", "is not a field of $; expected kind or name")));
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let e = parse_json("{\n  \"a\": 1,\n}").unwrap_err();
        assert_eq!(e.field, "line 3, column 1");
        assert_eq!(e.reason, "is not valid JSON: trailing comma");
        assert_eq!(parse_json("[]").map(|v| Object::root(&v).map(|_| ()).unwrap_err().field).unwrap(), "$");
    }

    #[test]
    fn tenths_are_exact() {
        assert_eq!(tenths(874), "87.4");
        assert_eq!(tenths(5), "0.5");
        assert_eq!(percent_tenths(17, 20), 850);
        assert_eq!(percent_tenths(2, 3), 666);
        assert_eq!(percent_tenths(0, 0), 1000);
    }
}
