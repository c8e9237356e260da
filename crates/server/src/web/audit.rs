//! The audit page: a cell's or a member's trail as the Audit service streams it (who recorded
//! each event and when, corrections beside what they correct), with a verification badge
//! computed live on every request: the latest checkpoint's signature, each event's hash
//! recomputed from its stored envelope, each inclusion proof checked against the checkpoint's
//! root, and each stream's hash chain checked by the Audit service's VerifyStream.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::response::Response;
use chibo_integrity::merkle::{leaf_hash, verify_inclusion};
use chibo_proto::v1::{self as pb, audit_server::Audit};
use futures::StreamExt as _;
use tonic::Status;

use super::html::Html;
use super::i18n::{Key, Lang};
use super::layout::{here, Page};
use super::{path_id, Visit, Web};

/// Events shown per page of a trail (every one is verified, whichever page is shown).
const PAGE: usize = 250;

/// What the live verification found.
#[derive(Debug, Default)]
pub(crate) struct Verification {
    /// Events in the trail.
    pub events: usize,
    /// Of them, proven included in the checkpoint's tree.
    pub proven: usize,
    /// Everything that did not verify, one sentence each.
    pub failures: Vec<String>,
    /// Whether a checkpoint was there to prove against.
    pub checkpoint: bool,
}

/// The badge a verification earns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Badge {
    /// Every event's hash, chain and inclusion in the signed checkpoint verify.
    Verified,
    /// Nothing failed, but some events are newer than the latest checkpoint.
    Pending,
    /// Something did not verify.
    Failed,
}

impl Verification {
    pub(crate) fn badge(&self) -> Badge {
        if !self.failures.is_empty() {
            Badge::Failed
        } else if self.checkpoint && self.proven == self.events {
            Badge::Verified
        } else {
            Badge::Pending
        }
    }
}

