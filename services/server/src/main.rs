//! `techcredit-server`: runs the gRPC server, or applies migrations alone.

fn main() -> std::process::ExitCode {
    server::cli::main()
}
