//! The rule sets of RULES.md as versioned data.
//!
//! Every rule a projection applies (how often a cell meets, how a meeting is scored, what a
//! model-cell programme asks, how a year is classified) lives in a JSON file under
//! `projections/rules/`, one file per rule set, named `{name}.v{version}.json`. The shipped
//! files are embedded in the binary and form [`RuleBook::defaults`]; a deployment replaces or
//! adds rule sets with [`RuleBook::load`] from a directory of its own. An evaluation names the
//! rule set and version it used, and [`RuleSet::digest`] tells two files apart that claim the
//! same name and version.
//!
//! Each file has `name`, `version` (from 1), `kind` (`meetings`, `meeting_score`, `programme`
//! or `classification`), `title`, `source` (the text the numbers come from), optional `notes`
//! (the choices made where the source is vague), and the parameters of its kind at the top
//! level. Every parameter is checked when the file is read; a problem is reported as
//! `FILE: FIELD: REASON` and nothing panics on a bad file. All arithmetic on the parameters is
//! on integers, so a result is the same byte for byte on every machine.

mod classification;
mod document;
mod meeting_score;
mod meetings;
mod programme;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::OnceLock;

use chibo_domain::event::{RuleSetRef, RuleSetRefFields};
use chibo_domain::text::limit;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use classification::{CellYear, ClassificationRules, Classified, Level, MemberYear};
pub use meeting_score::{Band, Rubric, RubricPart, YearVerdict};
pub use meetings::{Cadence, MeetingFacts, MeetingRules, MeetingVerdict, QualityCriteria};
pub use programme::{
    AssessmentCadence, Marking, ProgrammeTemplate, ProgrammeVerdict, Target, TargetComparison, TemplateCriterion,
    TemplateIndicator,
};

use document::{Object, Parsed, Problem};

/// The shipped rule sets: (file name, contents).
const DEFAULT_FILES: &[(&str, &str)] = &[
    ("camau-4tot.v1.json", include_str!("../../rules/camau-4tot.v1.json")),
    ("phutho-meeting-score.v1.json", include_str!("../../rules/phutho-meeting-score.v1.json")),
    ("quynhphu-5-contents.v1.json", include_str!("../../rules/quynhphu-5-contents.v1.json")),
    ("thaibinh-kieumau.v1.json", include_str!("../../rules/thaibinh-kieumau.v1.json")),
    ("vn-meetings-hd12.v1.json", include_str!("../../rules/vn-meetings-hd12.v1.json")),
    ("vn-meetings-hd42.v1.json", include_str!("../../rules/vn-meetings-hd42.v1.json")),
    ("vn-qd124-2023.v1.json", include_str!("../../rules/vn-qd124-2023.v1.json")),
    ("vn-qd366-2025.v1.json", include_str!("../../rules/vn-qd366-2025.v1.json")),
];

/// One named, versioned rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    /// E.g. `vn-qd366-2025`: an id, lowercase `[a-z0-9-]`.
    pub name: String,
    /// From 1.
    pub version: u32,
    /// What it is, in the users' language.
    pub title: String,
    /// The text the numbers come from.
    pub source: String,
    /// The choices made where the source is vague, and why.
    pub notes: Vec<String>,
    /// The parameters, by kind.
    pub body: RuleSetBody,
    digest: [u8; 32],
}

impl RuleSet {
    /// `meetings`, `meeting_score`, `programme` or `classification`.
    pub fn kind(&self) -> &'static str {
        self.body.kind()
    }

    /// SHA-256 of `"chibo:rule-set:v1\0"` followed by the file's JSON in canonical form (object
    /// keys sorted by their bytes, no white space, numbers and strings as serde_json writes
    /// them). Two files with the same name and version but different rules have different
    /// digests, whatever their layout; an evaluation can carry it beside the name and version.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }
}

/// The parameters of a rule set, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSetBody {
    /// `kind: "meetings"`: meeting cadence, duration and quality.
    Meetings(MeetingRules),
    /// `kind: "meeting_score"`: the rubric a meeting is scored on.
    MeetingScore(Rubric),
    /// `kind: "programme"`: a model-cell programme's framework and settings.
    Programme(ProgrammeTemplate),
    /// `kind: "classification"`: the year-end classification of members and cells.
    Classification(ClassificationRules),
}

