// Package store is smsgate's Postgres layer: the append-only journal
// (messages, attempts, receipts, charges, MO) and what waits in it
// (parked messages, early receipts), the lanes and batches that events are
// published by, the billing ledger, and the cluster's shared state (bind
// slots, controls, blocklist). Each transaction of the pipeline is a named
// operation here; every hot-path write is batched.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/smsgate/smsgate/internal/redact"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store wraps a connection pool.
type Store struct {
	Pool *pgxpool.Pool
	// GenDays is the length of a messages generation in days (settings
	// table, fixed when the schema is created).
	GenDays int32
	gens    atomic.Pointer[[]int32]
}

// Open connects to dsn and checks the connection.
func Open(ctx context.Context, dsn string, maxConns int32) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, redact.Error(fmt.Errorf("postgres dsn %s: %w", redact.DSN(dsn), err), dsn)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, redact.Error(fmt.Errorf("postgres connect %s: %w", redact.DSN(dsn), err), dsn)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, redact.Error(fmt.Errorf("postgres %s: %w", redact.DSN(dsn), err), dsn)
	}
	s := &Store{Pool: pool, GenDays: 10}
	// Tools that do not migrate still need the settings of an existing schema.
	if err := s.loadSettings(ctx); err != nil && !isUndefinedTable(err) {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// loadSettings reads the schema's settings and the existing generations.
func (s *Store) loadSettings(ctx context.Context) error {
	var v string
	if err := s.Pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = 'msg_gen_days'`).Scan(&v); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return fmt.Errorf("settings: msg_gen_days %q is not a positive integer", v)
	}
	s.GenDays = int32(n)
	return s.loadGens(ctx)
}

func isUndefinedTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42P01"
}

// Close closes the pool.
func (s *Store) Close() { s.Pool.Close() }

// Ping checks that Postgres answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error { return s.Pool.Ping(ctx) }

// Migrate applies the embedded migrations that are not applied yet, each in
// its own transaction, under an advisory lock so concurrent instances
// starting together do not race.
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(7243001)`); err != nil {
		return fmt.Errorf("migrate lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7243001)`)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	entries, err := migrations.ReadDir("migrations")
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		var version int
		if _, err := fmt.Sscanf(name, "%03d_", &version); err != nil {
			return fmt.Errorf("migration %s: bad name", name)
		}
		var done bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, version).Scan(&done); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if done {
			continue
		}
		sql, err := migrations.ReadFile("migrations/" + name)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, version)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	if err := s.loadSettings(ctx); err != nil {
		return err
	}
	now := time.Now()
	return s.EnsurePartitions(ctx, now.Add(-24*time.Hour), now.Add(partitionsAhead))
}

// partitionsAhead is how far ahead partitions are created, so a gateway
// that runs through midnight (or was stopped for days) never writes into
// a missing one.
const partitionsAhead = 8 * 24 * time.Hour

// adminConn connects to the "postgres" database of dsn's server and
// returns the database dsn names. Any DSN form pgx accepts.
func adminConn(ctx context.Context, dsn string) (*pgx.Conn, string, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, "", redact.Error(fmt.Errorf("postgres dsn %s: %w", redact.DSN(dsn), err), dsn)
	}
	name := cfg.Database
	if name == "" {
		return nil, "", errors.New("postgres dsn names no database")
	}
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, "", redact.Error(fmt.Errorf("postgres %s: %w", redact.DSN(dsn), err), dsn)
	}
	return conn, name, nil
}

// EnsureDatabase creates the database named in dsn if it does not exist,
// connecting to the "postgres" database of the same server. For the demo and
// tests; production databases are created by their owners.
func EnsureDatabase(ctx context.Context, dsn string) error {
	conn, name, err := adminConn(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize())
	return err
}

// DropDatabase drops the database named in dsn (tests and demo reset).
func DropDatabase(ctx context.Context, dsn string) error {
	conn, name, err := adminConn(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
	return err
}
