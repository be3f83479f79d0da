//! # Hyperparameter search over a job queue
//!
//! A search is many small training runs: every combination of a few learning rates, widths
//! and seeds. Run them from a shell loop and the first crash, reboot or pre-empted machine
//! loses track of which finished. Keep them in a database instead: a table of jobs, each with
//! its config, its state (`pending`, `running`, `done`, `failed`), the worker holding it and
//! until when (a *lease*), how many times it was tried, and its result. Any number of workers,
//! on any number of machines, loop "claim a job, run it, record the result". A worker renews
//! its lease while it works (a *heartbeat*); a worker that dies stops renewing, its lease
//! expires, and another worker takes the job over. A job that fails three times is marked
//! failed with its error instead of being retried forever, and a result is recorded only by
//! the worker that holds the job, so nothing completes twice.
//!
//! Two databases, one code path. SQLite (a single file next to the runs) is the default: a
//! write locks the whole database for an instant, so one `UPDATE … WHERE id = (SELECT …)`
//! claims atomically. PostgreSQL serves workers on several machines: there a claim locks the
//! row it takes and skips rows other workers hold (`FOR UPDATE SKIP LOCKED`). The `Db` trait
//! and both backends are given; you write the queue's SQL once, with that one difference.
//!
//! The table (`jobs`): `id` (integer key, increasing), `config` (text: a JSON array of
//! `"key=value"` overrides), `state` (text), `worker` (text or NULL), `lease_until` (real:
//! Unix seconds), `attempts` (integer), `result` (real or NULL), `error` (text or NULL),
//! `completions` (integer: how many times a result was recorded; must end at 1). Parameters in
//! SQL are `$1`, `$2`, … in both databases.
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use candle_core::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A value going into or coming out of SQL.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl Value {
    pub fn int(&self) -> Result<i64> {
        match self {
            Value::Int(v) => Ok(*v),
            v => Err(Error::Msg(format!("expected an integer, got {v:?}"))),
        }
    }
    pub fn real(&self) -> Result<f64> {
        match self {
            Value::Real(v) => Ok(*v),
            Value::Int(v) => Ok(*v as f64),
            v => Err(Error::Msg(format!("expected a number, got {v:?}"))),
        }
    }
    pub fn text(&self) -> Result<String> {
        match self {
            Value::Text(v) => Ok(v.clone()),
            v => Err(Error::Msg(format!("expected text, got {v:?}"))),
        }
    }
}

/// What the queue needs from a database (given).
pub trait Db: Send {
    /// Run one statement with parameters `$1`, `$2`, … (never `Value::Null`: write `NULL` in
    /// the SQL) and return its rows (none for a statement without `SELECT` or `RETURNING`).
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>>;
    /// PostgreSQL (row locks, `FOR UPDATE SKIP LOCKED`) rather than SQLite.
    fn is_postgres(&self) -> bool;
}

/// SQLite through rusqlite (given): waits up to 30 s for another writer, WAL journal.
pub struct Sqlite(rusqlite::Connection);

impl Db for Sqlite {
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>> {
        use rusqlite::types::ValueRef;
        // `$3` is a named parameter to SQLite, numbered by first appearance; `?3` is number 3.
        let sql: String =
            sql.chars().zip(sql.chars().skip(1).chain(std::iter::once(' '))).map(|(c, next)| if c == '$' && next.is_ascii_digit() { '?' } else { c }).collect();
        let mut stmt = self.0.prepare(&sql).map_err(Error::wrap)?;
        let n = stmt.column_count();
        let ps: Vec<rusqlite::types::Value> = params
            .iter()
            .map(|v| match v {
                Value::Null => rusqlite::types::Value::Null,
                Value::Int(i) => rusqlite::types::Value::Integer(*i),
                Value::Real(r) => rusqlite::types::Value::Real(*r),
                Value::Text(t) => rusqlite::types::Value::Text(t.clone()),
            })
            .collect();
        let mut rows = stmt.query(rusqlite::params_from_iter(ps)).map_err(Error::wrap)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(Error::wrap)? {
            let mut r = Vec::with_capacity(n);
            for i in 0..n {
                r.push(match row.get_ref(i).map_err(Error::wrap)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Real(v) => Value::Real(v),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(_) => Value::Null,
                });
            }
            out.push(r);
        }
        Ok(out)
    }
    fn is_postgres(&self) -> bool {
        false
    }
}

