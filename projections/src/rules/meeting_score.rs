//! Meeting rubrics (`kind: "meeting_score"`, e.g. `phutho-meeting-score`): the parts a meeting
//! is scored on (100 points in all), the bands a total falls in, and the rule that makes a year
//! of meetings "Tốt".

use chibo_domain::text::limit;
use chibo_domain::InvalidField;

use super::document::{Node, Object, Parsed, Problem};

/// The points a meeting's score is out of.
const FULL_SCORE: u32 = 100;

/// A rubric for scoring one meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rubric {
    parts: Vec<RubricPart>,
    bands: Vec<Band>,
    top_band_needs_full_marks_on: Vec<String>,
    year_floor: usize,
    year_top: usize,
    year_top_at_least: u32,
}

/// One part of a rubric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RubricPart {
    /// As named in `MeetingScored.parts[].part`, e.g. `preparation`.
    pub id: String,
    /// In Vietnamese.
    pub name: String,
    /// The most points it gives.
    pub max: u32,
}

/// A band of totals, e.g. Tốt from 90.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Band {
    /// E.g. `tot`.
    pub id: String,
    /// E.g. "Tốt".
    pub name_vi: String,
    /// E.g. "good".
    pub name_en: String,
    /// The least total in the band.
    pub min: u32,
}

/// How a year of regular meetings scored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearVerdict {
    /// The year's rule holds: no meeting below the floor band and enough in the top band.
    pub good_year: bool,
    /// Meetings in the year rule's top band (or a better one).
    pub top_band_meetings: u32,
    /// Meetings below the floor band.
    pub below_floor: u32,
}

fn band_index(bands: &[Band], node: &Node<'_>) -> Parsed<usize> {
    let id = node.str()?;
    bands.iter().position(|b| b.id == id).ok_or_else(|| {
        node.problem(format!(
            "is {id:?}, not one of the bands ({})",
            bands.iter().map(|b| b.id.as_str()).collect::<Vec<_>>().join(", ")
        ))
    })
}

