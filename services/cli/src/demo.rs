//! `techcredit demo`: a living pool in one command. Through the public gRPC API only, month
//! by month on a simulated business clock, it builds a realistic, deterministic (`--seed`)
//! book: the 4:4:2 contributions reaching the 50,000,000.00 pool, four partner banks, a few
//! hundred Yinzhou technology enterprises applying (some approved at once, some referred and
//! reviewed, some rejected — outside the district, in an excluded industry), enrolments,
//! repayments and maturities, loans going overdue and defaulting, claims with four eyes,
//! recoveries, each bank's monthly statement confirmed and paid, and each bank's monthly loan
//! tape reconciled with a few discrepancies. It ends near the 600,000,000.00 covered-balance
//! target and prints the pool's position.

mod book;
mod people;

use std::path::PathBuf;
use std::process::{Child, Stdio};

use clap::ValueEnum;

use self::book::Book;
use proto::v1 as pb;

use crate::connect::Target;
use crate::failure::Failure;
use crate::output::Printer;
use crate::{Ctx, out};

/// How big a book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Size {
    /// Six months, about 60,000,000.00 covered (for tests and a quick look).
    Small,
    /// Twenty-four months, near the 600,000,000.00 target.
    Full,
}

/// `techcredit demo`.
#[derive(Debug, clap::Args)]
pub struct Demo {
    /// How big a book.
    #[arg(long, value_enum, default_value_t = Size::Full)]
    size: Size,
    /// The seed: the same seed builds the same book.
    #[arg(long, default_value_t = 2025)]
    seed: u64,
    /// Leave the server it started running (with its data directory) when done.
    #[arg(long)]
    keep: bool,
    /// The first business date of a server it starts (YYYY-MM-DD).
    #[arg(long, default_value = "2025-01-02")]
    start: String,
    /// The techcredit-server binary to start (default: the one beside this binary).
    #[arg(long)]
    server: Option<PathBuf>,
}

/// A server the demo started, stopped on drop unless kept.
pub struct OwnServer {
    child: Option<Child>,
    /// Where it listens.
    pub address: String,
    /// Where its web dashboard listens.
    pub dashboard: Option<String>,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Its administrator key.
    pub admin_key: String,
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

impl Demo {
    /// Starts a server of its own on a new SQLite data directory with a simulated clock.
    pub fn start_server(&self) -> Result<OwnServer, Failure> {
        let binary = match &self.server {
            Some(path) => path.clone(),
            None => std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(|dir| dir.join("techcredit-server")))
                .filter(|path| path.exists())
                .ok_or_else(|| {
                    Failure::Usage(
                        "no techcredit-server beside this binary: build it (cargo build -p server), give --server PATH, \
                         or run the demo against a server with a simulated clock (--address)"
                            .to_owned(),
                    )
                })?,
        };
        let data_dir = std::env::temp_dir().join(format!("techcredit-demo-{}", std::process::id()));
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| Failure::Usage(format!("cannot make {}: {e}", data_dir.display())))?;
        let mut child = std::process::Command::new(&binary)
            .args(["--listen", "127.0.0.1:0", "--dashboard-listen", "127.0.0.1:0"])
            .args(["--clock", &format!("simulated:{}", self.start), "--data-dir"])
            .arg(&data_dir)
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Failure::Usage(format!("cannot start {}: {e}", binary.display())))?;
        let (address, dashboard) = listening_address(&mut child)?;
        let admin_key = crate::connect::read_key_file(&data_dir.join("bootstrap-admin.key"))?;
        Ok(OwnServer { child: Some(child), address, dashboard, data_dir, admin_key })
    }

    /// Builds the book on the server `ctx` talks to (an administrator's key, a simulated
    /// clock), then prints the position.
    pub async fn run(&self, ctx: &Ctx, target: &Target) -> Result<(), Failure> {
        let address = &target.address;
        let info = ctx.clients.admin.clone().get_server_info(pb::GetServerInfoRequest {}).await?.into_inner();
        if info.clock_mode() != pb::ClockMode::Simulated {
            return Err(Failure::Usage(format!(
                "{address} runs on the system clock; the demo moves the business date, so it needs a server started with --clock simulated:YYYY-MM-DD"
            )));
        }
        let started = std::time::Instant::now();
        let mut book = Book::open(ctx, target, self.size, self.seed, &info.business_date).await?;
        let months = match self.size {
            Size::Small => 6,
            Size::Full => 24,
        };
        for month in 0..months {
            book.month(month, months).await?;
        }
        book.settle_last_month().await?;
        eprintln!("built in {:.1} s", started.elapsed().as_secs_f64());
        let auditor =
            Ctx { clients: book.auditor.clone(), out: Printer::new(ctx.out.format, ctx.out.units)?, request_id: None };
        crate::dashboard::Position::today().run(&auditor).await?;
        let verify = book.auditor.pool.clone().verify_ledger(pb::VerifyLedgerRequest {}).await?.into_inner();
        if !verify.ok {
            return Err(Failure::Found(format!("the demo's books differ: {:?}", verify.differences)));
        }
        out!();
        out!("{}", book.summary());
        Ok(())
    }

    /// Whether the started server is left running.
    pub fn keep(&self) -> bool {
        self.keep
    }
}

/// What to tell a user whose server keeps running.
pub fn kept(server: &mut OwnServer) {
    if let Some(child) = server.child.take() {
        out!();
        out!(
            "The server keeps running at {} (pid {}), its data in {}.",
            server.address,
            child.id(),
            server.data_dir.display()
        );
        out!("Try:");
        let key = server.data_dir.join("bootstrap-admin.key");
        out!("  export TECHCREDIT_ADDRESS={} TECHCREDIT_KEY_FILE={}", server.address, key.display());
        out!("  techcredit pool position --units wan");
        out!("  techcredit claims list");
        out!("  techcredit statements list --bank nbcb");
        out!("  techcredit ledger verify");
        if let Some(url) = &server.dashboard {
            out!("The dashboard: {url} (sign in with the key in {})", key.display());
        }
        out!("Stop it with: kill {}", child.id());
        std::mem::forget(child);
    }
}

/// The gRPC address (and the dashboard's) the server prints.
fn listening_address(child: &mut Child) -> Result<(String, Option<String>), Failure> {
    use std::io::BufRead;
    let stdout = child.stdout.take().ok_or_else(|| Failure::Usage("the server has no stdout".to_owned()))?;
    let mut dashboard = None;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.map_err(|e| Failure::Usage(format!("reading the server's output: {e}")))?;
        if let Some(url) = line.strip_prefix("techcredit dashboard on ") {
            dashboard = Some(url.trim().to_owned());
        }
        if let Some(address) = line.strip_prefix("techcredit-server listening on ") {
            return Ok((address.trim().to_owned(), dashboard));
        }
    }
    Err(Failure::Usage("the server stopped before it listened".to_owned()))
}
