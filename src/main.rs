//! `purrceptron`: convert datasets, train, evaluate and classify photos from the command line.
//! A thin adapter: it parses arguments, calls the library and prints; `src/cli/` holds the
//! commands, and the native-only parts (HDF5 conversion, the static server, benchmarks).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::args::Cli::parse();
    match cli::run(args.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