/// PostgreSQL through the `postgres` crate (given).
pub struct Postgres(postgres::Client);

impl Db for Postgres {
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>> {
        use postgres::types::{ToSql, Type};
        let boxed: Vec<Box<dyn ToSql + Sync>> = params
            .iter()
            .map(|v| -> Box<dyn ToSql + Sync> {
                match v {
                    Value::Null => Box::new(None::<String>),
                    Value::Int(i) => Box::new(*i),
                    Value::Real(r) => Box::new(*r),
                    Value::Text(t) => Box::new(t.clone()),
                }
            })
            .collect();
        let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
        let rows = self.0.query(sql, &refs).map_err(Error::wrap)?;
        let mut out = Vec::new();
        for row in rows {
            let mut r = Vec::new();
            for (i, col) in row.columns().iter().enumerate() {
                let t = col.type_();
                r.push(if *t == Type::INT8 {
                    row.try_get::<_, Option<i64>>(i).map_err(Error::wrap)?.map_or(Value::Null, Value::Int)
                } else if *t == Type::INT4 {
                    row.try_get::<_, Option<i32>>(i).map_err(Error::wrap)?.map_or(Value::Null, |v| Value::Int(v as i64))
                } else if *t == Type::FLOAT8 {
                    row.try_get::<_, Option<f64>>(i).map_err(Error::wrap)?.map_or(Value::Null, Value::Real)
                } else {
                    row.try_get::<_, Option<String>>(i).map_err(Error::wrap)?.map_or(Value::Null, Value::Text)
                });
            }
            out.push(r);
        }
        Ok(out)
    }
    fn is_postgres(&self) -> bool {
        true
    }
}

/// Open the database a queue URL names and create the `jobs` table if it is missing (given):
/// `sqlite:PATH` for SQLite, or a PostgreSQL connection string (`postgres://…` or
/// `host=… dbname=…`).
pub fn open_db(url: &str) -> Result<Box<dyn Db>> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let c = rusqlite::Connection::open(path).map_err(Error::wrap)?;
        c.busy_timeout(Duration::from_secs(30)).map_err(Error::wrap)?;
        c.pragma_update(None, "journal_mode", "WAL").map_err(Error::wrap)?;
        c.execute_batch(
            "CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, config TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', \
             worker TEXT, lease_until REAL NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, result REAL, error TEXT, \
             completions INTEGER NOT NULL DEFAULT 0)",
        )
        .map_err(Error::wrap)?;
        Ok(Box::new(Sqlite(c)))
    } else {
        let mut c = postgres::Client::connect(url, postgres::NoTls).map_err(Error::wrap)?;
        // Two workers starting at once may both try to create the table: serialise them.
        c.batch_execute(
            "SELECT pg_advisory_lock(7431); CREATE TABLE IF NOT EXISTS jobs (id BIGSERIAL PRIMARY KEY, config TEXT NOT NULL, \
             state TEXT NOT NULL DEFAULT 'pending', worker TEXT, lease_until DOUBLE PRECISION NOT NULL DEFAULT 0, \
             attempts BIGINT NOT NULL DEFAULT 0, result DOUBLE PRECISION, error TEXT, completions BIGINT NOT NULL DEFAULT 0); \
             SELECT pg_advisory_unlock(7431);",
        )
        .map_err(Error::wrap)?;
        Ok(Box::new(Postgres(c)))
    }
}

/// Seconds since the Unix epoch (given): the clock of leases.
pub fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// A job a worker has claimed.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: i64,
    /// The job's overrides, `"key=value"`.
    pub overrides: Vec<String>,
    /// How many times it has been claimed, this time included.
    pub attempts: i64,
}

/// The most attempts a job gets.
pub const MAX_ATTEMPTS: i64 = 3;

/// A connection to the queue, with the lease length its workers use.
pub struct Queue {
    pub url: String,
    pub db: Box<dyn Db>,
    /// Seconds a claim or a heartbeat holds a job for.
    pub lease: f64,
}

impl Queue {
    /// Open (given).
    pub fn open(url: &str, lease: f64) -> Result<Queue> {
        Ok(Queue { url: url.to_string(), db: open_db(url)?, lease })
    }

