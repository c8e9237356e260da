//! The `chibo.v1.Standings` and `chibo.v1.Evaluation` services: questions asked of the state
//! the log folds into, after it has caught up with every commit made before the question.

use std::sync::Arc;

use chibo_domain::{Id, InvalidField, StreamName};
use chibo_projections::access::Action;
use chibo_projections::engine::{rebuild_prefix, recorded};
use chibo_projections::evaluation::{self, EvaluationError};
use chibo_projections::provenance::{self, ProvenanceError, Question, Selectors};
use chibo_projections::standings::{self, StandingsError};
use chibo_projections::state::State;
use chibo_projections::Recorded;
use chibo_proto::v1::{self as pb, evaluation_server::Evaluation, standings_server::Standings};
use chibo_store::EventStore;
use serde::Serialize;
use tonic::{Request, Response, Status};

use crate::auth::Caller;
use crate::guard::Domain;
use crate::ledger::read_status;

/// How many times a provenance reads its stream again when the state moved past what was read.
const PROVENANCE_READS: usize = 8;

/// How many events a provenance reads from the store at a time.
const STREAM_PAGE: usize = 4096;

/// The Standings and Evaluation services over the domain state.
#[derive(Clone)]
pub struct ReportService {
    store: Arc<dyn EventStore>,
    domain: Arc<Domain>,
}

impl ReportService {
    /// Services reading `domain`, brought up to `store`'s commits before each answer.
    pub fn new(store: Arc<dyn EventStore>, domain: Arc<Domain>) -> Self {
        Self { store, domain }
    }

    // The standings as the Standings service answers them, for that service and for the web
    // dashboard alike: one scope check and one computation, so the two cannot show different
    // figures. Each answers the standing and the log size it covers.

    /// `member`'s year, if `caller` may read it.
    pub(crate) async fn member(
        &self,
        caller: &Caller,
        member: &Id,
        year: u16,
    ) -> Result<(standings::MemberStanding, u64), Status> {
        caller.may(&self.domain, Action::ReadMember(member))?;
        self.domain.caught_up(self.store.as_ref()).await?;
        let state = self.domain.state.read();
        let standing = standings::member(&state, &self.domain.rules, member, year).map_err(not_found)?;
        Ok((standing, state.log_size()))
    }

    /// `cell`'s year, if `caller` may read it.
    pub(crate) async fn cell(
        &self,
        caller: &Caller,
        cell: &Id,
        year: u16,
    ) -> Result<(standings::CellStanding, u64), Status> {
        caller.may(&self.domain, Action::ReadOrg(cell))?;
        self.domain.caught_up(self.store.as_ref()).await?;
        let state = self.domain.state.read();
        let standing = standings::cell(&state, &self.domain.rules, cell, year).map_err(not_found)?;
        Ok((standing, state.log_size()))
    }

    /// `org`'s subtree rolled up for the year, with leaderboards of `top` lines, if `caller` may
    /// read it.
    pub(crate) async fn committee(
        &self,
        caller: &Caller,
        org: &Id,
        year: u16,
        top: usize,
    ) -> Result<(standings::CommitteeStanding, u64), Status> {
        caller.may(&self.domain, Action::ReadOrg(org))?;
        self.domain.caught_up(self.store.as_ref()).await?;
        let state = self.domain.state.read();
        let standing = standings::committee(&state, &self.domain.rules, org, year, top).map_err(not_found)?;
        Ok((standing, state.log_size()))
    }
}

pub(crate) fn id(field: &str, value: &str) -> Result<Id, Status> {
    Id::parse(field, value).map_err(|e: InvalidField| Status::invalid_argument(e.to_string()))
}

pub(crate) fn year(value: u32) -> Result<u16, Status> {
    match u16::try_from(value) {
        Ok(y) if (chibo_domain::time::MIN_YEAR..=chibo_domain::time::MAX_YEAR).contains(&y) => Ok(y),
        _ => Err(Status::invalid_argument(format!(
            "year: {value} is outside {}..={}",
            chibo_domain::time::MIN_YEAR,
            chibo_domain::time::MAX_YEAR
        ))),
    }
}