impl Rubric {
    pub(super) fn parse(top: &mut Object<'_>) -> Parsed<Self> {
        let mut parts: Vec<RubricPart> = Vec::new();
        let part_nodes = top.list("parts")?;
        if part_nodes.is_empty() {
            return Err(Problem::new(top.field("parts"), "is empty; a rubric has at least one part"));
        }
        if part_nodes.len() > chibo_domain::event::limit::SCORE_PARTS {
            return Err(Problem::new(
                top.field("parts"),
                format!("has {} parts; the limit is {}", part_nodes.len(), chibo_domain::event::limit::SCORE_PARTS),
            ));
        }
        for node in &part_nodes {
            let mut p = node.object()?;
            let id = p.id("id")?.as_str().to_owned();
            if let Some(first) = parts.iter().position(|q| q.id == id) {
                return Err(Problem::new(p.field("id"), format!("{id:?} is listed twice (first at parts[{first}])")));
            }
            let name = p.text("name", limit::NAME)?;
            let max = p.u32("max")?;
            if max == 0 {
                return Err(Problem::new(p.field("max"), "is 0; a part is worth at least 1 point"));
            }
            p.finish()?;
            parts.push(RubricPart { id, name, max });
        }
        let sum: u64 = parts.iter().map(|p| u64::from(p.max)).sum();
        if sum != u64::from(FULL_SCORE) {
            return Err(Problem::new(
                top.field("parts"),
                format!("the parts' maxima sum to {sum}; they must sum to {FULL_SCORE}"),
            ));
        }

        let mut bands: Vec<Band> = Vec::new();
        let band_nodes = top.list("bands")?;
        for (i, node) in band_nodes.iter().enumerate() {
            let mut b = node.object()?;
            let id = b.id("id")?.as_str().to_owned();
            if let Some(first) = bands.iter().position(|c| c.id == id) {
                return Err(Problem::new(b.field("id"), format!("{id:?} is listed twice (first at bands[{first}])")));
            }
            let name_vi = b.text("name_vi", limit::LABEL)?;
            let name_en = b.text("name_en", limit::LABEL)?;
            let min = b.u32("min")?;
            if min > FULL_SCORE {
                return Err(Problem::new(b.field("min"), format!("is {min}; a score is at most {FULL_SCORE}")));
            }
            if let Some(above) = bands.last() {
                if min >= above.min {
                    return Err(Problem::new(
                        b.field("min"),
                        format!(
                            "is {min}; bands run from best to worst, so it must be below bands[{}].min ({})",
                            i - 1,
                            above.min
                        ),
                    ));
                }
            }
            b.finish()?;
            bands.push(Band { id, name_vi, name_en, min });
        }
        match bands.last() {
            None => return Err(Problem::new(top.field("bands"), "is empty; a rubric has at least one band")),
            Some(lowest) if lowest.min != 0 => {
                return Err(Problem::new(
                    format!("{}[{}].min", top.field("bands"), bands.len() - 1),
                    format!("is {}; the lowest band must start at 0 so that every total has a band", lowest.min),
                ))
            }
            Some(_) => {}
        }

        let mut full_marks = Vec::new();
        for node in top.list_or_empty("top_band_needs_full_marks_on")? {
            let id = node.str()?;
            if !parts.iter().any(|p| p.id == id) {
                return Err(node.problem(format!("is {id:?}, not one of the parts")));
            }
            if full_marks.iter().any(|f| f == id) {
                return Err(node.problem(format!("{id:?} is listed twice")));
            }
            full_marks.push(id.to_owned());
        }
        if !full_marks.is_empty() && bands.len() < 2 {
            return Err(Problem::new(
                top.field("top_band_needs_full_marks_on"),
                "needs a band below the top one for the meetings that miss full marks",
            ));
        }

        let mut year = top.object("year")?;
        let floor = band_index(&bands, &year.required("floor")?)?;
        let top_node = year.required("top")?;
        let top_band = band_index(&bands, &top_node)?;
        if top_band > floor {
            return Err(top_node.problem(format!("is below year.floor ({:?})", bands[floor].id)));
        }
        let year_top_at_least = year.u32("top_at_least")?;
        if !(1..=12).contains(&year_top_at_least) {
            return Err(Problem::new(
                year.field("top_at_least"),
                format!("is {year_top_at_least}; expected 1 to 12 monthly meetings"),
            ));
        }
        year.finish()?;

        Ok(Self {
            parts,
            bands,
            top_band_needs_full_marks_on: full_marks,
            year_floor: floor,
            year_top: top_band,
            year_top_at_least,
        })
    }

    /// The parts, in the file's order.
    pub fn parts(&self) -> &[RubricPart] {
        &self.parts
    }

    /// The bands, best first; the last starts at 0.
    pub fn bands(&self) -> &[Band] {
        &self.bands
    }

    /// The parts a meeting needs full marks on to be in the top band (the Bình Thuận
    /// variant); empty when the total alone decides.
    pub fn top_band_needs_full_marks_on(&self) -> &[String] {
        &self.top_band_needs_full_marks_on
    }

    /// Checks a score, part by part, against the rubric and returns its total. Every part
    /// must be scored exactly once, within its maximum.
    pub fn check(&self, parts: &[(String, u32)]) -> Result<u32, InvalidField> {
        let mut total = 0;
        let mut seen: Vec<Option<usize>> = vec![None; self.parts.len()];
        for (i, (id, points)) in parts.iter().enumerate() {
            let Some(index) = self.parts.iter().position(|p| &p.id == id) else {
                return Err(InvalidField::new(
                    format!("parts[{i}].part"),
                    format!(
                        "{id:?} is not a part of this rubric; expected {}",
                        super::document::expected_one_of(self.parts.iter().map(|p| p.id.as_str()))
                    ),
                ));
            };
            if let Some(first) = seen[index] {
                return Err(InvalidField::new(
                    format!("parts[{i}].part"),
                    format!("{id:?} is listed twice (first at parts[{first}])"),
                ));
            }
            seen[index] = Some(i);
            let part = &self.parts[index];
            if *points > part.max {
                return Err(InvalidField::new(
                    format!("parts[{i}].points"),
                    format!("is {points}; {} is worth at most {}", part.id, part.max),
                ));
            }
            total += points;
        }
        let missing: Vec<&str> =
            self.parts.iter().zip(&seen).filter(|(_, s)| s.is_none()).map(|(p, _)| p.id.as_str()).collect();
        if !missing.is_empty() {
            return Err(InvalidField::new("parts", format!("has no points for {}", missing.join(", "))));
        }
        Ok(total)
    }