    /// ## claim
    /// Claim the job with the lowest id that is `pending`, or `running` with a lease that has
    /// expired (its worker died), for `worker`: set `state = 'running'`, `worker`,
    /// `lease_until = now() + lease`, `attempts + 1`, in **one** `UPDATE … WHERE id = (SELECT id
    /// … ORDER BY id LIMIT 1 …) RETURNING id, config, attempts`, so that two workers can never
    /// claim the same job: on PostgreSQL the inner `SELECT` ends with `FOR UPDATE SKIP LOCKED`
    /// (lock the row, skip rows that other claims are locking); on SQLite the statement holds
    /// the database's write lock. Before claiming, a `running` job whose lease expired and that
    /// has used all `MAX_ATTEMPTS` is marked `failed` (error `"lease expired after 3
    /// attempts"`) instead. Returns `None` when nothing can be claimed.
    // HINT: Choosing the job and taking it must be one statement, or two workers can both pick the same row between a SELECT and an UPDATE; and before claiming, fail the expired jobs that have used all their attempts, so that they are not run a fourth time.
    // HINT: First UPDATE jobs SET state = 'failed', error = 'lease expired after 3 attempts', worker = NULL WHERE state = 'running' AND lease_until < $1 AND attempts >= $2 (now, MAX_ATTEMPTS). Then the claim: UPDATE jobs SET state = 'running', worker, lease_until = now + lease, attempts = attempts + 1 WHERE id = (SELECT id FROM jobs WHERE state = 'pending' OR (state = 'running' AND lease_until < now) ORDER BY id LIMIT 1, plus " FOR UPDATE SKIP LOCKED" when self.db.is_postgres()) RETURNING id, config, attempts. No row back means Ok(None).
    // HINT: The config column holds JSON: let overrides: Vec<String> = serde_json::from_str(&row[1].text()?).map_err(Error::wrap)?; and the lock goes inside the subquery, after LIMIT 1: let lock = if self.db.is_postgres() { " FOR UPDATE SKIP LOCKED" } else { "" }; … ORDER BY id LIMIT 1{lock}) RETURNING id, config, attempts
    pub fn claim(&mut self, worker: &str) -> Result<Option<Job>> {
        // BEGIN SOLUTION
        let t = now();
        self.db.query(
            "UPDATE jobs SET state = 'failed', error = 'lease expired after 3 attempts', worker = NULL \
             WHERE state = 'running' AND lease_until < $1 AND attempts >= $2",
            &[Value::Real(t), Value::Int(MAX_ATTEMPTS)],
        )?;
        let lock = if self.db.is_postgres() { " FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE jobs SET state = 'running', worker = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM jobs WHERE state = 'pending' OR (state = 'running' AND lease_until < $3) ORDER BY id LIMIT 1{lock}) \
             RETURNING id, config, attempts"
        );
        let rows = self.db.query(&sql, &[Value::Text(worker.to_string()), Value::Real(t + self.lease), Value::Real(t)])?;
        let Some(row) = rows.first() else { return Ok(None) };
        let overrides: Vec<String> = serde_json::from_str(&row[1].text()?).map_err(Error::wrap)?;
        Ok(Some(Job { id: row[0].int()?, overrides, attempts: row[2].int()? }))
        // END SOLUTION
    }

    /// ## finish
    /// The three ways a worker touches a job it holds, each a single `UPDATE` that applies only
    /// while the job is `running` **and held by this worker** (so a worker whose lease was
    /// taken over changes nothing), returning whether it applied:
    /// - `heartbeat`: `lease_until = now() + lease`;
    /// - `complete`: `state = 'done'`, `result`, `completions + 1`;
    /// - `fail`: the job goes back to `pending` with its `error` recorded and no worker, or to
    ///   `failed` once it has used `MAX_ATTEMPTS` attempts.
    // HINT(finish): Each of the three is one conditional UPDATE whose WHERE clause checks that the job is still running and still held by this worker; whether a row came back tells the caller whether it still held the job.
    // HINT(finish): UPDATE jobs SET … WHERE id = $a AND worker = $b AND state = 'running' RETURNING id, and return !rows.is_empty(). heartbeat sets lease_until = now() + lease; complete sets state = 'done', the result and completions = completions + 1; fail sets the error, worker = NULL, and the state with a CASE on attempts.
    // HINT(finish): fail: UPDATE jobs SET state = CASE WHEN attempts >= $1 THEN 'failed' ELSE 'pending' END, error = $2, worker = NULL WHERE id = $3 AND worker = $4 AND state = 'running' RETURNING id, with [Value::Int(MAX_ATTEMPTS), Value::Text(error.to_string()), Value::Int(id), Value::Text(worker.to_string())].
    pub fn heartbeat(&mut self, id: i64, worker: &str) -> Result<bool> {
        // BEGIN SOLUTION
        let rows = self.db.query(
            "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND worker = $3 AND state = 'running' RETURNING id",
            &[Value::Real(now() + self.lease), Value::Int(id), Value::Text(worker.to_string())],
        )?;
        Ok(!rows.is_empty())
        // END SOLUTION
    }

