//! The annual evaluation of a province year (`evaluation::evaluate`, what the Evaluation
//! service runs): from a state rebuilt from the embedded store, untimed, then timed over a
//! few evaluations.

use std::time::Instant;

use anyhow::{bail, Context};
use chibo::demo::{self, calendar::Day};
use chibo_domain::Id;
use chibo_projections::{engine, evaluation, rules::RuleBook, State};

use crate::{cli::EvaluateArgs, figure, rebuild};

pub async fn run(args: EvaluateArgs) -> anyhow::Result<()> {
    let EvaluateArgs { data, org, year, rule_set, iterations } = args;
    if iterations == 0 {
        bail!("--iterations: must be at least 1");
    }
    let (name, version) = rule_set
        .rsplit_once('@')
        .and_then(|(name, v)| Some((name.to_owned(), v.parse::<u32>().ok()?)))
        .with_context(|| format!("--rule-set {rule_set}: expected name@version, as vn-qd366-2025@1"))?;
    let org = Id::parse("--org", org.as_deref().unwrap_or(demo::PROVINCE)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let year = match year {
        Some(year) => year,
        None => u16::try_from(Day::today_in_vietnam().year() - 1).context("the clock's year")?,
    };
    let store = rebuild::open(&data)?;
    let state: State = engine::rebuild(&store).await.context("the rebuild failed")?;
    drop(store);
    let rules = RuleBook::defaults();

    let mut last = None;
    let started = Instant::now();
    for _ in 0..iterations {
        let report = evaluation::evaluate(&state, &rules, &org, year, &name, version)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("evaluating {org} for {year}"))?;
        last = Some(report);
    }
    let elapsed = started.elapsed() / u32::try_from(iterations).unwrap_or(u32::MAX);
    let report = last.context("no evaluation ran")?;
    let what = format!("{org} {year}, {name}@{version}, log of {} events", state.log_size());
    figure::millis("evaluate.ms", elapsed, &what);
    figure::print("evaluate.report_bytes", report.report.len() as f64, "B", "the canonical report");
    Ok(())
}