    /// The band of a score that passed [`Rubric::check`]: the best band whose minimum the
    /// total reaches; one band lower when the rubric asks full marks on some parts for the top
    /// band and the score misses one of them.
    pub fn band(&self, parts: &[(String, u32)]) -> &Band {
        let total = parts.iter().fold(0u32, |sum, (_, points)| sum.saturating_add(*points));
        let index = self.bands.iter().position(|b| total >= b.min).unwrap_or(self.bands.len() - 1);
        if index == 0 && !self.top_band_needs_full_marks_on.is_empty() {
            let full = |id: &String| {
                let max = self.parts.iter().find(|p| &p.id == id).map(|p| p.max);
                parts.iter().any(|(p, points)| p == id && Some(*points) == max)
            };
            if !self.top_band_needs_full_marks_on.iter().all(full) {
                return &self.bands[1];
            }
        }
        &self.bands[index]
    }

    /// The year's verdict from the bands of its regular (monthly) meetings. Meetings that were
    /// not held or not scored have no band here; whether every meeting was held is the
    /// meeting rules' [`Cadence`](super::Cadence), not the rubric's.
    pub fn year_band(&self, monthly_bands: &[&Band]) -> YearVerdict {
        let floor = self.bands[self.year_floor].min;
        let top = &self.bands[self.year_top];
        let top_band_meetings = monthly_bands.iter().filter(|b| b.min >= top.min).count() as u32;
        let below_floor = monthly_bands.iter().filter(|b| b.min < floor).count() as u32;
        YearVerdict {
            good_year: below_floor == 0 && top_band_meetings >= self.year_top_at_least,
            top_band_meetings,
            below_floor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleBook;

    fn phutho() -> Rubric {
        RuleBook::defaults().meeting_score("phutho-meeting-score", 1).unwrap().clone()
    }

    fn score(points: [u32; 4]) -> Vec<(String, u32)> {
        ["preparation", "attendance", "running", "closing"]
            .iter()
            .zip(points)
            .map(|(p, n)| (p.to_string(), n))
            .collect()
    }

    #[test]
    fn the_phutho_rubric() {
        let r = phutho();
        let parts: Vec<_> = r.parts().iter().map(|p| (p.id.as_str(), p.max)).collect();
        assert_eq!(parts, [("preparation", 15), ("attendance", 20), ("running", 45), ("closing", 20)]);
        let bands: Vec<_> = r.bands().iter().map(|b| (b.id.as_str(), b.name_vi.as_str(), b.min)).collect();
        assert_eq!(
            bands,
            [("tot", "Tốt", 90), ("kha", "Khá", 70), ("trung-binh", "Trung bình", 50), ("kem", "Kém", 0)]
        );
        assert!(r.top_band_needs_full_marks_on().is_empty());
    }

    #[test]
    fn check_totals_and_names_the_bad_part() {
        let r = phutho();
        assert_eq!(r.check(&score([15, 18, 40, 17])), Ok(90));
        let over = score([16, 18, 40, 17]);
        assert_eq!(
            r.check(&over).unwrap_err(),
            InvalidField::new("parts[0].points", "is 16; preparation is worth at most 15")
        );
        let mut unknown = score([15, 18, 40, 17]);
        unknown[2].0 = "duration".into();
        let e = r.check(&unknown).unwrap_err();
        assert_eq!(e.field, "parts[2].part");
        assert_eq!(
            e.reason,
            "\"duration\" is not a part of this rubric; expected preparation, attendance, running or closing"
        );
        let mut twice = score([15, 18, 40, 17]);
        twice[3].0 = "attendance".into();
        assert_eq!(
            r.check(&twice).unwrap_err(),
            InvalidField::new("parts[3].part", "\"attendance\" is listed twice (first at parts[1])")
        );
        let missing = &score([15, 18, 40, 17])[..2];
        assert_eq!(r.check(missing).unwrap_err(), InvalidField::new("parts", "has no points for running, closing"));
    }

    #[test]
    fn bands_at_their_boundaries() {
        let r = phutho();
        // 15+18+40+17 = 90 → Tốt; 15+18+40+16 = 89 → Khá; 70 → Khá; 69 → Trung bình; 50 →
        // Trung bình; 49 → Kém; 0 → Kém.
        for (points, band) in [
            ([15, 18, 40, 17], "tot"),
            ([15, 18, 40, 16], "kha"),
            ([10, 15, 30, 15], "kha"),
            ([10, 15, 30, 14], "trung-binh"),
            ([10, 10, 20, 10], "trung-binh"),
            ([10, 10, 20, 9], "kem"),
            ([0, 0, 0, 0], "kem"),
        ] {
            assert_eq!(r.band(&score(points)).id, band, "{points:?}");
        }
    }

    #[test]
    fn a_year_is_tot_with_every_meeting_kha_or_better_and_seven_tot() {
        let r = phutho();
        let [tot, kha, tb, _kem] = [0, 1, 2, 3].map(|i| &r.bands()[i]);
        // 7 Tốt + 5 Khá: good year.
        let year: Vec<&Band> = [vec![tot; 7], vec![kha; 5]].concat();
        assert_eq!(r.year_band(&year), YearVerdict { good_year: true, top_band_meetings: 7, below_floor: 0 });
        // 6 Tốt + 6 Khá: one Tốt short.
        let year: Vec<&Band> = [vec![tot; 6], vec![kha; 6]].concat();
        assert_eq!(r.year_band(&year), YearVerdict { good_year: false, top_band_meetings: 6, below_floor: 0 });
        // 11 Tốt + 1 Trung bình: one meeting below Khá spoils the year.
        let year: Vec<&Band> = [vec![tot; 11], vec![tb; 1]].concat();
        assert_eq!(r.year_band(&year), YearVerdict { good_year: false, top_band_meetings: 11, below_floor: 1 });
        assert_eq!(r.year_band(&[]), YearVerdict { good_year: false, top_band_meetings: 0, below_floor: 0 });
    }

    #[test]
    fn the_binh_thuan_variant_needs_full_marks_for_tot() {
        let text = r#"{
            "name": "binhthuan-meeting-score", "version": 1, "kind": "meeting_score",
            "title": "Chấm điểm chất lượng sinh hoạt chi bộ (Bình Thuận)", "source": "RULES.md, Bình Thuận variant",
            "parts": [
                {"id": "preparation", "name": "Chuẩn bị", "max": 10},
                {"id": "attendance", "name": "Tham dự", "max": 20},
                {"id": "duration", "name": "Thời lượng", "max": 10},
                {"id": "speaking", "name": "Đảng viên phát biểu", "max": 20},
                {"id": "content", "name": "Nội dung", "max": 30},
                {"id": "minutes", "name": "Biên bản", "max": 10}
            ],
            "bands": [
                {"id": "tot", "name_vi": "Tốt", "name_en": "good", "min": 90},
                {"id": "kha", "name_vi": "Khá", "name_en": "fair", "min": 70},
                {"id": "kem", "name_vi": "Kém", "name_en": "poor", "min": 0}
            ],
            "top_band_needs_full_marks_on": ["attendance", "duration", "speaking", "minutes"],
            "year": {"floor": "kha", "top": "tot", "top_at_least": 7}
        }"#;
        let set = crate::rules::parse(text).unwrap();
        let crate::rules::RuleSetBody::MeetingScore(r) = set.body else { panic!("{set:?}") };
        let of = |points: [u32; 6]| -> Vec<(String, u32)> {
            ["preparation", "attendance", "duration", "speaking", "content", "minutes"]
                .iter()
                .zip(points)
                .map(|(p, n)| (p.to_string(), n))
                .collect()
        };
        // 5+20+10+20+25+10 = 90 with full marks on the four parts: Tốt.
        assert_eq!(r.band(&of([5, 20, 10, 20, 25, 10])).id, "tot");
        // 10+20+10+19+30+10 = 99, but speaking 19 of 20: at most Khá.
        assert_eq!(r.band(&of([10, 20, 10, 19, 30, 10])).id, "kha");
        // 69 is below Khá anyway.
        assert_eq!(r.band(&of([0, 20, 10, 19, 10, 10])).id, "kem");
    }
}