    pub fn complete(&mut self, id: i64, worker: &str, result: f64) -> Result<bool> {
        // BEGIN SOLUTION
        let rows = self.db.query(
            "UPDATE jobs SET state = 'done', result = $1, completions = completions + 1 WHERE id = $2 AND worker = $3 AND state = 'running' RETURNING id",
            &[Value::Real(result), Value::Int(id), Value::Text(worker.to_string())],
        )?;
        Ok(!rows.is_empty())
        // END SOLUTION
    }

    pub fn fail(&mut self, id: i64, worker: &str, error: &str) -> Result<bool> {
        // BEGIN SOLUTION
        let rows = self.db.query(
            "UPDATE jobs SET state = CASE WHEN attempts >= $1 THEN 'failed' ELSE 'pending' END, error = $2, worker = NULL \
             WHERE id = $3 AND worker = $4 AND state = 'running' RETURNING id",
            &[Value::Int(MAX_ATTEMPTS), Value::Text(error.to_string()), Value::Int(id), Value::Text(worker.to_string())],
        )?;
        Ok(!rows.is_empty())
        // END SOLUTION
    }
}

/// ## create_search_jobs
/// Add one job per combination of a grid of overrides, e.g. `[("lr", ["1e-3", "3e-3"]),
/// ("seed", ["1", "2", "3"])]` makes 6 jobs, in the order of nested loops with the **last**
/// key varying fastest: `["lr=1e-3", "seed=1"]`, `["lr=1e-3", "seed=2"]`, … Each job's
/// `config` is its overrides as a JSON array. Returns the new ids in that order. An empty grid
/// makes one job with no overrides.
// HINT: This is a Cartesian product in the order of nested loops with the last key innermost: build every combination first, then insert one row per combination and collect the ids the database hands back. An empty grid is one empty combination, not none.
// HINT: Start from a list holding one empty combination; for each (key, values), replace every partial combination by one extended combination per value ("key=value"), which keeps the last key varying fastest. Then for each combination: serde_json::to_string it, run INSERT INTO jobs (config) VALUES ($1) RETURNING id with it as Value::Text, and read the id from row 0, column 0 with int().
// HINT: combos = combos.iter().flat_map(|c| values.iter().map(move |v| c.iter().cloned().chain(std::iter::once(format!("{key}={v}"))).collect())).collect();
pub fn create_search_jobs(q: &mut Queue, grid: &[(&str, Vec<String>)]) -> Result<Vec<i64>> {
    // BEGIN SOLUTION
    let mut combos: Vec<Vec<String>> = vec![Vec::new()];
    for (key, values) in grid {
        combos = combos.iter().flat_map(|c| values.iter().map(move |v| c.iter().cloned().chain(std::iter::once(format!("{key}={v}"))).collect())).collect();
    }
    let mut ids = Vec::with_capacity(combos.len());
    for c in combos {
        let json = serde_json::to_string(&c).map_err(Error::wrap)?;
        let rows = q.db.query("INSERT INTO jobs (config) VALUES ($1) RETURNING id", &[Value::Text(json)])?;
        ids.push(rows.first().ok_or_else(|| Error::Msg("INSERT returned no id".into()))?[0].int()?);
    }
    Ok(ids)
    // END SOLUTION
}

/// What became of a job a worker ran.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The result was recorded.
    Done { id: i64, result: f64 },
    /// The run returned an error (recorded; retried unless it was the last attempt).
    Failed { id: i64, error: String },
    /// The lease was lost while the job ran (another worker took it over): nothing recorded.
    LostLease { id: i64 },
}