fn hash32(bytes: &[u8]) -> Option<[u8; 32]> {
    bytes.try_into().ok()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks `events` against `checkpoint` (as the Audit service sent them), with the server's
/// checkpoint verifier key.
pub(crate) fn verify(
    checkpoint: Option<&pb::Checkpoint>,
    verifier: &chibo_integrity::NoteVerifier,
    events: &[pb::TrailEvent],
) -> Verification {
    let mut v = Verification { events: events.len(), checkpoint: checkpoint.is_some(), ..Verification::default() };
    let signed = checkpoint.and_then(|cp| match chibo_integrity::checkpoint::open(&cp.note, verifier) {
        Ok(opened) if opened.size == cp.size && opened.root.as_slice() == cp.root.as_slice() => Some(opened),
        Ok(_) => {
            v.failures.push("the checkpoint's note says another size or root than the checkpoint sent".into());
            None
        }
        Err(e) => {
            v.failures.push(format!("the checkpoint's signature does not verify: {e}"));
            None
        }
    });
    for event in events {
        let Some(recorded) = &event.recorded else {
            v.failures.push(format!("event {} came without its stored form", event.event_id));
            continue;
        };
        let hash = chibo_integrity::event_hash(&recorded.envelope);
        if hash.as_slice() != recorded.hash.as_slice() {
            v.failures.push(format!("event at position {}: its hash does not match its envelope", recorded.position));
            continue;
        }
        if !event.proven {
            continue;
        }
        let Some(cp) = &signed else { continue };
        let proof: Option<Vec<[u8; 32]>> = event.inclusion.iter().map(|h| hash32(h)).collect();
        let included = proof.is_some_and(|proof| {
            verify_inclusion(&leaf_hash(&hash), recorded.position, cp.size, &proof, &cp.root).is_ok()
        });
        if included {
            v.proven += 1;
        } else {
            v.failures.push(format!(
                "event at position {}: its inclusion proof does not lead to the checkpoint's root",
                recorded.position
            ));
        }
    }
    v
}

/// Formats seconds since the epoch as a date and time in Vietnam (UTC+7).
fn vietnam_time(ts: Option<&pbjson_types::Timestamp>) -> String {
    let Some(ts) = ts else { return String::new() };
    let local = ts.seconds + 7 * 3600;
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let date = chibo_domain::Date::from_days_since_epoch(days).map(|d| d.to_string()).unwrap_or_default();
    format!("{date} {:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

/// A line saying what an event records: its fields, long lists as their length.
fn describe(event: Option<&pb::Event>) -> String {
    let Some(value) = event.and_then(|e| serde_json::to_value(e).ok()) else { return String::new() };
    let inner = value.as_object().and_then(|o| o.values().next()).cloned().unwrap_or(value);
    let Some(fields) = inner.as_object() else { return inner.to_string() };
    let mut parts = Vec::new();
    for (k, v) in fields {
        let shown = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(a) => format!("[{}]", a.len()),
            serde_json::Value::Object(_) => "{…}".to_owned(),
            other => other.to_string(),
        };
        parts.push(format!("{k}: {shown}"));
    }
    let mut line = parts.join(" · ");
    if line.chars().count() > 220 {
        line = line.chars().take(220).collect::<String>() + "…";
    }
    line
}

/// GET /audit/{cell|member}/{id}?page=
pub(crate) async fn page(
    State(web): State<Web>,
    Visit { query, lang, cookie, caller }: Visit,
    Path((kind, id)): Path<(String, String)>,
) -> Response {
    let result = async {
        let page: usize = match query.get("page").filter(|p| !p.is_empty()) {
            None => 1,
            Some(p) => p
                .parse()
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| Status::invalid_argument(format!("page: {p:?} is not a page number (1, 2, …)")))?,
        };
        let request = match kind.as_str() {
            "cell" => pb::AuditTrailRequest { org_id: path_id("cell_id", &id)?.to_string(), ..Default::default() },
            "member" => {
                pb::AuditTrailRequest { member_id: path_id("member_id", &id)?.to_string(), ..Default::default() }
            }
            other => {
                return Err(Status::not_found(format!(
                    "/audit/{other}: a trail is of a cell or of a member (/audit/cell/…, /audit/member/…)"
                )))
            }
        };
        let mut request = tonic::Request::new(request);
        request.extensions_mut().insert(caller.clone());
        request.extensions_mut().insert(web.limiter.clone());
        let mut items = web.audit.audit_trail(request).await?.into_inner();
        let (mut checkpoint, mut events) = (None, Vec::new());
        while let Some(item) = items.next().await {
            match item?.item {
                Some(pb::trail_item::Item::Checkpoint(cp)) => checkpoint = Some(cp),
                Some(pb::trail_item::Item::Event(e)) => events.push(e),
                None => {}
            }
        }
        let mut verification = verify(checkpoint.as_ref(), web.audit.checkpoints.verifier(), &events);
        let streams: BTreeSet<String> = events.iter().map(|e| e.stream.clone()).collect();
        for stream in streams {
            let mut request = tonic::Request::new(pb::VerifyStreamRequest { stream: stream.clone() });
            request.extensions_mut().insert(caller.clone());
            let answer = web.audit.verify_stream(request).await?.into_inner();
            if !answer.intact {
                verification
                    .failures
                    .push(format!("{stream}: its hash chain is broken: {}", answer.problems.join("; ")));
            }
        }
        Ok::<_, Status>((page, checkpoint, events, verification))
    }
    .await;
    let (page, checkpoint, events, verification) = match result {
        Ok(found) => found,
        Err(status) => return super::refusal_page(status.into(), lang, Some(&caller)),
    };

    let (title, back) = {
        let state = web.domain.state.read();
        match kind.as_str() {
            "cell" => {
                let name = chibo_domain::Id::parse("cell_id", &id)
                    .ok()
                    .and_then(|c| state.index().org(&c).map(|n| n.name.clone()))
                    .unwrap_or_else(|| id.clone());
                (name, format!("/cell/{id}"))
            }
            _ => {
                // The member's name, as the latest MemberJoined of the trail records it.
                let name = events
                    .iter()
                    .rev()
                    .find_map(|e| match e.event.as_ref().and_then(|e| e.kind.as_ref()) {
                        Some(pb::event::Kind::MemberJoined(j)) if j.member_id == id => Some(j.name.clone()),
                        _ => None,
                    })
                    .unwrap_or_else(|| id.clone());
                (name, format!("/member/{id}"))
            }
        }
    };
    let mut b = Html::new();
    badge(&mut b, lang, &verification);
    if let Some(cp) = &checkpoint {
        b.raw("<section class=\"checkpoint\" id=\"checkpoint\">");
        b.elem("h2", &[], lang.t(Key::Checkpoint));
        b.raw("<dl>");
        b.elem("dt", &[], lang.t(Key::Origin)).elem("dd", &[], &cp.origin);
        b.elem("dt", &[], lang.t(Key::TreeSize)).elem(
            "dd",
            &[("data-checkpoint-size", &cp.size.to_string())],
            &cp.size.to_string(),
        );
        b.elem("dt", &[], lang.t(Key::Root)).elem("dd", &[("class", "hash")], &hex(&cp.root));
        b.elem("dt", &[], lang.t(Key::VerifierKey)).elem("dd", &[("class", "hash")], &cp.verifier_key);
        b.raw("</dl>");
        b.elem("pre", &[("class", "note")], &cp.note);
        b.raw("</section>");
    }

    let pages = events.len().div_ceil(PAGE).max(1);
    let page = page.min(pages);
    b.elem("h2", &[], &format!("{} ({})", lang.t(Key::Events), events.len()));
    b.raw("<table class=\"trail\" id=\"trail\"><thead><tr>");
    for key in [Key::Position, Key::Occurred, Key::RecordedBy, Key::EventType, Key::Content, Key::Hash, Key::Proof] {
        b.elem("th", &[], lang.t(key));
    }
    b.raw("</tr></thead><tbody>");
    for e in events.iter().skip((page - 1) * PAGE).take(PAGE) {
        let position = e.recorded.as_ref().map_or(0, |r| r.position);
        let class = if !e.corrects.is_empty() {
            "correction"
        } else if !e.corrected_by.is_empty() {
            "corrected"
        } else {
            ""
        };
        b.open("tr", &[("class", class), ("data-event", &e.event_id), ("data-position", &position.to_string())]);
        b.elem("td", &[("class", "num")], &position.to_string());
        b.elem("td", &[("class", "date")], &vietnam_time(e.occurred_at.as_ref()));
        b.open("td", &[])
            .text(&e.actor)
            .raw("<br><small>")
            .text(&vietnam_time(e.recorded_at.as_ref()))
            .raw("</small></td>");
        b.open("td", &[])
            .text(&e.event_type)
            .raw("<br><small>")
            .text(&format!("{}@{}", e.stream, e.revision))
            .raw("</small></td>");
        b.open("td", &[("class", "content")]);
        if !e.corrects.is_empty() {
            b.open("span", &[("class", "corrects"), ("data-corrects", &e.corrects)])
                .text(&format!("↳ {} {}", lang.t(Key::Corrects), short(&e.corrects)))
                .close("span")
                .raw(" ");
        }
        if !e.corrected_by.is_empty() {
            b.open("span", &[("class", "corrected-by")]).text(lang.t(Key::CorrectedBelow)).close("span").raw(" ");
        }
        b.text(&describe(e.event.as_ref()));
        b.close("td");
        let hash = e.recorded.as_ref().map(|r| hex(&r.hash)).unwrap_or_default();
        b.elem("td", &[("class", "hash"), ("title", &hash)], hash.get(..12).unwrap_or_default());
        let proof = if e.proven { "✓" } else { "…" };
        b.elem("td", &[("class", if e.proven { "proven" } else { "pending" })], proof);
        b.close("tr");
    }
    b.raw("</tbody></table>");
    if pages > 1 {
        b.raw("<p class=\"pages\">");
        for p in 1..=pages {
            if p == page {
                b.elem("strong", &[], &p.to_string());
            } else {
                b.elem("a", &[("href", &format!("/audit/{kind}/{id}?page={p}"))], &p.to_string());
            }
            b.raw(" ");
        }
        b.raw("</p>");
    }
    let log_size = web.domain.state.read().log_size();
    let path = here(&format!("/audit/{kind}/{id}"), &query);
    let page = Page {
        lang,
        caller: Some(&caller),
        title: format!("{} — {title}", lang.t(Key::AuditTrail)),
        crumbs: vec![("/tree".into(), "⌂".into()), (back, title.clone())],
        path: &path,
        log_size: Some(log_size),
    };
    super::respond(page.render(b), cookie)
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn badge(b: &mut Html, lang: Lang, v: &Verification) {
    let (state, class, key) = match v.badge() {
        Badge::Verified => ("verified", "badge ok", Key::Verified),
        Badge::Pending => ("pending", "badge pending", Key::Pending),
        Badge::Failed => ("failed", "badge failed", Key::Failed),
    };
    b.open("section", &[("class", class), ("id", "verification"), ("data-verification", state)]);
    b.elem("strong", &[], lang.t(key));
    b.open("span", &[]).text(&format!(
        " — {} {} / {} {}",
        lang.t(Key::ProvenEvents),
        v.proven,
        v.events,
        lang.t(Key::EventsWord)
    ));
    b.close("span");
    if !v.failures.is_empty() {
        b.raw("<ul>");
        for f in v.failures.iter().take(20) {
            b.elem("li", &[], f);
        }
        b.raw("</ul>");
    }
    b.close("section");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_vietnam() {
        let ts = pbjson_types::Timestamp { seconds: 1_767_600_000, nanos: 0 };
        assert_eq!(vietnam_time(Some(&ts)), "2026-01-05 15:00");
        assert_eq!(vietnam_time(None), "");
    }

    #[test]
    fn the_badge_needs_every_event_proven_and_nothing_failed() {
        let ok = Verification { events: 3, proven: 3, failures: vec![], checkpoint: true };
        assert_eq!(ok.badge(), Badge::Verified);
        let newer = Verification { events: 3, proven: 2, failures: vec![], checkpoint: true };
        assert_eq!(newer.badge(), Badge::Pending);
        let none = Verification { events: 0, proven: 0, failures: vec![], checkpoint: false };
        assert_eq!(none.badge(), Badge::Pending);
        let bad = Verification { events: 3, proven: 3, failures: vec!["x".into()], checkpoint: true };
        assert_eq!(bad.badge(), Badge::Failed);
    }
}
