// Package devdb starts a local PostgreSQL cluster for development and tests, so that
// `make run` and `make test` need no database set up by hand.
//
// The cluster lives in a directory of the project (by default .data/postgres), listens only
// on a unix socket, and keeps running after the process that started it exits; the next
// start finds it running and reuses it. When the PostgreSQL server binaries are missing and
// the process runs as root with apt-get available, Debian's postgresql package is installed.
// As root, the server runs as the unprivileged "postgres" user, because PostgreSQL refuses
// to run as root.
package devdb

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options says where and how to run the local cluster.
type Options struct {
	// Dir is the cluster's directory. It is created on first use.
	Dir string
	// Database is the database to create in the cluster if it does not exist. Empty means
	// none is created and the DSN names the "postgres" database.
	Database string
	// Fast turns off durability (fsync, synchronous_commit, full_page_writes): for test
	// clusters only, where a crash may lose data.
	Fast bool
	// Log receives progress messages. Defaults to a discarding logger.
	Log *slog.Logger
	// InstallOutput receives the output of apt-get when the server must be installed.
	// Defaults to os.Stderr.
	InstallOutput io.Writer
}

// ErrNoPostgres is returned when no PostgreSQL server binaries are found and they cannot be
// installed automatically.
var ErrNoPostgres = errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: " +
	"install Debian's postgresql package (apt-get install postgresql), or your system's " +
	"PostgreSQL server package, or set DATABASE_URL to use an existing server")

// Cluster is a running local PostgreSQL cluster.
type Cluster struct {
	// DataDir is the directory holding the cluster's files.
	DataDir string
	// SocketDir is the directory holding the unix socket.
	SocketDir string
	// Port is the port number in the socket's name.
	Port int
	// BinDir holds the server binaries (pg_ctl, pgbench, ...).
	BinDir string
	runAs  *syscall.Credential
}

// port is the number in the socket file's name. The cluster listens on no TCP port, so it
// cannot collide with other servers on the machine.
const port = 5432

// DSN returns a connection string for database name in the cluster.
func (c *Cluster) DSN(name string) string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable", c.SocketDir, c.Port, name)
}

// URL returns the connection string for database name as a postgres:// URL.
func (c *Cluster) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@/%s?host=%s&port=%d&sslmode=disable", name, c.SocketDir, c.Port)
}

