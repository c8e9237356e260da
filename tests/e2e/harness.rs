//! Starting and stopping the real `chibo` binary, and talking to it.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::mpsc,
    time::Duration,
};

use chibo_proto::v1::{self as pb, ledger_client::LedgerClient};
use tonic::transport::Channel;

pub const CHIBO: &str = env!("CARGO_BIN_EXE_chibo");

/// A running `chibo serve`.
pub struct Server {
    child: Child,
    /// The gRPC URL, `http://127.0.0.1:PORT`.
    pub url: String,
    /// The metrics URL.
    pub metrics: String,
    /// Its data directory.
    pub data: PathBuf,
}

impl Server {
    /// Starts `chibo serve` on `data`, on free ports, and waits until it serves.
    pub fn start(data: &Path) -> Server {
        let mut child = Command::new(CHIBO)
            .args(["serve", "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("CHIBO_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the chibo binary starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("chibo serve announces its address");
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in {line:?}"))
                .to_owned()
        };
        Server { url: format!("http://{}", field("grpc=")), metrics: field("metrics="), data: data.to_owned(), child }
    }

    /// A Ledger client.
    pub async fn client(&self) -> LedgerClient<Channel> {
        LedgerClient::connect(self.url.clone()).await.expect("the server accepts connections")
    }

    /// A raw channel, for health and reflection.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url.clone()).unwrap().connect().await.unwrap()
    }

    /// SIGKILL: no shutdown, no flush, nothing.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL is delivered");
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for a clean exit. Async, so that the test's own connections keep
    /// being served while the server drains (a blocked client would hold the drain up).
    pub async fn stop(mut self) {
        let mut child = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap());
        let exit = tokio::task::spawn_blocking(move || {
            let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
            assert!(status.success());
            child.wait().unwrap()
        })
        .await
        .unwrap();
        assert!(exit.success(), "chibo serve exits cleanly on SIGTERM: {exit}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a `chibo` command to completion.
pub fn chibo(args: &[&str]) -> Output {
    Command::new(CHIBO).args(args).output().expect("the chibo binary runs")
}

/// `chibo verify --data DIR --json`: its parsed report and exit code.
pub fn verify(data: &Path) -> (serde_json::Value, i32) {
    let out = chibo(&["verify", "--json", "--data", data.to_str().unwrap()]);
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("verify prints JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (report, out.status.code().unwrap_or(-1))
}

/// A fresh random event id, in canonical form.
pub fn event_id() -> String {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).unwrap();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// A valid StudyPointsEarned submission for `member`.
pub fn points(member: &str, points: u32) -> pb::EventSubmission {
    pb::EventSubmission {
        event_id: event_id(),
        occurred_at: Some(pbjson_types::Timestamp { seconds: 1_767_600_000, nanos: 0 }),
        event: Some(pb::Event {
            kind: Some(pb::event::Kind::StudyPointsEarned(pb::StudyPointsEarned {
                member_id: member.into(),
                points,
                date: "2026-01-05".into(),
                activity: "Nghị quyết 21-NQ/TW".into(),
                source_ref: String::new(),
            })),
        }),
    }
}

/// Every event of the global order, read over gRPC.
pub async fn read_all(client: &mut LedgerClient<Channel>) -> Vec<pb::RecordedEvent> {
    let mut stream = client
        .read_all(pb::ReadAllRequest { after_position: None, max_count: 0 })
        .await
        .expect("ReadAll answers")
        .into_inner();
    let mut events = Vec::new();
    while let Some(event) = stream.message().await.expect("ReadAll streams") {
        events.push(event);
    }
    events
}
