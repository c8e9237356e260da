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

        let mut book = Self::defaults();
        let mut from_dir: BTreeMap<(String, u32), String> = BTreeMap::new();
        for path in paths {
            let file =
                path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
            let text = std::fs::read_to_string(&path).map_err(|e| read_error(&path, e))?;
            let set = parse(&text).map_err(|p| RuleError::invalid(&file, p))?;
            let key = (set.name.clone(), set.version);
            if let Some(first) = from_dir.insert(key, file.clone()) {
                return Err(RuleError::invalid(
                    &file,
                    Problem::new("version", format!("{} version {} is also defined by {first}", set.name, set.version)),
                ));
            }
            book.sets.insert((set.name.clone(), set.version), Entry { file, set });
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
                let problem = match self.get(name, version) {
                    None => format!("{name} version {version} is not in the rule book"),
                    Some(found) if found.kind() != kind => {
                        format!("{name} version {version} is a {} rule set, not {kind}", found.kind())
                    }
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