// Start makes sure the cluster in opts.Dir exists and runs, creates opts.Database when
// missing, and returns the cluster. It is safe to call from several processes at once.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.InstallOutput == nil {
		opts.InstallOutput = os.Stderr
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("devdb: %w", err)
	}
	unlock, err := lockFile(dir + ".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()

	bin, err := findBinaries()
	if errors.Is(err, ErrNoPostgres) && os.Geteuid() == 0 && hasAptGet() {
		opts.Log.Info("PostgreSQL not found; installing Debian's postgresql package")
		if ierr := installPostgres(ctx, opts.InstallOutput); ierr != nil {
			return nil, fmt.Errorf("devdb: installing postgresql: %w", ierr)
		}
		bin, err = findBinaries()
	}
	if err != nil {
		return nil, err
	}

	c := &Cluster{DataDir: dir, BinDir: bin, Port: port}
	if os.Geteuid() == 0 {
		cred, err := postgresUser()
		if err != nil {
			return nil, err
		}
		c.runAs = cred
		if !reachableBy(filepath.Dir(dir)) {
			// The postgres user cannot reach the project directory (for example a clone
			// under /root). Keep the cluster where it can, keyed by the project path.
			c.DataDir = filepath.Join("/var/tmp", "starling-pg-"+shortHash(dir))
			opts.Log.Info("project directory not reachable by the postgres user; using another data directory",
				"data_dir", c.DataDir)
		}
	}
	c.SocketDir = c.DataDir
	if len(c.SocketDir)+len("/.s.PGSQL.5432.lock") > 100 {
		c.SocketDir = filepath.Join(os.TempDir(), "starling-sock-"+shortHash(c.DataDir))
	}
	if err := c.ensureInit(ctx, opts); err != nil {
		return nil, err
	}
	if err := c.ensureRunning(ctx, opts); err != nil {
		return nil, err
	}
	if opts.Database != "" {
		if err := c.ensureDatabase(ctx, opts.Database); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Stop shuts the cluster in dir down (fast mode) if it is running.
func Stop(ctx context.Context, dir string) error { return StopMode(ctx, dir, "fast") }

// StopMode shuts the cluster in dir down with pg_ctl's shutdown mode: "smart", "fast"
// (disconnect clients, checkpoint) or "immediate" (abort at once, like a crash; the next
// start recovers from the WAL). It does nothing when the cluster is not running.
func StopMode(ctx context.Context, dir, mode string) error {
	switch mode {
	case "smart", "fast", "immediate":
	default:
		return fmt.Errorf("devdb: unknown shutdown mode %q", mode)
	}
	c, err := locate(dir)
	if err != nil {
		return err
	}
	if !c.running(ctx) {
		return nil
	}
	return c.pgctl(ctx, "stop", "-D", c.DataDir, "-m", mode, "-w")
}

// Destroy stops the cluster in dir (immediate mode) and deletes its files, wherever they
// were kept: for throwaway clusters of tests.
func Destroy(ctx context.Context, dir string) error {
	if err := StopMode(ctx, dir, "immediate"); err != nil {
		return err
	}
	c, err := locate(dir)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(c.DataDir); err != nil {
		return fmt.Errorf("devdb: %w", err)
	}
	return nil
}

// locate returns the cluster for dir as Start placed it, without starting anything.
func locate(dir string) (*Cluster, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	c := &Cluster{DataDir: abs, BinDir: bin}
	if os.Geteuid() == 0 {
		if c.runAs, err = postgresUser(); err != nil {
			return nil, err
		}
		if !reachableBy(filepath.Dir(abs)) {
			c.DataDir = filepath.Join("/var/tmp", "starling-pg-"+shortHash(abs))
		}
	}
	return c, nil
}

func (c *Cluster) ensureInit(ctx context.Context, opts Options) error {
	if _, err := os.Stat(filepath.Join(c.DataDir, "PG_VERSION")); err == nil {
		return nil
	}
	// A server may still run for a directory that was deleted (say, a removed checkout
	// recreated at the same path). It would remove the new server's socket files when it
	// notices its lock file is gone, so it is stopped first.
	stopOrphans(c.DataDir, opts.Log)
	opts.Log.Info("creating local PostgreSQL cluster", "data_dir", c.DataDir)
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("devdb: %w", err)
	}
	if err := c.chown(c.DataDir); err != nil {
		return err
	}
	out, err := c.command(ctx, filepath.Join(c.BinDir, "initdb"), "-D", c.DataDir, "-U", "postgres",
		"--auth=trust", "-E", "UTF8", "--locale=C.UTF-8").CombinedOutput()
	if err != nil {
		return fmt.Errorf("devdb: initdb: %w\n%s", err, out)
	}
	conf := []string{
		"# Added by Starling's devdb: a local development cluster reachable only by unix socket.",
		"listen_addresses = ''",
		"max_connections = 300",
		"shared_buffers = 256MB",
		"fsync = " + onOff(!opts.Fast),
		"synchronous_commit = " + onOff(!opts.Fast),
		"full_page_writes = " + onOff(!opts.Fast),
	}
	f, err := os.OpenFile(filepath.Join(c.DataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("devdb: %w", err)
	}
	_, err = f.WriteString("\n" + strings.Join(conf, "\n") + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (c *Cluster) running(ctx context.Context) bool {
	return c.command(ctx, filepath.Join(c.BinDir, "pg_ctl"), "status", "-D", c.DataDir).Run() == nil
}

func (c *Cluster) ensureRunning(ctx context.Context, opts Options) error {
	if c.running(ctx) {
		if dir := c.socketDirFromPID(); dir != "" {
			c.SocketDir = dir
		}
		return nil
	}
	if err := os.MkdirAll(c.SocketDir, 0o755); err != nil {
		return fmt.Errorf("devdb: %w", err)
	}
	if err := c.chown(c.SocketDir); err != nil {
		return err
	}
	opts.Log.Info("starting local PostgreSQL", "data_dir", c.DataDir)
	logFile := filepath.Join(c.DataDir, "server.log")
	err := c.pgctl(ctx, "start", "-D", c.DataDir, "-l", logFile, "-w", "-t", "120",
		"-o", fmt.Sprintf("-k %s -p %d", c.SocketDir, c.Port))
	if err != nil {
		return fmt.Errorf("%w (server log: %s)", err, logFile)
	}
	return nil
}

// socketDirFromPID reads the socket directory of a running server from postmaster.pid.
func (c *Cluster) socketDirFromPID() string {
	f, err := os.Open(filepath.Join(c.DataDir, "postmaster.pid"))
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for i := 1; s.Scan(); i++ {
		switch i {
		case 4:
			if p, err := strconv.Atoi(strings.TrimSpace(s.Text())); err == nil {
				c.Port = p
			}
		case 5:
			return strings.TrimSpace(s.Text())
		}
	}
	return ""
}

func (c *Cluster) pgctl(ctx context.Context, args ...string) error {
	cmd := c.command(ctx, filepath.Join(c.BinDir, "pg_ctl"), args...)
	// The server outlives this process and must not receive the terminal's Ctrl-C.
	cmd.SysProcAttr.Setpgid = true
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("devdb: pg_ctl %s: %w\n%s", args[0], err, out)
	}
	return nil
}

func (c *Cluster) ensureDatabase(ctx context.Context, name string) error {
	conn, err := connectRetry(ctx, c.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("devdb: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("devdb: create database %s: %w", name, err)
	}
	return nil
}

func connectRetry(ctx context.Context, dsn string) (*pgx.Conn, error) {
	var lastErr error
	for range 50 {
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			return conn, nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("devdb: connect: %w", lastErr)
}

func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = c.DataDir
	if _, err := os.Stat(c.DataDir); err != nil {
		cmd.Dir = os.TempDir()
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	if c.runAs != nil {
		cmd.SysProcAttr.Credential = c.runAs
		cmd.Env = append(cmd.Env, "HOME="+os.TempDir(), "USER=postgres")
	}
	return cmd
}

func (c *Cluster) chown(path string) error {
	if c.runAs == nil {
		return nil
	}
	if err := os.Chown(path, int(c.runAs.Uid), int(c.runAs.Gid)); err != nil {
		return fmt.Errorf("devdb: %w", err)
	}
	return nil
}

// findBinaries returns the directory of initdb and pg_ctl: the newest Debian-style
// /usr/lib/postgresql/N/bin, or else the one on PATH.
func findBinaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		real, err := filepath.EvalSymlinks(p)
		if err == nil && isExec(filepath.Join(filepath.Dir(real), "pg_ctl")) {
			return filepath.Dir(real), nil
		}
	}
	return "", ErrNoPostgres
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func hasAptGet() bool {
	_, err := exec.LookPath("apt-get")
	return err == nil
}

func installPostgres(ctx context.Context, out io.Writer) error {
	for _, args := range [][]string{{"update", "-q"}, {"install", "-y", "-q", "postgresql"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w", args[0], err)
		}
	}
	return nil
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("devdb: running as root needs the unprivileged user \"postgres\" "+
			"(created by Debian's postgresql package): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// reachableBy reports whether every directory from dir up to / can be traversed by a user
// that is neither owner nor group member (the postgres user, as seen by a root process).
func reachableBy(dir string) bool {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// lockFile takes an exclusive advisory lock on path, waiting for other holders.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("devdb: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("devdb: lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// stopOrphans stops postmasters started with -D dataDir whose directory no longer holds a
// cluster, by sending them SIGQUIT (immediate shutdown) and waiting up to 5 seconds.
// It reads /proc and does nothing where there is none.
func stopOrphans(dataDir string, log *slog.Logger) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) == 0 || filepath.Base(args[0]) != "postgres" {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-D" && args[i+1] == dataDir {
				log.Warn("stopping a PostgreSQL server left running for a deleted data directory", "pid", pid, "data_dir", dataDir)
				_ = syscall.Kill(pid, syscall.SIGQUIT)
				for range 50 {
					if syscall.Kill(pid, 0) != nil {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}
	}
}
