//! `backprop serve`: the playground, a local web page.

use std::net::IpAddr;
use std::path::PathBuf;

use backprop::serve::{Options, Server};

use super::{CliResult, Context, Failure};

/// Options of `backprop serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// The port to listen on (0: any free port).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The address to bind. Anything but a loopback address lets other machines reach the
    /// playground (a warning is printed).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// A saved model (from `backprop train --save`) every new page starts with.
    #[arg(long, value_name = "FILE.json")]
    pub model: Option<PathBuf>,
}

/// Runs `backprop serve` until interrupted (Ctrl-C).
pub fn run(args: &ServeArgs) -> CliResult {
    let model = match &args.model {
        Some(path) => {
            let net = backprop::model_file::load(path)
                .context(|| format!("cannot load the model {}", path.display()))?;
            Some(backprop::model_file::to_json_string(&net)?)
        }
        None => None,
    };
    let options = Options {
        host: args.host,
        port: args.port,
        model,
        ..Options::default()
    };
    let server = Server::bind(options)
        .map_err(|e| Failure::fix("cannot start the playground").because(e))?;
    if !args.host.is_loopback() {
        eprintln!(
            "warning: listening on {}: other machines can reach the playground (it has no login); \
             use --host 127.0.0.1 to keep it local",
            args.host
        );
    }
    outln!("backprop playground: {}", server.url());
    outln!("press Ctrl-C to stop");
    server.run();
    Ok(())
}