/// ## run_one_job_from_queue
/// Claim one job for `worker` and run it: `run(&job.overrides)` returns the job's result.
/// While it runs, a heartbeat thread with **its own connection** (`open_db(&q.url)`: the
/// main connection is busy) renews the lease every `lease / 4` seconds and stops when the run
/// ends. Then `complete` on success, `fail` with the error's text on error. Returns `None`
/// when there was nothing to claim.
// HINT: The heartbeat must run while the job runs, on another thread with its own database connection, and must stop as soon as the job ends; a false from complete or fail means another worker took the job over, which is a lost lease, not an error.
// HINT: Claim (None: return Ok(None)). Make an Arc<AtomicBool> stop flag; spawn a thread that opens its own Queue { db: open_db(&url)?, url, lease } and loops: wait lease/4 in short sleeps, checking the flag so that it stops promptly, then heartbeat (false: stop). Run the job; set the flag, join the thread (propagating its error); then complete on Ok and fail with the error's text on Err, turning a false from either into Outcome::LostLease.
// HINT: Ok(Some(match result { Ok(r) if q.complete(job.id, worker, r)? => Outcome::Done { id: job.id, result: r }, Ok(_) => Outcome::LostLease { id: job.id }, Err(e) if q.fail(job.id, worker, &e.to_string())? => Outcome::Failed { id: job.id, error: e.to_string() }, Err(_) => Outcome::LostLease { id: job.id } }))
pub fn run_one_job_from_queue(q: &mut Queue, worker: &str, run: &dyn Fn(&[String]) -> Result<f64>) -> Result<Option<Outcome>> {
    // BEGIN SOLUTION
    let Some(job) = q.claim(worker)? else { return Ok(None) };
    let stop = Arc::new(AtomicBool::new(false));
    let (url, lease, id, who, flag) = (q.url.clone(), q.lease, job.id, worker.to_string(), stop.clone());
    let beat = std::thread::spawn(move || -> Result<()> {
        let mut hq = Queue { db: open_db(&url)?, url, lease };
        loop {
            let mut waited = 0.0;
            while waited < lease / 4.0 {
                if flag.load(Ordering::SeqCst) {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(10));
                waited += 0.01;
            }
            if !hq.heartbeat(id, &who)? {
                return Ok(());
            }
        }
    });
    let result = run(&job.overrides);
    stop.store(true, Ordering::SeqCst);
    beat.join().map_err(|_| Error::Msg("the heartbeat thread panicked".into()))??;
    Ok(Some(match result {
        Ok(r) if q.complete(job.id, worker, r)? => Outcome::Done { id: job.id, result: r },
        Ok(_) => Outcome::LostLease { id: job.id },
        Err(e) if q.fail(job.id, worker, &e.to_string())? => Outcome::Failed { id: job.id, error: e.to_string() },
        Err(_) => Outcome::LostLease { id: job.id },
    }))
    // END SOLUTION
}

/// ## work
/// A worker's life: run jobs from the queue until none is left. When nothing can be claimed
/// but some job is still `running` (held by another worker, who may die), wait `lease / 4`
/// seconds and try again; stop when every job is `done` or `failed`. Returns the outcomes of
/// the jobs this worker ran.
// HINT: Nothing to claim does not mean finished: another worker may still hold a job and may die, so keep polling until no job is pending or running.
// HINT: Loop: run_one_job_from_queue; Some(outcome) is pushed; None means count the jobs still pending or running with SELECT COUNT(*): zero returns the outcomes, otherwise sleep lease/4 seconds and try again.
// HINT: None => { let open = q.db.query("SELECT COUNT(*) FROM jobs WHERE state IN ('pending', 'running')", &[])?; if open[0][0].int()? == 0 { return Ok(out); } std::thread::sleep(Duration::from_secs_f64(q.lease / 4.0)); }
pub fn work(q: &mut Queue, worker: &str, run: &dyn Fn(&[String]) -> Result<f64>) -> Result<Vec<Outcome>> {
    // BEGIN SOLUTION
    let mut out = Vec::new();
    loop {
        match run_one_job_from_queue(q, worker, run)? {
            Some(o) => out.push(o),
            None => {
                let open = q.db.query("SELECT COUNT(*) FROM jobs WHERE state IN ('pending', 'running')", &[])?;
                if open.first().map(|r| r[0].int()).transpose()?.unwrap_or(0) == 0 {
                    return Ok(out);
                }
                std::thread::sleep(Duration::from_secs_f64(q.lease / 4.0));
            }
        }
    }
    // END SOLUTION
}