/// The values of `kind`, in the order of [`RuleSetBody`].
const KINDS: &[&str] = &["meetings", "meeting_score", "programme", "classification"];

impl RuleSetBody {
    /// The `kind` of the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Meetings(_) => KINDS[0],
            Self::MeetingScore(_) => KINDS[1],
            Self::Programme(_) => KINDS[2],
            Self::Classification(_) => KINDS[3],
        }
    }
}

/// Why a rule book could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// A file is not a valid rule set, or contradicts another file.
    #[error("{file}: {field}: {reason}")]
    Invalid {
        /// The file's name.
        file: String,
        /// The path of the offending field (`levels.good`, `criteria[2].indicators`); for a
        /// syntax error, its line and column; `$` for the document as a whole.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The directory, or a file in it, could not be read.
    #[error("{file}: cannot be read: {source}")]
    Read {
        /// The path of the directory or file.
        file: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl RuleError {
    /// The file (or directory) the error is about.
    pub fn file(&self) -> &str {
        match self {
            Self::Invalid { file, .. } | Self::Read { file, .. } => file,
        }
    }

    fn invalid(file: &str, problem: Problem) -> Self {
        Self::Invalid { file: file.to_owned(), field: problem.field, reason: problem.reason }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    /// The file the rule set was read from, for errors found across files.
    file: String,
    set: RuleSet,
}

/// Every rule set a deployment knows, by name and version.
#[derive(Debug, Clone)]
pub struct RuleBook {
    sets: BTreeMap<(String, u32), Entry>,
}

impl RuleBook {
    /// The rule sets shipped with chibo (the files of `projections/rules/`, embedded at build
    /// time). A test checks that they all parse and agree with each other.
    pub fn defaults() -> RuleBook {
        static DEFAULTS: OnceLock<RuleBook> = OnceLock::new();
        DEFAULTS
            .get_or_init(|| {
                let mut book = RuleBook { sets: BTreeMap::new() };
                let added = DEFAULT_FILES.iter().try_for_each(|(file, text)| book.add_new(file, text));
                match added.and_then(|()| book.check_companions()) {
                    Ok(()) => book,
                    // Only a broken shipped file can get here, and `every_default_parses` fails first.
                    Err(e) => panic!("a shipped rule set is invalid: {e}"),
                }
            })
            .clone()
    }

    /// The defaults, then every `*.json` file of `dir` in file-name order: a file with the
    /// name and version of a default replaces it; other names and versions are added. Two
    /// files of `dir` with the same name and version are an error, as is any invalid file, or
    /// a programme naming a companion rule set the book does not have.
    pub fn load(dir: &Path) -> Result<RuleBook, RuleError> {
        let read_error = |path: &Path, source| RuleError::Read { file: path.display().to_string(), source };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| read_error(dir, e))? {
            let path = entry.map_err(|e| read_error(dir, e))?.path();
            if path.extension().is_some_and(|ext| ext == "json") && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();

        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let file =
                path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
            let text = std::fs::read_to_string(&path).map_err(|e| read_error(&path, e))?;
            files.push((file, text));
        }
        Self::with_files(files.iter().map(|(file, text)| (file.as_str(), text.as_str())))
    }

    /// The defaults, then `files` (file name, contents) in the order given, by the rules of
    /// [`RuleBook::load`]: what `load` does once it has read the directory.
    pub fn with_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<RuleBook, RuleError> {
        let mut book = Self::defaults();
        let mut from_files: BTreeMap<(String, u32), &str> = BTreeMap::new();
        for (file, text) in files {
            let set = parse(text).map_err(|p| RuleError::invalid(file, p))?;
            let key = (set.name.clone(), set.version);
            if let Some(first) = from_files.insert(key, file) {
                return Err(RuleError::invalid(
                    file,
                    Problem::new("version", format!("{} version {} is also defined by {first}", set.name, set.version)),
                ));
            }
            book.sets.insert((set.name.clone(), set.version), Entry { file: file.to_owned(), set });
        }
        book.check_companions()?;
        Ok(book)
    }

    /// The rule set `name` at `version`.
    pub fn get(&self, name: &str, version: u32) -> Option<&RuleSet> {
        self.sets.get(&(name.to_owned(), version)).map(|e| &e.set)
    }

    /// The highest version of `name`.
    pub fn latest(&self, name: &str) -> Option<&RuleSet> {
        let range = (Bound::Included((name.to_owned(), 0)), Bound::Included((name.to_owned(), u32::MAX)));
        self.sets.range(range).next_back().map(|(_, e)| &e.set)
    }

    /// Every rule set, sorted by (name, version).
    pub fn iter(&self) -> impl Iterator<Item = &RuleSet> {
        self.sets.values().map(|e| &e.set)
    }

    /// The meeting rules `name` at `version`; `None` if absent or of another kind.
    pub fn meetings(&self, name: &str, version: u32) -> Option<&MeetingRules> {
        match &self.get(name, version)?.body {
            RuleSetBody::Meetings(rules) => Some(rules),
            _ => None,
        }
    }

    /// The meeting rubric `name` at `version`; `None` if absent or of another kind.
    pub fn meeting_score(&self, name: &str, version: u32) -> Option<&Rubric> {
        match &self.get(name, version)?.body {
            RuleSetBody::MeetingScore(rubric) => Some(rubric),
            _ => None,
        }
    }

    /// The programme template `name` at `version`; `None` if absent or of another kind.
    pub fn programme(&self, name: &str, version: u32) -> Option<&ProgrammeTemplate> {
        match &self.get(name, version)?.body {
            RuleSetBody::Programme(template) => Some(template),
            _ => None,
        }
    }

    /// The classification rules `name` at `version`; `None` if absent or of another kind.
    pub fn classification(&self, name: &str, version: u32) -> Option<&ClassificationRules> {
        match &self.get(name, version)?.body {
            RuleSetBody::Classification(rules) => Some(rules),
            _ => None,
        }
    }

    /// Adds a file that must not clash with one already in the book.
    fn add_new(&mut self, file: &str, text: &str) -> Result<(), RuleError> {
        let set = parse(text).map_err(|p| RuleError::invalid(file, p))?;
        let key = (set.name.clone(), set.version);
        if let Some(first) = self.sets.get(&key) {
            return Err(RuleError::invalid(
                file,
                Problem::new("version", format!("{} version {} is also defined by {}", key.0, key.1, first.file)),
            ));
        }
        self.sets.insert(key, Entry { file: file.to_owned(), set });
        Ok(())
    }

    /// Every companion a programme names is in the book, with the kind it is named for.
    fn check_companions(&self) -> Result<(), RuleError> {
        for entry in self.sets.values() {
            let RuleSetBody::Programme(template) = &entry.set.body else { continue };
            for (kind, companion) in template.companions_by_kind() {
                let field = format!("companions.{kind}");
                let (name, version) = (companion.name.as_str(), companion.version);
                let problem = match self.sets.get(&(name.to_owned(), version)) {
                    None => format!("{name} version {version} is not in the rule book"),
                    // Named with its file: when a file replaced a shipped rule set, the
                    // programme at fault may be a shipped one, not in the directory.
                    Some(found) if found.set.kind() != kind => format!(
                        "{name} version {version} (from {}) is a {} rule set, not {kind}",
                        found.file,
                        found.set.kind()
                    ),
                    Some(_) => continue,
                };
                return Err(RuleError::invalid(&entry.file, Problem::new(field, problem)));
            }
        }
        Ok(())
    }
}

/// Reads one rule-set file.
fn parse(text: &str) -> Parsed<RuleSet> {
    let value = document::parse_json(text)?;
    let mut top = Object::root(&value)?;
    let name = top.id("name")?;
    let version = top.u32("version")?;
    let reference = RuleSetRef::new(RuleSetRefFields { name: name.clone(), version })
        .map_err(|e| Problem::new(e.field, e.reason))?;
    let kind = top.choice("kind", KINDS)?;
    let title = top.text("title", limit::NAME)?;
    let source = top.text("source", limit::PARAGRAPH)?;
    let notes = top.list_or_empty("notes")?.iter().map(|n| n.text(limit::PARAGRAPH)).collect::<Parsed<_>>()?;
    let body = match kind {
        "meetings" => RuleSetBody::Meetings(MeetingRules::parse(&mut top)?),
        "meeting_score" => RuleSetBody::MeetingScore(Rubric::parse(&mut top)?),
        "programme" => RuleSetBody::Programme(ProgrammeTemplate::parse(&mut top, reference)?),
        _ => RuleSetBody::Classification(ClassificationRules::parse(&mut top)?),
    };
    top.finish()?;
    Ok(RuleSet { name: name.as_str().to_owned(), version, title, source, notes, body, digest: digest(&value) })
}

fn digest(value: &Value) -> [u8; 32] {
    let mut canonical = Vec::new();
    write_canonical(value, &mut canonical);
    let mut hasher = Sha256::new();
    hasher.update(b"chibo:rule-set:v1\0");
    hasher.update(&canonical);
    hasher.finalize().into()
}

/// JSON with object keys sorted by their bytes and no white space. Written here rather than
/// left to serde_json so that the order does not depend on its `preserve_order` feature.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend(Value::from(key.as_str()).to_string().into_bytes());
                out.push(b':');
                write_canonical(&map[key], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => out.extend(scalar.to_string().into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped file `file` with the JSON value at `pointer` set to `value`, or removed
    /// when `value` is `None`.
    fn edited(file: &str, pointer: &str, value: Option<Value>) -> String {
        let text = DEFAULT_FILES.iter().find(|(f, _)| *f == file).unwrap().1;
        let mut json: Value = serde_json::from_str(text).unwrap();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let parent = json.pointer_mut(parent).unwrap_or_else(|| panic!("{pointer}"));
        match (value, parent) {
            (Some(value), Value::Object(map)) => {
                map.insert(key.to_owned(), value);
            }
            (Some(value), Value::Array(items)) => items[key.parse::<usize>().unwrap()] = value,
            (None, Value::Object(map)) => {
                map.remove(key).unwrap();
            }
            _ => panic!("{pointer}"),
        }
        serde_json::to_string_pretty(&json).unwrap()
    }

    fn problem(text: &str) -> (String, String) {
        let p = parse(text).unwrap_err();
        (p.field, p.reason)
    }

    fn pair(field: &str, reason: &str) -> (String, String) {
        (field.to_owned(), reason.to_owned())
    }

    fn write(dir: &Path, file: &str, text: &str) {
        std::fs::write(dir.join(file), text).unwrap();
    }

    #[test]
    fn every_default_parses_and_is_named_after_its_file() {
        let book = RuleBook::defaults();
        let listed: Vec<(String, u32, &str)> = book.iter().map(|s| (s.name.clone(), s.version, s.kind())).collect();
        let expected = [
            ("camau-4tot", "programme"),
            ("phutho-meeting-score", "meeting_score"),
            ("quynhphu-5-contents", "programme"),
            ("thaibinh-kieumau", "programme"),
            ("vn-meetings-hd12", "meetings"),
            ("vn-meetings-hd42", "meetings"),
            ("vn-qd124-2023", "classification"),
            ("vn-qd366-2025", "classification"),
        ];
        assert_eq!(listed, expected.map(|(n, k)| (n.to_owned(), 1, k)));
        for (file, text) in DEFAULT_FILES {
            let set = parse(text).unwrap_or_else(|p| panic!("{file}: {}: {}", p.field, p.reason));
            assert_eq!(*file, format!("{}.v{}.json", set.name, set.version));
            assert!(!set.notes.is_empty(), "{file} says what it chose");
        }
    }

    #[test]
    fn lookups_by_name_version_and_kind() {
        let book = RuleBook::defaults();
        assert_eq!(book.get("vn-qd366-2025", 1).unwrap().title.split(' ').next(), Some("Kiểm"));
        assert!(book.get("vn-qd366-2025", 2).is_none());
        assert!(book.get("nothing", 1).is_none());
        assert_eq!(book.latest("vn-meetings-hd42").map(|s| s.version), Some(1));
        assert!(book.latest("vn-meetings").is_none(), "a prefix is not a name");
        assert!(book.meetings("vn-meetings-hd12", 1).is_some());
        assert!(book.meetings("vn-qd124-2023", 1).is_none());
        assert!(book.meeting_score("phutho-meeting-score", 1).is_some());
        assert!(book.meeting_score("camau-4tot", 1).is_none());
        assert!(book.programme("camau-4tot", 1).is_some());
        assert!(book.programme("vn-meetings-hd42", 1).is_none());
        assert!(book.classification("vn-qd124-2023", 1).is_some());
        assert!(book.classification("phutho-meeting-score", 1).is_none());
    }

    #[test]
    fn load_replaces_a_default_by_name_and_version_and_adds_new_versions() {
        let dir = tempfile::tempdir().unwrap();
        // vn-qd366-2025 v1 with a stricter "good" threshold, under another file name.
        write(dir.path(), "local-qd366.json", &edited("vn-qd366-2025.v1.json", "/levels/good", Some(75.into())));
        // vn-meetings-hd42 v2: 100 minutes.
        let v2 = edited("vn-meetings-hd42.v1.json", "/version", Some(2.into()));
        let v2: String = {
            let mut json: Value = serde_json::from_str(&v2).unwrap();
            json["minimum_minutes"] = 100.into();
            json.to_string()
        };
        write(dir.path(), "vn-meetings-hd42.v2.json", &v2);
        write(dir.path(), "README.txt", "not a rule set, not read");

        let book = RuleBook::load(dir.path()).unwrap();
        assert_eq!(book.iter().count(), 9);
        let qd366 = book.classification("vn-qd366-2025", 1).unwrap();
        assert_eq!(qd366.threshold(Level::Good), 75);
        assert_ne!(
            book.get("vn-qd366-2025", 1).unwrap().digest(),
            RuleBook::defaults().get("vn-qd366-2025", 1).unwrap().digest()
        );
        assert_eq!(book.meetings("vn-meetings-hd42", 1).unwrap().minimum_minutes(), Some(90));
        assert_eq!(book.meetings("vn-meetings-hd42", 2).unwrap().minimum_minutes(), Some(100));
        assert_eq!(book.latest("vn-meetings-hd42").unwrap().version, 2);
        let order: Vec<_> = book.iter().map(|s| format!("{}@{}", s.name, s.version)).collect();
        assert_eq!(order[5..7], ["vn-meetings-hd42@1".to_owned(), "vn-meetings-hd42@2".to_owned()]);
        // An empty directory gives the defaults.
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(RuleBook::load(empty.path()).unwrap().iter().count(), 8);
    }

    #[test]
    fn load_rejects_bad_files_naming_file_and_field() {
        let cases: Vec<(String, &str)> = vec![
            (
                edited("vn-qd124-2023.v1.json", "/member/weights/tasks", Some(25.into())),
                "bad.json: member.weights: the weights sum to 95; they must sum to 100",
            ),
            (
                edited("vn-qd124-2023.v1.json", "/kind", Some("ranking".into())),
                "bad.json: kind: is \"ranking\"; expected meetings, meeting_score, programme or classification",
            ),
            (
                "{\"name\": \"x\",\n \"version\": 1\n".to_owned(),
                "bad.json: line 3, column 0: is not valid JSON: EOF while parsing an object",
            ),
        ];
        for (text, message) in cases {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), "bad.json", &text);
            let e = RuleBook::load(dir.path()).unwrap_err();
            assert_eq!(e.to_string(), message);
            assert_eq!(e.file(), "bad.json");
        }
        let missing = RuleBook::load(Path::new("/nonexistent/chibo-rules")).unwrap_err();
        assert!(matches!(missing, RuleError::Read { .. }), "{missing}");
        assert!(missing.to_string().starts_with("/nonexistent/chibo-rules: cannot be read: "), "{missing}");
    }

    #[test]
    fn load_rejects_two_files_with_one_name_and_version() {
        let dir = tempfile::tempdir().unwrap();
        let text = DEFAULT_FILES[0].1;
        write(dir.path(), "a.json", text);
        write(dir.path(), "b.json", text);
        assert_eq!(
            RuleBook::load(dir.path()).unwrap_err().to_string(),
            "b.json: version: camau-4tot version 1 is also defined by a.json"
        );
    }

    #[test]
    fn with_files_reads_files_as_load_reads_a_directory() {
        let v2 = edited("vn-meetings-hd42.v1.json", "/version", Some(2.into()));
        let stricter = edited("vn-qd366-2025.v1.json", "/levels/good", Some(75.into()));
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.json", &v2);
        write(dir.path(), "b.json", &stricter);
        let loaded = RuleBook::load(dir.path()).unwrap();
        let given = RuleBook::with_files([("a.json", v2.as_str()), ("b.json", stricter.as_str())]).unwrap();
        assert_eq!(given.iter().collect::<Vec<_>>(), loaded.iter().collect::<Vec<_>>());
        assert_eq!(given.iter().count(), 9);
        assert_eq!(
            RuleBook::with_files([("a.json", v2.as_str()), ("c.json", v2.as_str())]).unwrap_err().to_string(),
            "c.json: version: vn-meetings-hd42 version 2 is also defined by a.json"
        );
    }

    #[test]
    fn a_programme_companion_must_be_in_the_book_with_its_kind() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "t.json",
            &edited("thaibinh-kieumau.v1.json", "/companions/meeting_score/version", Some(3.into())),
        );
        assert_eq!(
            RuleBook::load(dir.path()).unwrap_err().to_string(),
            "t.json: companions.meeting_score: phutho-meeting-score version 3 is not in the rule book"
        );
        write(
            dir.path(),
            "t.json",
            &edited("thaibinh-kieumau.v1.json", "/companions/meeting_score/name", Some("vn-qd124-2023".into())),
        );
        assert_eq!(
            RuleBook::load(dir.path()).unwrap_err().to_string(),
            "t.json: companions.meeting_score: vn-qd124-2023 version 1 (from vn-qd124-2023.v1.json) is a \
             classification rule set, not meeting_score"
        );
    }

    /// Found by fuzzing (`fuzz/regressions/rules/`): a file replacing the companion of a shipped
    /// programme with a rule set of another kind was refused naming only the programme's file,
    /// which the operator never gave (it is embedded) and cannot find in the directory.
    #[test]
    fn a_companion_of_the_wrong_kind_is_named_with_the_file_it_came_from() {
        // Replacing a companion with a rule set of another kind breaks the programmes naming it.
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "hd42.json", &edited("vn-qd124-2023.v1.json", "/name", Some("vn-meetings-hd42".into())));
        assert_eq!(
            RuleBook::load(dir.path()).unwrap_err().to_string(),
            "camau-4tot.v1.json: companions.meetings: vn-meetings-hd42 version 1 (from hd42.json) is a classification \
             rule set, not meetings"
        );
    }

    #[test]
    fn the_digest_follows_the_rules_not_the_layout() {
        let text = DEFAULT_FILES[1].1;
        let compact = serde_json::to_string(&serde_json::from_str::<Value>(text).unwrap()).unwrap();
        assert_eq!(parse(text).unwrap().digest(), parse(&compact).unwrap().digest());
        let changed = edited("phutho-meeting-score.v1.json", "/year/top_at_least", Some(8.into()));
        assert_ne!(parse(text).unwrap().digest(), parse(&changed).unwrap().digest());
    }

    #[test]
    fn every_invariant_of_the_parameters_is_checked() {
        /// (file, JSON pointer, new value or removal, expected (field, reason)).
        type Case = (&'static str, &'static str, Option<Value>, (String, String));
        let cases: Vec<Case> = vec![
            // Common fields.
            ("vn-qd366-2025.v1.json", "/version", Some(0.into()), pair("version", "is 0; rule set versions start at 1")),
            ("vn-qd366-2025.v1.json", "/name", Some("VN-366".into()), pair("name", "contains 'V'; an id has only lowercase letters a-z, digits and '-'")),
            ("vn-qd366-2025.v1.json", "/title", None, pair("title", "is missing")),
            ("vn-qd366-2025.v1.json", "/source", Some("".into()), pair("source", "is empty")),
            ("vn-qd366-2025.v1.json", "/version", Some("1".into()), pair("version", "is \"1\"; expected a whole number from 0 to 4294967295")),
            ("vn-qd366-2025.v1.json", "/levles", Some(1.into()), pair("levles", "is not a field of $; expected cell, disciplined_when, kind, levels, member, name, notes, quota, source, title, unclassified_admitted_within_months or version")),
            // Classification.
            ("vn-qd366-2025.v1.json", "/levels/good", Some(90.into()), pair("levels.good", "is 90; must be below levels.excellent (90)")),
            ("vn-qd366-2025.v1.json", "/levels/completed", Some(70.into()), pair("levels.completed", "is 70; must be below levels.good (70)")),
            ("vn-qd366-2025.v1.json", "/levels/excellent", Some(101.into()), pair("levels.excellent", "is 101; a score is at most 100")),
            ("vn-qd366-2025.v1.json", "/member/weights/presence", Some(0.into()), pair("member.weights.presence", "is not a component of a member's score; expected attendance, study, tasks, speaking or conduct")),
            ("vn-qd366-2025.v1.json", "/cell/weights_outside_programme/programme", Some(5.into()), pair("cell.weights_outside_programme", "the weights sum to 105; they must sum to 100")),
            ("vn-qd366-2025.v1.json", "/cell/weights_outside_programme", None, pair("cell.weights_outside_programme", "is missing")),
            ("vn-qd366-2025.v1.json", "/member/excellent/no_disciplined_member", Some(true.into()), pair("member.excellent.no_disciplined_member", "is not a field of member.excellent; expected every_task_on_time, over_fulfilment_percent or tasks_late_at_most_percent")),
            ("vn-qd366-2025.v1.json", "/member/excellent/over_fulfilment_percent", Some(90.into()), pair("member.excellent.over_fulfilment_percent", "is 90; expected 100 (the target itself) to 1000")),
            ("vn-qd366-2025.v1.json", "/disciplined_when", Some("warned".into()), pair("disciplined_when", "is \"warned\"; expected criticised or never")),
            ("vn-qd124-2023.v1.json", "/unclassified_admitted_within_months", Some(13.into()), pair("unclassified_admitted_within_months", "is 13; expected 1 to 12 months")),
            ("vn-qd124-2023.v1.json", "/quota/excellent_percent_of_good", Some(120.into()), pair("quota.excellent_percent_of_good", "is 120; at most 100")),
            ("vn-qd124-2023.v1.json", "/member/not_completed_when/target_met_at_percent", None, pair("member.not_completed_when.target_met_at_percent", "is missing; targets_met_below_percent needs to know when a target is met")),
            // Meeting rules.
            ("vn-meetings-hd42.v1.json", "/minimum_minutes_combined", Some(60.into()), pair("minimum_minutes_combined", "is 60; must not be below minimum_minutes (90)")),
            ("vn-meetings-hd42.v1.json", "/regular_per_month", Some(0.into()), pair("regular_per_month", "is 0; a cell meets at least once a month")),
            ("vn-meetings-hd42.v1.json", "/thematic_per_quarter", Some(0.into()), pair("thematic_per_quarter", "is 0; a cell holds at least one thematic meeting a quarter")),
            ("vn-meetings-hd42.v1.json", "/quality/attendance_above_percent", Some(100.into()), pair("quality.attendance_above_percent", "is 100; must be below 100, as attendance is never above 100 %")),
            ("vn-meetings-hd42.v1.json", "/removal/months_with_unexcused_absence", Some(0.into()), pair("removal.months_with_unexcused_absence", "is 0; expected 1 to 12 months of a year")),
            ("vn-meetings-hd12.v1.json", "/quality/minimum_speakers", Some(Value::from(8.5)), pair("quality.minimum_speakers", "is 8.5; expected a whole number from 0 to 4294967295")),
            // Meeting rubric.
            ("phutho-meeting-score.v1.json", "/parts/2/max", Some(40.into()), pair("parts", "the parts' maxima sum to 95; they must sum to 100")),
            ("phutho-meeting-score.v1.json", "/parts/3/id", Some("running".into()), pair("parts[3].id", "\"running\" is listed twice (first at parts[2])")),
            ("phutho-meeting-score.v1.json", "/bands/1/min", Some(90.into()), pair("bands[1].min", "is 90; bands run from best to worst, so it must be below bands[0].min (90)")),
            ("phutho-meeting-score.v1.json", "/bands/3/min", Some(10.into()), pair("bands[3].min", "is 10; the lowest band must start at 0 so that every total has a band")),
            ("phutho-meeting-score.v1.json", "/year/floor", Some("kha-plus".into()), pair("year.floor", "is \"kha-plus\", not one of the bands (tot, kha, trung-binh, kem)")),
            ("phutho-meeting-score.v1.json", "/year/top", Some("kem".into()), pair("year.top", "is below year.floor (\"kha\")")),
            ("phutho-meeting-score.v1.json", "/year/top_at_least", Some(13.into()), pair("year.top_at_least", "is 13; expected 1 to 12 monthly meetings")),
            ("phutho-meeting-score.v1.json", "/top_band_needs_full_marks_on", Some(serde_json::json!(["attendance", "speaking"])), pair("top_band_needs_full_marks_on[1]", "is \"speaking\", not one of the parts")),
            // Programme templates.
            ("thaibinh-kieumau.v1.json", "/criteria/0/indicators/0/max", Some(9.into()), pair("criteria", "the indicators are worth 101 points in all; a framework is scored on 100")),
            ("thaibinh-kieumau.v1.json", "/criteria/4/indicators/2/id", Some("y-duc".into()), pair("criteria[4].indicators[2].id", "\"y-duc\" is listed twice (first at criteria[3].indicators[1].id)")),
            ("thaibinh-kieumau.v1.json", "/criteria/1/indicators", Some(serde_json::json!([])), pair("criteria[1].indicators", "is empty; a criterion is scored through at least one indicator")),
            ("thaibinh-kieumau.v1.json", "/certification_threshold", Some(101.into()), pair("certification_threshold", "is 101; expected 1 to 100")),
            ("thaibinh-kieumau.v1.json", "/targets/1/at_least_percent", Some(20.into()), pair("targets[1]", "needs exactly one of at_least_percent and above_percent")),
            ("thaibinh-kieumau.v1.json", "/marking", Some("stars".into()), pair("marking", "is \"stars\"; expected points or met_or_not_met")),
            ("quynhphu-5-contents.v1.json", "/criteria/4/pass_points", None, pair("criteria[4].pass_points", "is missing; a hard criterion needs a pass mark")),
            ("quynhphu-5-contents.v1.json", "/criteria/4/pass_points", Some(21.into()), pair("criteria[4].pass_points", "is 21; expected 1 to the criterion's 20 points")),
            ("quynhphu-5-contents.v1.json", "/criteria/4/hard", Some(false.into()), pair("criteria[4].pass_points", "is set, but only a hard criterion has a pass mark")),
            ("camau-4tot.v1.json", "/criteria/0/name", Some("x".repeat(257).into()), pair("criteria[0].name", "is 257 bytes long; the limit is 256 bytes")),
            ("camau-4tot.v1.json", "/companions/meetings/name", Some("camau-4tot".into()), pair("companions.meetings", "names camau-4tot a second time")),
        ];
        for (file, pointer, value, expected) in cases {
            assert_eq!(problem(&edited(file, pointer, value)), expected, "{file} {pointer}");
        }
        assert_eq!(problem("[1, 2]"), pair("$", "is a list; a rule set is a JSON object"));
    }
}
