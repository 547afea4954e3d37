//! `techcredit-server` under the name `e2e-server`, for the end-to-end suite.

fn main() -> std::process::ExitCode {
    server::cli::main()
}