/// A provenance request as a [`Question`], every field destructured; errors name the field.
fn question(request: pb::ProvenanceRequest) -> Result<Question, Status> {
    let pb::ProvenanceRequest { subject, year: y, figure, month, quarter, meeting_id, programme_id } = request;
    let y = year(y)?;
    let invalid = |e: InvalidField| Status::invalid_argument(e.to_string());
    let selectors = Selectors {
        month,
        quarter,
        meeting: Id::parse_optional("meeting_id", &meeting_id).map_err(invalid)?,
        programme: Id::parse_optional("programme_id", &programme_id).map_err(invalid)?,
    };
    match subject {
        Some(pb::provenance_request::Subject::MemberId(member)) => {
            Question::member(id("member_id", &member)?, y, &figure, selectors).map_err(invalid)
        }
        Some(pb::provenance_request::Subject::CellId(cell)) => {
            Question::cell(id("cell_id", &cell)?, y, &figure, selectors).map_err(invalid)
        }
        None => Err(Status::invalid_argument("subject: is missing; set member_id or cell_id, whose figure to explain")),
    }
}

fn provenance_status(e: ProvenanceError) -> Status {
    match e {
        ProvenanceError::NotFound(field) => Status::not_found(field.to_string()),
        ProvenanceError::Invalid(field) => Status::invalid_argument(field.to_string()),
        other => Status::internal(other.to_string()),
    }
}

/// Every event of `stream`, decoded as the projections read them.
async fn read_stream(store: &dyn EventStore, stream: &StreamName) -> Result<Vec<Recorded>, Status> {
    let mut events = Vec::new();
    loop {
        let page = store.read_stream(stream, events.len() as u64, STREAM_PAGE).await.map_err(read_status)?;
        for stored in &page {
            events.push(recorded(stored).map_err(|e| Status::data_loss(e.to_string()))?);
        }
        if page.len() < STREAM_PAGE {
            return Ok(events);
        }
    }
}

fn not_found(e: StandingsError) -> Status {
    Status::not_found(e.to_string())
}

fn respond<T: Serialize>(value: Result<T, Status>, log_size: u64) -> Result<Response<pb::StandingResponse>, Status> {
    let value = value?;
    let json = serde_json::to_string(&value).map_err(|e| Status::internal(e.to_string()))?;
    Ok(Response::new(pb::StandingResponse { json, log_size }))
}

#[tonic::async_trait]
impl Standings for ReportService {
    async fn member_standing(
        &self,
        request: Request<pb::MemberStandingRequest>,
    ) -> Result<Response<pb::StandingResponse>, Status> {
        let caller = Caller::of(&request)?;
        let pb::MemberStandingRequest { member_id, year: y } = request.into_inner();
        let (member, y) = (id("member_id", &member_id)?, year(y)?);
        let (standing, log_size) = self.member(&caller, &member, y).await?;
        respond(Ok(standing), log_size)
    }

    async fn cell_standing(
        &self,
        request: Request<pb::CellStandingRequest>,
    ) -> Result<Response<pb::StandingResponse>, Status> {
        let caller = Caller::of(&request)?;
        let pb::CellStandingRequest { cell_id, year: y } = request.into_inner();
        let (cell, y) = (id("cell_id", &cell_id)?, year(y)?);
        let (standing, log_size) = self.cell(&caller, &cell, y).await?;
        respond(Ok(standing), log_size)
    }

    async fn committee_standing(
        &self,
        request: Request<pb::CommitteeStandingRequest>,
    ) -> Result<Response<pb::StandingResponse>, Status> {
        let caller = Caller::of(&request)?;
        let pb::CommitteeStandingRequest { org_id, year: y, top } = request.into_inner();
        let (org, y) = (id("org_id", &org_id)?, year(y)?);
        caller.may(&self.domain, Action::ReadOrg(&org))?;
        let top = match top {
            0 => 10,
            n if n <= 1000 => n as usize,
            n => return Err(Status::invalid_argument(format!("top: {n} is above the limit of 1000"))),
        };
        let (standing, log_size) = self.committee(&caller, &org, y, top).await?;
        respond(Ok(standing), log_size)
    }

