//! `shequ user …`, `shequ token …`, `shequ log verify`: accounts and the audit log in the
//! database, as an admin at the console manages them.

use std::path::Path;

use shequ::accounts::{NewUser, Role, credentials};
use shequ::store::accounts::{self as store_accounts, AccountError};
use shequ::store::{self, Store};

use super::args::{TokenCommand, UserCommand};
use super::data::open_db;
use super::error::CliError;

/// The audit log's actor for everything done from the command line.
pub const CLI_ACTOR: &str = "cli";

pub fn user(command: UserCommand) -> Result<(), CliError> {
    match command {
        UserCommand::Add {
            name,
            role,
            towns,
            password_stdin,
            db,
        } => add_user(&name, role, &towns, password_stdin, &db.db),
        UserCommand::Password {
            name,
            password_stdin,
            db,
        } => set_password(&name, password_stdin, &db.db),
        UserCommand::List { db } => list_users(&open_db(&db.db, false)?),
        UserCommand::Disable { name, db } => disable_user(&open_db(&db.db, false)?, &name),
    }
}

fn add_user(
    name: &str,
    role: Role,
    towns: &[String],
    password_stdin: bool,
    db: &Path,
) -> Result<(), CliError> {
    let user = NewUser::new(name, role, towns).map_err(|e| CliError::input(e.to_string()))?;
    let (password, hash, generated) = new_password(password_stdin)?;
    let store = open_db(db, true)?;
    let added = store.write(|tx| store_accounts::add_user(tx, CLI_ACTOR, &user, Some(&hash)))?;
    let summary = format!(
        "user {} added ({}{})",
        added.name,
        added.role.as_str(),
        if added.towns.is_empty() {
            String::new()
        } else {
            format!(", towns {}", added.towns.join(","))
        }
    );
    announce(&summary, "its generated password", &password, generated);
    Ok(())
}

fn set_password(name: &str, password_stdin: bool, db: &Path) -> Result<(), CliError> {
    let store = open_db(db, false)?;
    if store
        .read(|c| store_accounts::find_user(c, name))?
        .is_none()
    {
        return Err(AccountError::UnknownUser(name.to_owned()).into());
    }
    let (password, hash, generated) = new_password(password_stdin)?;
    store.write(|tx| store_accounts::set_password(tx, CLI_ACTOR, name, &hash))?;
    let summary = format!("password of {name} set; its sessions are ended");
    announce(&summary, "the generated password", &password, generated);
    Ok(())
}

/// Prints what was done; a generated password goes alone on stdout (so a script can capture
/// it), once.
fn announce(summary: &str, what: &str, password: &str, generated: bool) {
    if generated {
        eprintln!("{summary}; {what} is shown only this once:");
        println!("{password}");
    } else {
        println!("{summary}");
    }
}

fn list_users(store: &Store) -> Result<(), CliError> {
    let users = store.read(store_accounts::users)?;
    println!(
        "{:<24} {:<9} {:<9} {:<21} towns",
        "name", "role", "status", "created"
    );
    for u in users {
        println!(
            "{:<24} {:<9} {:<9} {:<21} {}",
            u.name,
            u.role.as_str(),
            if u.disabled { "disabled" } else { "active" },
            u.created_at,
            u.towns.join(",")
        );
    }
    Ok(())
}

fn disable_user(store: &Store, name: &str) -> Result<(), CliError> {
    let was_disabled = store
        .read(|c| store_accounts::find_user(c, name))?
        .is_some_and(|u| u.disabled);
    store.write(|tx| store_accounts::disable_user(tx, CLI_ACTOR, name))?;
    if was_disabled {
        println!("user {name} was already disabled");
    } else {
        println!("user {name} disabled; its sessions and tokens are revoked");
    }
    Ok(())
}

/// A new password (one line from stdin, or generated) and its argon2id hash; `true` when
/// generated, so the caller prints it once.
pub fn new_password(from_stdin: bool) -> Result<(String, String, bool), CliError> {
    let (password, generated) = if from_stdin {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| CliError::input(format!("cannot read the password from stdin: {e}")))?;
        let line = text.strip_suffix('\n').unwrap_or(&text);
        let line = line.strip_suffix('\r').unwrap_or(line).to_owned();
        credentials::check_new_password(&line)
            .map_err(|e| CliError::input(format!("password from stdin: {e}")))?;
        (line, false)
    } else {
        (
            credentials::generate_password().map_err(CliError::internal)?,
            true,
        )
    };
    let hash = credentials::hash_password(&password).map_err(CliError::internal)?;
    Ok((password, hash, generated))
}

pub fn token(command: TokenCommand) -> Result<(), CliError> {
    match command {
        TokenCommand::Create { user, label, db } => {
            let store = open_db(&db.db, false)?;
            let token =
                store.write(|tx| store_accounts::create_token(tx, CLI_ACTOR, &user, &label))?;
            eprintln!(
                "token {} created for {} ({}); it is shown only this once:",
                token.id, token.user, token.label
            );
            println!("{}", token.token);
        }
        TokenCommand::List { db } => {
            let store = open_db(&db.db, false)?;
            println!(
                "{:>5} {:<24} {:<21} {:<21} label",
                "id", "user", "created", "revoked"
            );
            for t in store.read(store_accounts::tokens)? {
                println!(
                    "{:>5} {:<24} {:<21} {:<21} {}",
                    t.id,
                    t.user,
                    t.created_at,
                    t.revoked_at.as_deref().unwrap_or("-"),
                    t.label
                );
            }
        }
        TokenCommand::Revoke { id, db } => {
            let store = open_db(&db.db, false)?;
            let info = store.write(|tx| store_accounts::revoke_token(tx, CLI_ACTOR, id))?;
            println!(
                "token {} of {} ({}) revoked at {}",
                info.id,
                info.user,
                info.label,
                info.revoked_at.as_deref().unwrap_or("?")
            );
        }
    }
    Ok(())
}

/// `shequ log verify`: recomputes the hash chain; a broken chain is a finding (exit 1).
pub fn log_verify(db: &Path) -> Result<(), CliError> {
    let store = open_db(db, false)?;
    let (outcome, (seq, hash)) = store
        .read(|c| Ok::<_, store::DbError>((store::log::verify(c)?, store::log::head(c)?)))
        .map_err(|e| CliError::from(e).context(store.location()))?;
    let db = store::Location::parse(db);
    match outcome {
        Ok(n) => {
            println!(
                "{}: audit log intact, {n} entries (head {seq} {hash})",
                db.display()
            );
            Ok(())
        }
        Err(broken) => Err(CliError::findings(format!(
            "{}: audit log broken: {broken}",
            db.display()
        ))),
    }
}
