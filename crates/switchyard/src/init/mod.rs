//! First start: `switchyard init` writes a configuration file from the API
//! keys typed at a terminal (or from the usual environment variables), and
//! `switchyard` with no file serves the providers whose variables are set.

pub mod starters;
mod terminal;

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use starters::{Chosen, Key, STARTERS};

/// `switchyard init`'s arguments.
#[derive(clap::Args)]
pub struct InitArgs {
    /// Where to write the configuration.
    #[arg(long, short, default_value = "switchyard.yaml")]
    pub output: PathBuf,
    /// Overwrite the file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// The process environment, as the pure functions take it.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Run `switchyard init`.
pub fn run(args: &InitArgs) -> ExitCode {
    match init(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init(args: &InitArgs) -> Result<(), String> {
    let out = &args.output;
    if out.exists() && !args.force {
        return Err(format!(
            "{} already exists; nothing was written. Pass --force to overwrite it, or --output OTHER.yaml to write elsewhere",
            out.display()
        ));
    }
    let interactive = std::io::stdin().is_terminal();
    let chosen = if interactive {
        ask()?
    } else {
        starters::from_env(process_env)
    };
    if chosen.is_empty() {
        return Err(if interactive {
            "no API key was given; nothing was written. Run `switchyard init` again and paste at least one key, or set the provider's variable (e.g. OPENAI_API_KEY) and run `switchyard init </dev/null` to write references to it".to_string()
        } else {
            format!(
                "no terminal to ask for keys, and none of these variables is set: {}. Set one (e.g. export OPENAI_API_KEY=sk-...) and run again, or run `switchyard init` in a terminal; nothing was written",
                starters::env_var_names().join(", ")
            )
        });
    }
    let token = starters::admin_token()?;
    let header = if interactive {
        "Written by `switchyard init`. It holds API keys and the admin token: keep it private (mode 0600).\nAdd providers, routes, consumers and limits as in the README's configuration reference."
    } else {
        "Written by `switchyard init`. The keys are read from the environment when the gateway starts;\nthe file holds the admin token: keep it private (mode 0600).\nAdd providers, routes, consumers and limits as in the README's configuration reference."
    };
    let text = starters::yaml(&chosen, Some(&token), header);
    write_private(out, &text)?;

    let example = chosen.first().map_or("gpt-4o-mini", |c| c.starter.example);
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "\nWrote {} (mode 0600) with {} provider{}:\n{}",
        out.display(),
        chosen.len(),
        if chosen.len() == 1 { "" } else { "s" },
        starters::describe(&chosen)
    );
    // `switchyard` alone finds ./switchyard.yaml.
    let alone = if out == Path::new("switchyard.yaml") {
        " (or just `switchyard` in this directory)"
    } else {
        ""
    };
    let _ = writeln!(
        stdout,
        "Start the gateway:  switchyard --config {}{alone}\n\
         Console:            http://{}/\n\
         Admin token:        {token}\n\
         (shown only now; it is admin.token in the file)\n\n\
         Then try:\n  curl http://{}/v1/chat/completions \\\n    -H 'content-type: application/json' \\\n    -d '{{\"model\":\"{example}\",\"messages\":[{{\"role\":\"user\",\"content\":\"Hello!\"}}]}}'",
        shell_word(out),
        starters::ADMIN_LISTEN,
        starters::LISTEN,
    );
    Ok(())
}

/// A path as a shell word (quoted when it needs to be).
fn shell_word(p: &Path) -> String {
    let s = p.display().to_string();
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./+=:@".contains(&b))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Ask for each provider's key at the terminal, echo off.
fn ask() -> Result<Vec<Chosen>, String> {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "Switchyard setup: paste the API key of each provider you use; press Enter to skip one.\nKeys are not shown as you type. They are written to the configuration file.\n"
    );
    let echo = terminal::EchoOff::stdin()?;
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut chosen = Vec::new();
    for s in STARTERS {
        loop {
            let _ = write!(
                err,
                "{} API key ({}; Enter to skip): ",
                s.name,
                s.env.join(" or ")
            );
            let _ = err.flush();
            let mut line = String::new();
            let n = input
                .read_line(&mut line)
                .map_err(|e| format!("cannot read the terminal: {e}"))?;
            // Echo is off: the user's Enter did not move the cursor.
            let _ = writeln!(err);
            if n == 0 {
                return Err("input ended before every question was answered; nothing was written (run `switchyard init` again)".into());
            }
            let key = line.trim();
            if key.is_empty() {
                break;
            }
            if !key.bytes().all(|b| b.is_ascii_graphic()) {
                let _ = writeln!(
                    err,
                    "  that does not look like an API key (it has spaces or other invisible characters); paste it again, or press Enter to skip"
                );
                continue;
            }
            let _ = writeln!(err, "  {} key taken", s.name);
            chosen.push(Chosen {
                starter: s,
                key: Key::Literal(key.to_string()),
            });
            break;
        }
    }
    drop(echo);
    Ok(chosen)
}

/// Write `text` to `path` readable by its owner only, replacing any file
/// there at once (through a new file beside it, renamed over).
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| format!("{} is not a file name", path.display()))?;
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!(
            "cannot write {}: {e} (check that {} exists and is writable, or pass --output)",
            path.display(),
            dir.display()
        )
    })
}

/// The start-up banner of the environment start.
pub fn env_banner(
    start: &starters::EnvStart,
    addr: std::net::SocketAddr,
    admin: Option<std::net::SocketAddr>,
) -> String {
    let example = start
        .chosen
        .first()
        .map_or("gpt-4o-mini", |c| c.starter.example);
    let admin = match admin {
        Some(a) => format!(
            "Console: http://{a}/ (live edits are not saved to a file)   Admin API: http://{a}/admin/ (no token: loopback only)\n"
        ),
        None => String::new(),
    };
    format!(
        r#"
Switchyard is serving the providers whose keys are in the environment: no config
file was found ({looked}).

{providers}
  curl http://{addr}/v1/chat/completions \
    -H 'content-type: application/json' \
    -d '{{"model":"{example}","messages":[{{"role":"user","content":"Hello!"}}]}}'

{admin}Run `switchyard init` to write this setup to switchyard.yaml and edit it.
Each request is logged below as one JSON line (the access log).
"#,
        looked = LOOKED_FOR,
        providers = starters::describe(&start.chosen),
    )
}

/// Where `serve` looks for a configuration, for banners.
pub const LOOKED_FOR: &str = "looked for --config, $SWITCHYARD_CONFIG, ./switchyard.yaml";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word(Path::new("switchyard.yaml")), "switchyard.yaml");
        assert_eq!(shell_word(Path::new("/a b/c'd")), r"'/a b/c'\''d'");
    }

    #[test]
    fn private_files_are_0600_and_replace_the_old_one() {
        let dir = std::env::temp_dir().join(format!("switchyard-init-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("s.yaml");
        std::fs::write(&p, "old").unwrap();
        write_private(&p, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        let err = write_private(&dir.join("no/such/dir/s.yaml"), "x").unwrap_err();
        assert!(err.contains("cannot write"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
