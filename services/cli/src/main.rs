//! `techcredit`: the command line of the techcredit risk pool, for every user: a bank's
//! integrator, risk officers, finance, auditors, batch jobs and administrators.
//!
//! Commands go by resource and verb (`techcredit loans enrol …`). Reads print a table, the
//! API's own JSON (`--output json`) or CSV; exit codes are in `failure`.

mod commands;
mod connect;
mod dashboard;
mod demo;
mod failure;
mod output;
mod reconcile;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand};

use crate::commands::{admin, audit, loans, pool, settlement};
use crate::connect::{Clients, Deadlines};
use crate::failure::Failure;
use crate::output::{Format, Printer, Units};

const EXIT_CODES: &str = "\
Exit codes:
  0  done
  1  the server refused (its gRPC code, reason and bad fields on one line)
  2  usage: bad flags or arguments, a file that cannot be read
  3  the server cannot be reached, or did not answer within the deadline
  4  reconcile found discrepancies, or ledger verify found differences";

/// The techcredit command line.
#[derive(Debug, Parser)]
#[command(name = "techcredit", version, about = "The techcredit risk pool, from the command line", after_help = EXIT_CODES)]
pub struct Cli {
    /// Server address as the server prints it (127.0.0.1:50051), http://host:port, or
    /// https://host:port for TLS (never downgraded to plaintext).
    #[arg(long, global = true, env = "TECHCREDIT_ADDRESS")]
    address: Option<String>,
    /// CA bundle (PEM) the server's TLS certificate is checked against (default: the system's).
    #[arg(long, global = true, env = "TECHCREDIT_CA_FILE", value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// This client's TLS certificate (PEM), for a server that verifies banks' certificates.
    #[arg(long, global = true, env = "TECHCREDIT_CERT_FILE", value_name = "FILE", requires = "cert_key_file")]
    cert_file: Option<PathBuf>,
    /// The private key (PEM) of --cert-file.
    #[arg(long, global = true, env = "TECHCREDIT_CERT_KEY_FILE", value_name = "FILE", requires = "cert_file")]
    cert_key_file: Option<PathBuf>,
    /// A file holding the API key (its first line).
    #[arg(long, global = true, env = "TECHCREDIT_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// The API key itself (prefer --key-file or TECHCREDIT_KEY: a command line is visible to
    /// other users of the machine); @FILE reads it from FILE.
    #[arg(long, global = true, env = "TECHCREDIT_KEY", hide_env_values = true)]
    key: Option<String>,
    /// A profile of the config file (server and key).
    #[arg(long, global = true, env = "TECHCREDIT_PROFILE")]
    profile: Option<String>,
    /// The config file (default: ~/.config/techcredit/config.toml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// How reads are printed.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Format::Table)]
    output: Format,
    /// Amounts in yuan, or in 万元/亿元.
    #[arg(long, global = true, value_enum, default_value_t = Units::Yuan)]
    units: Units,
    /// Seconds to wait for the connection.
    #[arg(long, global = true, default_value_t = 5)]
    connect_timeout: u64,
    /// Seconds to wait for each answer.
    #[arg(long, global = true, default_value_t = 30)]
    timeout: u64,
    /// The request id of a change, so that running the command again repeats it rather than
    /// doing it twice (default: a new id each run).
    #[arg(long, global = true)]
    request_id: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Partner banks: create, list, show, update, status.
    #[command(subcommand)]
    Banks(admin::Banks),
    /// API keys: create, list, revoke.
    #[command(subcommand)]
    Keys(admin::Keys),
    /// Co-sharing parties (insurers, guarantee companies): create, list, show.
    #[command(subcommand)]
    Parties(admin::Parties),
    /// Loan applications: submit (from a TOML or JSON file), show, list, review, withdraw.
    #[command(subcommand)]
    Applications(loans::Applications),
    /// Covered loans: enrol, report, list, show.
    #[command(subcommand)]
    Loans(loans::Loans),
    /// The pool: position, exposure, stress, contributions, interest, reverse.
    #[command(subcommand)]
    Pool(pool::PoolCommand),
    /// The ledger: accounts, entries, verify.
    #[command(subcommand)]
    Ledger(pool::Ledger),
    /// Claims: file, approve, reject, list, show.
    #[command(subcommand)]
    Claims(settlement::Claims),
    /// Recoveries: report.
    #[command(subcommand)]
    Recoveries(settlement::Recoveries),
    /// Monthly statements: run, show, list, confirm, pay, export.
    #[command(subcommand)]
    Statements(settlement::Statements),
    /// Reconcile a bank's monthly loan tape (CSV) and write the discrepancy report.
    Reconcile(reconcile::Reconcile),
    /// The audit trail: list, verify (AUDITOR, ADMIN).
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// The business clock: show, advance (simulated clocks only).
    #[command(subcommand)]
    Clock(admin::Clock),
    /// The pool's position (the same as `pool position`).
    Position(dashboard::Position),
    /// Build a living demo book month by month on a simulated clock: a server of its own on
    /// a temporary SQLite database, or --address of one with a simulated clock (and an
    /// administrator's key).
    Demo(demo::Demo),
    /// Shell completions for bash, zsh or fish, printed to stdout.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// The manual page (roff), printed to stdout.
    Man,
}