    async fn provenance(
        &self,
        request: Request<pb::ProvenanceRequest>,
    ) -> Result<Response<pb::StandingResponse>, Status> {
        let caller = Caller::of(&request)?;
        let subject = match &request.get_ref().subject {
            Some(pb::provenance_request::Subject::MemberId(member)) => Some((true, id("member_id", member)?)),
            Some(pb::provenance_request::Subject::CellId(cell)) => Some((false, id("cell_id", cell)?)),
            None => None,
        };
        match &subject {
            Some((true, member)) => caller.may(&self.domain, Action::ReadMember(member))?,
            Some((false, cell)) => caller.may(&self.domain, Action::ReadOrg(cell))?,
            None => {}
        }
        let question = question(request.into_inner())?;
        self.domain.caught_up(self.store.as_ref()).await?;
        // The stream is read from the store, then explained against the state: if the state
        // took in more of the stream meanwhile, the read is stale and is made again.
        let mut stream = None;
        for _ in 0..PROVENANCE_READS {
            let read = {
                let state = self.domain.state.read();
                provenance::stream_of(&state, &question).map_err(provenance_status)?
            };
            let events = read_stream(self.store.as_ref(), &read).await?;
            stream = Some(read);
            let state = self.domain.state.read();
            match provenance::explain(&state, &self.domain.rules, &question, &events) {
                Err(ProvenanceError::Stale { .. }) => continue,
                answer => return respond(answer.map_err(provenance_status), state.log_size()),
            }
        }
        let stream = stream.map(|s| s.to_string()).unwrap_or_default();
        Err(Status::unavailable(format!("{stream} is being written faster than it can be read and explained; retry")))
    }
}

#[tonic::async_trait]
impl Evaluation for ReportService {
    async fn evaluate(&self, request: Request<pb::EvaluateRequest>) -> Result<Response<pb::EvaluateResponse>, Status> {
        let caller = Caller::of(&request)?;
        let pb::EvaluateRequest { org_id, year: y, rule_set, log_size } = request.into_inner();
        let (org, y) = (id("org_id", &org_id)?, year(y)?);
        caller.may(&self.domain, Action::ReadOrg(&org))?;
        let rule_set = rule_set.ok_or_else(|| Status::invalid_argument("rule_set: is missing"))?;
        let pb::RuleSetRef { name, version } = rule_set.clone();
        let committed = self.domain.caught_up(self.store.as_ref()).await?;
        if let Some(size) = log_size.filter(|size| *size > committed) {
            return Err(Status::invalid_argument(format!(
                "log_size: {size} is beyond the log, which holds {committed} events"
            )));
        }
        let now = {
            let state = self.domain.state.read();
            let current = log_size.is_none_or(|size| size == state.log_size());
            current.then(|| evaluation::evaluate(&state, &self.domain.rules, &org, y, &name, version))
        };
        let done = match (now, log_size) {
            (Some(done), _) => done,
            // An earlier size: the state as it was then, replayed from the log (projections are
            // pure, so this is the report produced at the time, byte for byte).
            (None, size) => {
                let past: State = rebuild_prefix(self.store.as_ref(), size.unwrap_or(committed))
                    .await
                    .map_err(|e| Status::internal(format!("the server cannot read its log: {e}")))?;
                evaluation::evaluate(&past, &self.domain.rules, &org, y, &name, version)
            }
        };
        let done = done.map_err(|e| match e {
            EvaluationError::UnknownOrg(_) => Status::not_found(e.to_string()),
            EvaluationError::UnknownRuleSet(_) | EvaluationError::BadYear(_) => Status::invalid_argument(e.to_string()),
            EvaluationError::Unreadable(_) => Status::failed_precondition(e.to_string()),
        })?;
        Ok(Response::new(pb::EvaluateResponse {
            report: done.report,
            digest: done.digest.to_vec(),
            rule_set: Some(rule_set),
            log_size: done.log_size,
        }))
    }
}
