// Command starling runs the Starling microblog: the website and API (serve), the
// background workers (work), or both in one process (all), plus migration and admin
// commands. Run `starling --help` for every command and setting.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `Starling — a microblog for small teams that run only PostgreSQL.

Usage:
  starling [settings] <command> [arguments]

Commands:
  all                  serve the website and API and run the background workers (default)
  serve                serve the website and API only
  work                 run the background workers only
  migrate up|down|status
                       apply, roll back (one step) or list database migrations
  user create --username U --email E --password-stdin [--display-name N]
                       create an account, its address verified (works when signups are closed)
  user grant-admin U   give an account the admin flag
  token create --username U [--scopes "read write follow"] [--name N]
                       create a personal access token for the API (printed once)
  devdb start|stop|url [--cluster dev|test]
                       start, stop or print the URL of the local development (or test) database

Settings (flags override environment variables, which override defaults):
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "starling:", err)
		}
		os.Exit(2)
	}
}

var errUsage = errors.New("usage")

func printUsage(w io.Writer) {
	fmt.Fprint(w, usage)
	configHelp(w)
}

// logFormatGiven reports whether the log format was set, by STARLING_LOG_FORMAT or the
// -log-format flag.
func logFormatGiven(args []string, getenv func(string) string) bool {
	if getenv("STARLING_LOG_FORMAT") != "" {
		return true
	}
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "log-format" {
			return true
		}
	}
	return false
}

// run is main without the process: it parses args, builds the config and runs a command.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, rest, err := loadConfig(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout)
		return nil
	}
	if err != nil {
		fmt.Fprintln(stderr, "starling: configuration:", err)
		fmt.Fprintln(stderr, "Run `starling --help` for every setting.")
		return errUsage
	}
	cmd := "all"
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	switch cmd {
	case "all", "serve", "work":
	default:
		// A person runs the other commands at a terminal: they log text unless told.
		if !logFormatGiven(args, getenv) {
			cfg.LogFormat = "text"
		}
	}
	app := &app{cfg: cfg, stdin: stdin, stdout: stdout, stderr: stderr}
	app.log = newLogger(stderr, cfg)
	slog.SetDefault(app.log)
	switch cmd {
	case "all", "serve", "work":
		if len(rest) > 0 {
			return fmt.Errorf("%s takes no arguments, got %q", cmd, rest)
		}
		return app.runServer(ctx, cmd)
	case "migrate":
		return app.migrate(ctx, rest)
	case "user":
		return app.user(ctx, rest)
	case "devdb":
		return app.devdb(ctx, rest)
	case "token":
		return app.token(ctx, rest)
	case "help":
		printUsage(stdout)
		return nil
	}
	fmt.Fprintf(stderr, "starling: unknown command %q\n\n", cmd)
	printUsage(stderr)
	return errUsage
}