/// What a command runs with.
pub struct Ctx {
    /// The services.
    pub clients: Clients,
    /// The printer.
    pub out: Printer,
    request_id: Option<String>,
}

impl Ctx {
    /// `--request-id`, if given.
    pub fn request_id_flag(&self) -> Option<String> {
        self.request_id.clone()
    }

    /// The request id of a change: `--request-id`, or a new one.
    pub fn request_id(&self) -> String {
        self.request_id.clone().unwrap_or_else(|| {
            let mut bytes = [0u8; 8];
            let _ = getrandom::fill(&mut bytes);
            format!("cli-{}", hex::encode(bytes))
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return Failure::Usage(format!("cannot start: {error}")).exit(),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.exit(),
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "techcredit", &mut std::io::stdout());
            return Ok(());
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .map_err(|e| Failure::Usage(format!("cannot write the manual: {e}")))?;
            return Ok(());
        }
        // A tape is checked before connecting, so a bad file fails fast.
        Command::Reconcile(args) => args.check()?,
        _ => {}
    }
    if let Command::Demo(demo) = &cli.command {
        return run_demo(&cli, demo).await;
    }
    let (ctx, _) = context(&cli).await?;
    match cli.command {
        Command::Banks(command) => command.run(&ctx).await,
        Command::Keys(command) => command.run(&ctx).await,
        Command::Parties(command) => command.run(&ctx).await,
        Command::Applications(command) => command.run(&ctx).await,
        Command::Loans(command) => command.run(&ctx).await,
        Command::Pool(command) => command.run(&ctx).await,
        Command::Ledger(command) => command.run(&ctx).await,
        Command::Claims(command) => command.run(&ctx).await,
        Command::Recoveries(command) => command.run(&ctx).await,
        Command::Statements(command) => command.run(&ctx).await,
        Command::Reconcile(args) => args.run(&ctx).await,
        Command::Clock(command) => command.run(&ctx).await,
        Command::Audit(command) => command.run(&ctx).await,
        Command::Position(args) => args.run(&ctx).await,
        Command::Completions { .. } | Command::Man | Command::Demo(_) => Ok(()),
    }
}

fn deadlines(cli: &Cli) -> Deadlines {
    Deadlines { connect: Duration::from_secs(cli.connect_timeout), call: Duration::from_secs(cli.timeout) }
}

/// The demo against `--address`, or against a server of its own.
async fn run_demo(cli: &Cli, demo: &demo::Demo) -> Result<(), Failure> {
    if let Some(address) = &cli.address {
        let (ctx, target) = context(cli).await?;
        debug_assert_eq!(&target.address, address);
        return demo.run(&ctx, &target).await;
    }
    let mut server = demo.start_server()?;
    eprintln!("started techcredit-server at {} on a temporary SQLite database", server.address);
    let target = connect::Target {
        address: server.address.clone(),
        deadlines: deadlines(cli),
        tls: connect::TlsOptions::default(),
    };
    let clients = target.connect(&server.admin_key).await?;
    let ctx = Ctx { clients, out: Printer::new(cli.output, cli.units)?, request_id: None };
    demo.run(&ctx, &target).await?;
    if demo.keep() {
        demo::kept(&mut server);
    } else {
        out!("(the demo's server stops now; run with --keep to explore the book afterwards)");
    }
    Ok(())
}

/// Connects as the flags, environment and profile say.
async fn context(cli: &Cli) -> Result<(Ctx, connect::Target), Failure> {
    let config = connect::config_path(cli.config.as_deref());
    let profile = connect::profile(config.as_deref(), cli.profile.as_deref(), cli.config.is_some())?;
    let address = cli.address.clone().or(profile.address).unwrap_or_else(|| connect::DEFAULT_ADDRESS.to_owned());
    let key = match (&cli.key_file, &cli.key, &profile.key_file) {
        (Some(file), _, _) => connect::read_key_file(file)?,
        (None, Some(key), _) => match key.strip_prefix('@') {
            Some(file) => connect::read_key_file(std::path::Path::new(file))?,
            None => key.clone(),
        },
        (None, None, Some(file)) => connect::read_key_file(file)?,
        (None, None, None) => {
            return Err(Failure::Usage(
                "an API key is required: --key-file FILE, TECHCREDIT_KEY, or a profile with key_file".to_owned(),
            ));
        }
    };
    let tls = connect::TlsOptions {
        ca_file: cli.ca_file.clone().or(profile.ca_file),
        identity: match (cli.cert_file.clone(), cli.cert_key_file.clone()) {
            (Some(cert), Some(key)) => Some((cert, key)),
            _ => match (profile.cert_file, profile.cert_key_file) {
                (Some(cert), Some(key)) => Some((cert, key)),
                (None, None) => None,
                _ => {
                    return Err(Failure::Usage(
                        "the profile needs both cert_file and cert_key_file, or neither".to_owned(),
                    ));
                }
            },
        },
    };
    let target = connect::Target { address, deadlines: deadlines(cli), tls };
    let clients = target.connect(&key).await?;
    Ok((Ctx { clients, out: Printer::new(cli.output, cli.units)?, request_id: cli.request_id.clone() }, target))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
